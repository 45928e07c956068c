/* Tries every way Rune's path rules must not be dodged, for the file named by argv[1]
 * (e.g. /etc/secret) whose directory is argv[2] (e.g. /etc), and prints one line per trick:
 * "NAME ok CONTENT" when the file's content was read, "NAME errno N" otherwise. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sched.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static void report(const char *name, int fd)
{
	char buf[64] = {0};

	if (fd < 0) {
		printf("%s errno %d\n", name, errno);
		return;
	}
	if (read(fd, buf, sizeof(buf) - 1) < 0) {
		printf("%s errno %d\n", name, errno);
	} else {
		buf[strcspn(buf, "\n")] = 0;
		printf("%s ok %s\n", name, buf);
	}
	close(fd);
}

int main(int argc, char **argv)
{
	const char *file = argv[1], *dir = argv[2], *base = strrchr(file, '/') + 1;
	char path[4096];
	struct open_how how = { .flags = O_RDONLY };
	int dfd;

	report("open", syscall(SYS_open, file, O_RDONLY));
	report("openat", openat(AT_FDCWD, file, O_RDONLY));
	report("openat2", syscall(SYS_openat2, AT_FDCWD, file, &how, sizeof(how)));
	snprintf(path, sizeof(path), "%s/../%s/%s", dir, strrchr(dir, '/') + 1, base);
	report("dotdot", open(path, O_RDONLY));
	snprintf(path, sizeof(path), "/%s//%s", dir, base);
	report("slashes", open(path, O_RDONLY));
	if (chdir(dir) == 0)
		report("relative", open(base, O_RDONLY));
	if (chdir("/tmp") == 0) {
		snprintf(path, sizeof(path), "..%s", file);
		report("relative-dotdot", open(path, O_RDONLY));
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	report("dirfd", openat(dfd, base, O_RDONLY));
	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dfd, base);
	report("proc-self-fd", open(path, O_RDONLY));
	snprintf(path, sizeof(path), "/proc/self/root%s", file);
	report("proc-self-root", open(path, O_RDONLY));
	snprintf(path, sizeof(path), "/proc/%d/root%s", getpid(), file);
	report("proc-pid-root", open(path, O_RDONLY));
	unlink("/tmp/rune-sym");
	if (symlink(file, "/tmp/rune-sym") == 0)
		report("symlink", open("/tmp/rune-sym", O_RDONLY));
	else
		printf("symlink errno %d\n", errno);
	unlink("/tmp/rune-hard");
	if (link(file, "/tmp/rune-hard") == 0)
		report("hardlink", open("/tmp/rune-hard", O_RDONLY));
	else
		printf("hardlink errno %d\n", errno);
	snprintf(path, sizeof(path), "%s.moved", file);
	if (rename(file, path) == 0) {
		report("rename", open(path, O_RDONLY));
		rename(path, file);
	} else {
		printf("rename errno %d\n", errno);
	}
	{
		struct file_handle *fh = malloc(sizeof(*fh) + MAX_HANDLE_SZ);
		int mnt;

		fh->handle_bytes = MAX_HANDLE_SZ;
		if (name_to_handle_at(AT_FDCWD, file, fh, &mnt, 0) == 0)
			report("by-handle", open_by_handle_at(dfd, fh, O_RDONLY));
		else
			printf("by-handle errno %d\n", errno);
	}
	snprintf(path, sizeof(path), "%s.swap", file);
	close(open(path, O_CREAT | O_WRONLY, 0644));
	if (syscall(SYS_renameat2, AT_FDCWD, path, AT_FDCWD, file, RENAME_EXCHANGE) == 0) {
		report("exchange", open(path, O_RDONLY));
		syscall(SYS_renameat2, AT_FDCWD, path, AT_FDCWD, file, RENAME_EXCHANGE);
	} else {
		printf("exchange errno %d\n", errno);
	}
	unlink(path);
	/* Ways around the path calls altogether: report "ok" when they are open. */
	{
		long fd = syscall(SYS_io_uring_setup, 1, calloc(1, 120));

		printf(fd >= 0 ? "io_uring ok\n" : "io_uring errno %d\n", errno);
	}
	if (mknod("/tmp/rune-kmsg", S_IFCHR | 0600, makedev(1, 11)) == 0 || errno == EEXIST)
		report("device", open("/tmp/rune-kmsg", O_RDONLY));
	else
		printf("device errno %d\n", errno);
	unlink("/tmp/rune-kmsg");
	if (fork() == 0)
		_exit(syscall(SYS_unshare, CLONE_NEWUSER | CLONE_NEWNS) == 0 ? 0 : 1);
	{
		int st;

		wait(&st);
		printf(WEXITSTATUS(st) == 0 ? "userns ok\n" : "userns errno -\n");
	}
	/* Last: natively it truncates the file. */
	report("creat", syscall(SYS_creat, file, 0644));
	return 0;
}
