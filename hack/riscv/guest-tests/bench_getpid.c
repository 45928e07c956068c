// SPDX-License-Identifier: GPL-2.0
/* bench_getpid N: N getpid system calls (through syscall(2), never cached); prints ns/op. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000, i, pid = 0;
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < n; i++)
		pid += syscall(SYS_getpid);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.0f %ld\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n, pid / n);
	return 0;
}
