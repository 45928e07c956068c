/* The attacks and real-program behaviours of issue 13, one per subcommand; each prints what it
 * got, so that the same run natively (the positive control) and under a policy compare:
 *
 *   escape chroot DIR PATH        chroot(DIR), then read PATH ("ok CONTENT" or "errno N")
 *   escape chroot-exec DIR PROG   chroot(DIR), then execve(PROG): only returns on failure
 *   escape opath FILE             open(FILE, O_PATH): "opath ok" or "opath errno N"
 *   escape opath-trunc FILE       open(FILE, O_PATH | O_TRUNC), then FILE's size: "size N"
 *   escape emfile FILE            with no descriptor free, open(FILE): "emfile errno N"
 *   escape groups N FILE          setgroups(N groups), then read FILE twice
 *   escape lease FILE SECONDS     hold a write lease on FILE for SECONDS (ignoring SIGIO)
 *   escape stall LEASED OTHER     read LEASED in one thread and, once it waits, OTHER in
 *                                 another: prints which finished first
 *   escape dotdot PATH N          read PATH N times: "dotdot failed F" (an EAGAIN counts)
 *   escape memfd PROG             copy PROG into a memfd and run it with execveat
 *   escape mmap-exec FILE         map FILE PROT_EXEC: "mmap ok" or "mmap errno N"
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int read_file(const char *what, const char *path)
{
	char buf[64] = {0};
	int fd = open(path, O_RDONLY);

	if (fd < 0 || read(fd, buf, sizeof(buf) - 1) < 0) {
		printf("%s errno %d\n", what, errno);
		return 1;
	}
	buf[strcspn(buf, "\n")] = 0;
	printf("%s ok %s\n", what, buf);
	close(fd);
	return 0;
}

static const char *stall_paths[2];
static volatile int stall_order[2], stall_next;

static void *stall_open(void *arg)
{
	long i = (long)arg;
	int fd = open(stall_paths[i], O_RDONLY);

	stall_order[__atomic_fetch_add(&stall_next, 1, __ATOMIC_SEQ_CST)] = (int)i;
	if (fd >= 0)
		close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IONBF, 0);
	if (!strcmp(cmd, "chroot") && argc == 4) {
		if (chdir(argv[2]) || chroot(".")) {
			printf("chroot errno %d\n", errno);
			return 1;
		}
		return read_file("chroot", argv[3]);
	}
	if (!strcmp(cmd, "chroot-exec") && argc == 4) {
		char *args[] = { argv[3], NULL };

		if (chdir(argv[2]) || chroot(".")) {
			printf("chroot errno %d\n", errno);
			return 1;
		}
		execve(argv[3], args, NULL);
		printf("exec errno %d\n", errno);
		return 1;
	}
	if (!strcmp(cmd, "opath") && argc == 3) {
		int fd = open(argv[2], O_PATH);

		if (fd < 0)
			printf("opath errno %d\n", errno);
		else
			printf("opath ok\n");
		return 0;
	}
	if (!strcmp(cmd, "opath-trunc") && argc == 3) {
		struct stat st;
		int fd = open(argv[2], O_PATH | O_TRUNC);

		if (fd < 0 || stat(argv[2], &st)) {
			printf("opath-trunc errno %d\n", errno);
			return 1;
		}
		printf("size %lld\n", (long long)st.st_size);
		return 0;
	}
	if (!strcmp(cmd, "emfile") && argc == 3) {
		struct rlimit rl;
		int fd = dup(0);

		/* The lowest free descriptor is the last one allowed. */
		rl.rlim_cur = rl.rlim_max = fd;
		close(fd);
		if (setrlimit(RLIMIT_NOFILE, &rl)) {
			printf("setrlimit errno %d\n", errno);
			return 1;
		}
		fd = open(argv[2], O_RDONLY);
		printf("emfile %s %d\n", fd < 0 ? "errno" : "fd", fd < 0 ? errno : fd);
		return 0;
	}
	if (!strcmp(cmd, "groups") && argc == 4) {
		int n = atoi(argv[2]);
		gid_t *g = calloc(n, sizeof(*g));

		for (int i = 0; i < n; i++)
			g[i] = 100000 + i;
		if (setgroups(n, g)) {
			printf("setgroups errno %d\n", errno);
			return 1;
		}
		return read_file("first", argv[3]) | read_file("second", argv[3]);
	}
	if (!strcmp(cmd, "lease") && argc == 4) {
		int fd = open(argv[2], O_WRONLY);

		signal(SIGIO, SIG_IGN);
		if (fd < 0 || fcntl(fd, F_SETLEASE, F_WRLCK)) {
			printf("lease errno %d\n", errno);
			return 1;
		}
		printf("leased\n");
		sleep(atoi(argv[3]));
		fcntl(fd, F_SETLEASE, F_UNLCK);
		return 0;
	}
	if (!strcmp(cmd, "stall") && argc == 4) {
		pthread_t t[2];

		stall_paths[0] = argv[2];
		stall_paths[1] = argv[3];
		pthread_create(&t[0], NULL, stall_open, (void *)0L);
		/* Long enough for the first open to be waiting on the lease. */
		usleep(300 * 1000);
		pthread_create(&t[1], NULL, stall_open, (void *)1L);
		pthread_join(t[0], NULL);
		pthread_join(t[1], NULL);
		printf("first done: %s\n", stall_order[0] == 1 ? "other" : "leased");
		return 0;
	}
	if (!strcmp(cmd, "dotdot") && argc == 4) {
		int n = atoi(argv[3]), failed = 0;

		for (int i = 0; i < n; i++) {
			int fd = open(argv[2], O_RDONLY);

			if (fd < 0)
				failed++;
			else
				close(fd);
		}
		printf("dotdot failed %d\n", failed);
		return 0;
	}
	if (!strcmp(cmd, "memfd") && argc == 3) {
		char buf[65536], *args[] = { argv[2], NULL };
		int in = open(argv[2], O_RDONLY), mfd = memfd_create("copy", MFD_CLOEXEC);
		ssize_t n;

		if (in < 0 || mfd < 0) {
			printf("memfd errno %d\n", errno);
			return 1;
		}
		while ((n = read(in, buf, sizeof(buf))) > 0)
			if (write(mfd, buf, n) != n)
				return 1;
		syscall(SYS_execveat, mfd, "", args, NULL, AT_EMPTY_PATH);
		printf("memfd exec errno %d\n", errno);
		return 1;
	}
	if (!strcmp(cmd, "mmap-exec") && argc == 3) {
		int fd = open(argv[2], O_RDONLY);
		void *p = fd < 0 ? MAP_FAILED : mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);

		if (p == MAP_FAILED)
			printf("mmap errno %d\n", errno);
		else
			printf("mmap ok\n");
		return 0;
	}
	fprintf(stderr, "usage: see the top of escape.c\n");
	return 2;
}
