/* Calls system call number argv[1] with zero arguments and prints what came back. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long r = syscall(atol(argv[1]), 0, 0, 0, 0, 0, 0);

	printf("ret %ld errno %d\n", r, r < 0 ? errno : 0);
	return 0;
}
