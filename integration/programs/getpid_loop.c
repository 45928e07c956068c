/* N raw getpid calls, or N open+close of argv[2]: the benchmarks' inner loops. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = atol(argv[1]);

	for (long i = 0; i < n; i++) {
		if (argc > 2) {
			int fd = open(argv[2], O_RDONLY);

			if (fd < 0)
				return 1;
			close(fd);
		} else {
			syscall(SYS_getpid);
		}
	}
	return 0;
}
