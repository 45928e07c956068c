/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for guest tests: run a C function of this very process in
 * VS-mode through /dev/rune. With vsatp = Bare the guest sees the process's
 * addresses through the identity G-stage, so the function needs nothing
 * but a stack, gp and tp; it returns into rune_guest_exit, which asks to
 * leave with the return value.
 */
#ifndef RUNE_GUEST_H
#define RUNE_GUEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../../../crates/rune-kmod/include/uapi/linux/rune.h"

#define X(n) regs.x[(n) - 1]	/* register xn in a rune_regs */
#define REG_RA 1
#define REG_SP 2
#define REG_GP 3
#define REG_TP 4
#define REG_A0 10
#define REG_A1 11
#define REG_A2 12
#define REG_A7 17

#define SSTATUS_FS_DIRTY 0x6000UL
#define SSTATUS_VS_DIRTY 0x600UL

#define GUEST_STACK (256 * 1024)

void rune_guest_exit(void);
__asm__(".pushsection .text\n"
	".globl rune_guest_exit\n"
	"rune_guest_exit:\n"
	"	li a7, 0x52756e65\n"	/* RUNE_HCALL_EXIT */
	"	ecall\n"
	"	j rune_guest_exit\n"
	".popsection\n");

/* A hypercall from guest code: the process sees RUNE_EXIT_HYPERCALL. */
static inline long hcall(long nr, long arg)
{
	register long a0 __asm__("a0") = arg;
	register long a7 __asm__("a7") = nr;

	__asm__ volatile("ecall" : "+r"(a0) : "r"(a7) : "memory");
	return a0;
}

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (errno %d: %s)\n", errno, strerror(errno));
	exit(1);
}

#define check(cond, ...) do { if (!(cond)) die(__VA_ARGS__); } while (0)

struct vs {
	int dev;		/* /dev/rune: the address space */
	int fd;			/* the thread's VS context */
	struct rune_vcpu_state st;
	char *stack;
};

static int rune_dev(void)
{
	int fd = open("/dev/rune", O_RDWR | O_CLOEXEC);

	check(fd >= 0, "open /dev/rune");
	return fd;
}

static void vs_init(struct vs *v, int dev)
{
	memset(v, 0, sizeof(*v));
	v->dev = dev;
	v->fd = ioctl(dev, RUNE_IOC_CREATE);
	check(v->fd >= 0, "RUNE_IOC_CREATE");
	v->stack = malloc(GUEST_STACK);
	check(v->stack != NULL, "malloc");
	memset(v->stack, 0, GUEST_STACK);
}

static void vs_close(struct vs *v)
{
	close(v->fd);
	free(v->stack);
}

/* Sets the context up to call fn(a0, a1, a2) in VS-mode on its own stack. */
static void vs_call(struct vs *v, const void *fn, long a0, long a1, long a2)
{
	unsigned long gp, tp;

	__asm__ volatile("mv %0, gp" : "=r"(gp));
	__asm__ volatile("mv %0, tp" : "=r"(tp));
	memset(&v->st.regs, 0, sizeof(v->st.regs));
	v->st.regs.pc = (uintptr_t)fn;
	v->st.regs.mode = RUNE_MODE_VS;
	v->st.X(REG_RA) = (uintptr_t)rune_guest_exit;
	v->st.X(REG_SP) = ((uintptr_t)v->stack + GUEST_STACK) & ~15UL;
	v->st.X(REG_GP) = gp;
	v->st.X(REG_TP) = tp;
	v->st.X(REG_A0) = a0;
	v->st.X(REG_A1) = a1;
	v->st.X(REG_A2) = a2;
	v->st.csrs.vsstatus = SSTATUS_FS_DIRTY;
}

static unsigned int vs_enter(struct vs *v)
{
	check(ioctl(v->fd, RUNE_IOC_ENTER, &v->st) == 0, "RUNE_IOC_ENTER");
	return v->st.exit.reason;
}

/*
 * Runs until the guest leaves or faults; hypercalls go to serve (which
 * sets a0 for the guest), signals are let through and counted.
 */
static unsigned int vs_run(struct vs *v, long (*serve)(struct vs *v, long nr, long arg),
			   long *signals)
{
	for (;;) {
		unsigned int reason = vs_enter(v);

		switch (reason) {
		case RUNE_EXIT_HYPERCALL:
			check(serve != NULL, "unexpected hypercall %ld", (long)v->st.X(REG_A7));
			v->st.X(REG_A0) = serve(v, v->st.X(REG_A7), v->st.X(REG_A0));
			break;
		case RUNE_EXIT_SIGNAL:
			if (signals)
				++*signals;
			break;
		default:
			return reason;
		}
	}
}

/* Calls fn in VS-mode and expects it to return; gives its return value. */
static long vs_expect_return(struct vs *v, const void *fn, long a0, long a1, long a2,
			     long (*serve)(struct vs *v, long nr, long arg))
{
	unsigned int reason;

	vs_call(v, fn, a0, a1, a2);
	reason = vs_run(v, serve, NULL);
	check(reason == RUNE_EXIT_EXIT,
	      "exit reason %u, scause %llu stval %#llx gpa %#llx pc %#llx", reason,
	      v->st.exit.scause, v->st.exit.stval, v->st.exit.gpa, v->st.regs.pc);
	return v->st.X(REG_A0);
}

/* Calls fn in VS-mode and expects a fault exit with this scause at gpa. */
static void vs_expect_fault(struct vs *v, const void *fn, long a0, long a1,
			    unsigned long scause, const void *gpa,
			    long (*serve)(struct vs *v, long nr, long arg))
{
	unsigned int reason;

	vs_call(v, fn, a0, a1, 0);
	reason = vs_run(v, serve, NULL);
	check(reason == RUNE_EXIT_FAULT, "exit reason %u, not a fault", reason);
	check(v->st.exit.scause == scause, "scause %llu, expected %lu", v->st.exit.scause,
	      scause);
	check((v->st.exit.gpa & ~0xfffULL) == ((uintptr_t)gpa & ~0xfffULL),
	      "fault at %#llx, expected %p", v->st.exit.gpa, gpa);
}

#define SCAUSE_FETCH_GUEST_PAGE_FAULT 20
#define SCAUSE_LOAD_GUEST_PAGE_FAULT 21
#define SCAUSE_STORE_GUEST_PAGE_FAULT 23

#endif
