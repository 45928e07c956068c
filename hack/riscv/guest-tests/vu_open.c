// SPDX-License-Identifier: GPL-2.0
/* vu_open DIR NAME: opens DIR, then NAME relative to it (openat with a dirfd); prints it. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char buf[256];
	int dir, fd;
	ssize_t n;

	if (argc != 3)
		return 2;
	dir = open(argv[1], O_RDONLY | O_DIRECTORY);
	fd = dir < 0 ? -1 : openat(dir, argv[2], O_RDONLY);
	if (fd < 0) {
		perror("openat");
		return 1;
	}
	n = read(fd, buf, sizeof(buf));
	if (n > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	return 0;
}
