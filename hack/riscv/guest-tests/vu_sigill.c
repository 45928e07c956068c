// SPDX-License-Identifier: GPL-2.0
/*
 * Illegal instructions reach the program's SIGILL handler: `vu_sigill` executes `unimp` (an
 * illegal instruction on every hart) and `csrr sstatus` (a supervisor CSR: illegal in U-mode,
 * a virtual-instruction trap in VU-mode), each with a handler that steps over it, and prints
 * what the handler saw; `vu_sigill nohandler` executes `unimp` without one (the process dies
 * by SIGILL).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

static volatile int seen;
static volatile unsigned long where;

static void on_ill(int sig, siginfo_t *info, void *ctx)
{
	ucontext_t *uc = ctx;

	seen = sig;
	where = (unsigned long)info->si_addr == uc->uc_mcontext.__gregs[REG_PC];
	/* both are 32-bit instructions */
	uc->uc_mcontext.__gregs[REG_PC] += 4;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	unsigned long v = 0;

	if (argc > 1 && !strcmp(argv[1], "nohandler")) {
		__asm__ volatile(".option push\n.option norvc\nunimp\n.option pop");
		printf("survived an illegal instruction\n");
		return 0;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_ill;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGILL, &sa, NULL);
	__asm__ volatile(".option push\n.option norvc\nunimp\n.option pop");
	printf("unimp: signal %d, si_addr at the instruction %s\n", seen, where ? "yes" : "no");
	seen = 0;
	__asm__ volatile(".option push\n.option norvc\ncsrr %0, sstatus\n.option pop" : "=r"(v));
	printf("csrr sstatus: signal %d, si_addr at the instruction %s\n", seen, where ? "yes" : "no");
	return seen == SIGILL ? 0 : 1;
}
