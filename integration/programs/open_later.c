/* Waits for argv[2] to appear (the test kills the supervisor meanwhile), then opens argv[1]
 * with openat and, if that fails, with open and openat2 (the fallbacks a libc tries), and
 * prints the errno of each. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct open_how how = { .flags = O_RDONLY };

	while (access(argv[2], F_OK) != 0)
		usleep(10000);
	printf("openat %d\n", openat(AT_FDCWD, argv[1], O_RDONLY) < 0 ? errno : 0);
	printf("open %d\n", (int)syscall(SYS_open, argv[1], O_RDONLY) < 0 ? errno : 0);
	printf("openat2 %d\n",
	       (int)syscall(SYS_openat2, AT_FDCWD, argv[1], &how, sizeof(how)) < 0 ? errno : 0);
	fflush(stdout);
	return 0;
}
