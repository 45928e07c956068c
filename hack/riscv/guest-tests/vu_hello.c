// SPDX-License-Identifier: GPL-2.0
/*
 * A program for the VS-mode backend: it does what ordinary programs do (stdio, the heap,
 * mmap/munmap, files, time) and exits with a known status, so the tests can compare its
 * output and status with a native run.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long sum = 0;
	int i, fd;
	char buf[64] = { 0 };
	struct timespec ts;

	for (i = 0; i < 200; i++) {
		size_t len = (size_t)(i % 7 + 1) * 65536;
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			return 10;
		memset(p, i, len);
		sum += p[len - 1];
		munmap(p, len);
	}
	for (i = 0; i < 1000; i++) {
		char *q = malloc((size_t)(i % 13 + 1) * 1000);

		if (!q)
			return 11;
		q[0] = 1;
		free(q);
	}
	fd = open(argc > 1 ? argv[1] : "/proc/version", O_RDONLY);
	if (fd < 0 || read(fd, buf, sizeof(buf) - 1) <= 0)
		return 12;
	close(fd);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	printf("hello from VU-mode: argc %d, sum %ld, read '%.5s', time %s\n", argc, sum, buf,
	       ts.tv_sec > 0 ? "ok" : "zero");
	printf("pid %d, uid %d\n", getpid(), getuid());
	printf("main at %p, stack at %p, heap at %p\n", (void *)main, (void *)&sum, sbrk(0));
	return 3;
}
