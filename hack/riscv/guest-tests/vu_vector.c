// SPDX-License-Identifier: GPL-2.0
/*
 * The vector unit in VU-mode (vsmode-tests.sh vector). Linux discards the
 * vector state at system calls but keeps it across everything else: a
 * register and vl loaded before a second of timer interrupts and a signal
 * handler that clobbers the same register (delivered at an interrupt, not a
 * system call) are still there after them. Without V in AT_HWCAP it says so.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/time.h>

#define HWCAP_V (1UL << ('V' - 'A'))

static volatile sig_atomic_t handled;

static void clobber(int sig)
{
	asm volatile(".option push\n.option arch, +v\n"
		     "vsetivli zero, 8, e16, m1, ta, ma\n"
		     "vmv.v.i v1, 0\n"
		     ".option pop\n" ::: "memory");
	handled = 1;
}

static unsigned long rdtime(void)
{
	unsigned long t;

	asm volatile("rdtime %0" : "=r"(t));
	return t;
}

int main(void)
{
	struct itimerval it = { { 0, 0 }, { 0, 300000 } };
	struct sigaction sa = { .sa_handler = clobber };
	unsigned char src[16], dst[16] = { 0 };
	unsigned long vl, vl_after, start;
	int i;

	if (!(getauxval(AT_HWCAP) & HWCAP_V)) {
		printf("no V in AT_HWCAP\n");
		return 0;
	}
	for (i = 0; i < 16; i++)
		src[i] = i * 3 + 1;
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	/* no system call from here to the check */
	asm volatile(".option push\n.option arch, +v\n"
		     "vsetivli %0, 16, e8, m1, ta, ma\n"
		     "vle8.v v1, (%1)\n"
		     ".option pop\n"
		     : "=r"(vl) : "r"(src) : "memory");
	start = rdtime();
	while (!handled || rdtime() - start < 10000000)
		;
	asm volatile(".option push\n.option arch, +v\n"
		     "csrr %0, vl\n"
		     "vadd.vv v2, v1, v1\n"
		     "vse8.v v2, (%1)\n"
		     ".option pop\n"
		     : "=r"(vl_after) : "r"(dst) : "memory");
	for (i = 0; i < 16; i++) {
		if (dst[i] != (unsigned char)(2 * src[i])) {
			printf("v1 lost: byte %d is %d, not %d\n", i, dst[i], 2 * src[i]);
			return 1;
		}
	}
	if (vl_after != vl) {
		printf("vl was %lu, is %lu\n", vl, vl_after);
		return 1;
	}
	printf("vector: v1 and vl (%lu) kept across timer interrupts and a handler using V\n", vl);
	return 0;
}
