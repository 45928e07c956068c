// SPDX-License-Identifier: GPL-2.0
/*
 * ptrace_rewrite FROM TO PROGRAM ARGS...: a minimal ptrace-based path rewriter, the way proot
 * works, for the benchmark's comparison: every openat of FROM is stopped at entry, TO is
 * written below the tracee's stack pointer and the path argument pointed at it.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

/* riscv64 user_regs_struct: pc, then x1..x31 */
struct regs {
	unsigned long pc, x[31];
};
#define SP(r) ((r).x[1])
#define A1(r) ((r).x[10])
#define A7(r) ((r).x[16])

int main(int argc, char **argv)
{
	const char *from = argv[1], *to = argv[2];
	int status, entry = 0, sig = 0;
	pid_t pid;

	if (argc < 4)
		return 2;
	pid = fork();
	if (pid == 0) {
		ptrace(PTRACE_TRACEME, 0, 0, 0);
		raise(SIGSTOP);
		execvp(argv[3], argv + 3);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL);
	for (;;) {
		struct regs r;
		struct iovec io = { &r, sizeof(r) };

		ptrace(PTRACE_SYSCALL, pid, 0, sig);
		if (waitpid(pid, &status, 0) < 0 || WIFEXITED(status))
			return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
		if (WIFSIGNALED(status))
			return 128 + WTERMSIG(status);
		sig = 0;
		if (!(WIFSTOPPED(status) && WSTOPSIG(status) == (SIGTRAP | 0x80))) {
			sig = WSTOPSIG(status) == SIGTRAP ? 0 : WSTOPSIG(status);
			continue;
		}
		entry = !entry;
		if (!entry || ptrace(PTRACE_GETREGSET, pid, NT_PRSTATUS, &io) || A7(r) != 56)
			continue;
		{
			char path[256] = { 0 };
			struct iovec local = { path, sizeof(path) - 1 }, remote = { (void *)A1(r),
										sizeof(path) - 1 };
			size_t len = strlen(to) + 1, i;
			unsigned long at;

			if (process_vm_readv(pid, &local, 1, &remote, 1, 0) < 0 || strcmp(path, from))
				continue;
			at = (SP(r) - 512 - len) & ~7UL;
			for (i = 0; i < len; i += sizeof(long)) {
				long word = 0;

				memcpy(&word, to + i, len - i < sizeof(long) ? len - i : sizeof(long));
				ptrace(PTRACE_POKEDATA, pid, at + i, word);
			}
			A1(r) = at;
			ptrace(PTRACE_SETREGSET, pid, NT_PRSTATUS, &io);
		}
	}
}
