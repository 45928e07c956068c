// SPDX-License-Identifier: GPL-2.0
/*
 * bench_open PATH N: N times open PATH, read a byte, close; prints "ns/op BYTE". With a rewrite
 * policy PATH is foo.txt and the byte comes from bar.txt.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 2 ? atol(argv[2]) : 1000, i;
	struct timespec a, b;
	char c = '?';

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < n; i++) {
		int fd = open(argv[1], O_RDONLY);

		if (fd < 0 || read(fd, &c, 1) != 1)
			return 1;
		close(fd);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.0f %c\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n, c);
	return 0;
}
