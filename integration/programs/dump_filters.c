/* Prints the seccomp filters of process argv[1], oldest first, one per line as hex of
 * its struct sock_filter array (PTRACE_SECCOMP_GET_FILTER; needs CAP_SYS_ADMIN). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#ifndef PTRACE_SECCOMP_GET_FILTER
#define PTRACE_SECCOMP_GET_FILTER 0x420c
#endif

int main(int argc, char **argv)
{
	pid_t pid = atoi(argv[1]);
	int status;

	if (ptrace(PTRACE_SEIZE, pid, 0, 0) || ptrace(PTRACE_INTERRUPT, pid, 0, 0)) {
		perror("ptrace");
		return 1;
	}
	waitpid(pid, &status, __WALL);
	for (long i = 0;; i++) {
		long n = ptrace(PTRACE_SECCOMP_GET_FILTER, pid, i, NULL);
		struct sock_filter *f;

		if (n < 0)
			break;
		f = calloc(n, sizeof(*f));
		ptrace(PTRACE_SECCOMP_GET_FILTER, pid, i, f);
		for (long j = 0; j < n; j++)
			printf("%04x%02x%02x%08x", f[j].code, f[j].jt, f[j].jf, f[j].k);
		printf("\n");
		free(f);
	}
	ptrace(PTRACE_DETACH, pid, 0, 0);
	return 0;
}
