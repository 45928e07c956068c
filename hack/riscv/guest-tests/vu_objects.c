// SPDX-License-Identifier: GPL-2.0
/*
 * vu_objects nofollow FILE: open(FILE, O_RDONLY | O_NOFOLLOW), print what it read.
 * vu_objects lowest FILE: close stdin, open FILE, print the descriptor it got (0 natively).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char buf[256] = {0};
	int fd;

	if (argc != 3)
		return 2;
	if (!strcmp(argv[1], "nofollow")) {
		fd = open(argv[2], O_RDONLY | O_NOFOLLOW);
		if (fd < 0 || read(fd, buf, sizeof(buf) - 1) < 0) {
			printf("errno %d\n", errno);
			return 1;
		}
		fputs(buf, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "lowest")) {
		close(0);
		fd = open(argv[2], O_RDONLY);
		printf("fd %d\n", fd);
		return fd < 0;
	}
	return 2;
}
