/* Prints the effective uid: installed setuid root, it shows whether setuid still works. */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	printf("euid %d uid %d\n", geteuid(), getuid());
	return 0;
}
