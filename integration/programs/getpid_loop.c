/* The benchmarks' inner loops: N raw getpid calls, N open+close of argv[2], or (argv[2]
 * "--memfd") N memfd_create+close. Prints the time per iteration, measured inside the
 * program (start-up excluded). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long long now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv)
{
	long n = atol(argv[1]);
	long long start = now();

	for (long i = 0; i < n; i++) {
		if (argc > 2 && !strcmp(argv[2], "--memfd")) {
			int fd = memfd_create("bench", MFD_CLOEXEC);

			if (fd < 0)
				return 1;
			close(fd);
		} else if (argc > 2) {
			int fd = open(argv[2], O_RDONLY);

			if (fd < 0)
				return 1;
			close(fd);
		} else {
			syscall(SYS_getpid);
		}
	}
	printf("ns_per_call %.1f\n", (double)(now() - start) / n);
	return 0;
}
