// SPDX-License-Identifier: GPL-2.0
/* bench_fork N: N times fork, _exit(0) in the child, waitpid in the parent; prints ns/op
 * and how many children exited 0. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100, i, ok = 0;
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < n; i++) {
		pid_t p = fork();
		int st;

		if (p == 0)
			_exit(0);
		if (p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0)
			ok++;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.0f %ld\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n, ok);
	return 0;
}
