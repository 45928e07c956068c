// SPDX-License-Identifier: GPL-2.0
/*
 * Attacks on the shim from a program it runs in VU-mode: each subcommand reaches for the
 * shim's memory (found in /proc/self/maps) or for the machinery around it. Under the vsmode
 * backend every one must end with the program killed; a line "ATTACK SUCCEEDED" and status 0
 * mean the shim was reached, status 1 that the attack was refused without a kill.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

/* The first mapping of the shim's own binary. */
static char *shim(void)
{
	char line[512];
	FILE *maps = fopen("/proc/self/maps", "r");
	unsigned long start = 0;

	while (maps && fgets(line, sizeof(line), maps))
		if (strstr(line, "rune-shim") && sscanf(line, "%lx-", &start) == 1)
			break;
	if (!start) {
		printf("no shim in /proc/self/maps\n");
		exit(2);
	}
	return (char *)start;
}

static int done(long ret)
{
	if (ret >= 0) {
		printf("ATTACK SUCCEEDED (%ld)\n", ret);
		return 0;
	}
	printf("refused without a kill\n");
	return 1;
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";
	char *target = shim();
	char local[16] = "overwritten!!!!";

	setvbuf(stdout, NULL, _IONBF, 0);
	if (!strcmp(what, "write")) {
		*(volatile char *)(target + 64) = 1;
		return done(0);
	}
	if (!strcmp(what, "jump")) {
		((void (*)(void))target)();
		return done(0);
	}
	if (!strcmp(what, "scan")) {
		/* no map needed: every page of the address space, in order */
		for (unsigned long p = 0x10000; p < 0x80000000UL; p += 0x10000000)
			if (p >= (unsigned long)target)
				return done(*(volatile char *)p);
		return 1;
	}
	if (!strcmp(what, "read")) {
		int fd = open("/proc/version", O_RDONLY);

		return done(read(fd, target, 16));
	}
	if (!strcmp(what, "mmap-fixed"))
		return done((long)mmap(target, 4096, PROT_READ | PROT_WRITE,
				       MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == -1 ? -1 : 0);
	if (!strcmp(what, "munmap"))
		return done(munmap(target, 4096));
	if (!strcmp(what, "mprotect"))
		return done(mprotect(target, 4096, PROT_READ | PROT_WRITE));
	if (!strcmp(what, "proc-mem")) {
		int fd = open("/proc/self/mem", O_RDWR);

		return done(fd < 0 ? -1 : pwrite(fd, local, 16, (off_t)(unsigned long)target));
	}
	if (!strcmp(what, "process-vm-writev")) {
		struct iovec l = { local, 16 }, r = { target, 16 };

		return done(process_vm_writev(getpid(), &l, 1, &r, 1, 0));
	}
	if (!strcmp(what, "set-tid-address"))
		return done(syscall(SYS_set_tid_address, target));
	if (!strcmp(what, "rseq"))
		return done(syscall(SYS_rseq, target, 32, 0, 0));
	printf("usage: vu_attack write|jump|scan|read|mmap-fixed|munmap|mprotect|proc-mem|"
	       "process-vm-writev|set-tid-address|rseq\n");
	return 2;
}
