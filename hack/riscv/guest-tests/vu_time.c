// SPDX-License-Identifier: GPL-2.0
/*
 * Time through the vDSO (vsmode-tests.sh vdso): the auxiliary vector names
 * a vDSO, 20000 CLOCK_MONOTONIC reads never go backwards, and the wall clock
 * is printed (seconds) for the test to compare with the host's.
 */
#include <stdio.h>
#include <sys/auxv.h>
#include <sys/time.h>
#include <time.h>

int main(void)
{
	struct timespec prev = { 0 }, now;
	struct timeval tv;
	int i;

	if (!getauxval(AT_SYSINFO_EHDR)) {
		printf("no vDSO in the auxiliary vector\n");
		return 1;
	}
	for (i = 0; i < 20000; i++) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec < prev.tv_sec ||
		    (now.tv_sec == prev.tv_sec && now.tv_nsec < prev.tv_nsec)) {
			printf("CLOCK_MONOTONIC went backwards\n");
			return 1;
		}
		prev = now;
	}
	gettimeofday(&tv, NULL);
	printf("%ld\n", (long)tv.tv_sec);
	return 0;
}
