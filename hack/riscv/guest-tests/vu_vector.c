// SPDX-License-Identifier: GPL-2.0
/*
 * The vector unit in VU-mode (vsmode-tests.sh vector): AT_HWCAP says V, so
 * the program may use it; a register and vl set before 200 system calls
 * (each one leaves VS-mode) are still there after them.
 */
#include <stdio.h>
#include <sys/auxv.h>
#include <unistd.h>

#define HWCAP_V (1UL << ('V' - 'A'))

int main(void)
{
	unsigned char src[16], dst[16] = { 0 };
	unsigned long vl, vl_after;
	int i;

	if (!(getauxval(AT_HWCAP) & HWCAP_V)) {
		printf("no V in AT_HWCAP\n");
		return 1;
	}
	for (i = 0; i < 16; i++)
		src[i] = i * 3 + 1;
	asm volatile(".option push\n.option arch, +v\n"
		     "vsetivli %0, 16, e8, m1, ta, ma\n"
		     "vle8.v v1, (%1)\n"
		     ".option pop\n"
		     : "=r"(vl) : "r"(src) : "memory");
	for (i = 0; i < 200; i++)
		getppid();
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
	printf("vector: v1 and vl (%lu) kept across 200 system calls\n", vl);
	return 0;
}
