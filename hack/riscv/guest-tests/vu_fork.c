// fork under VS-mode, compared with the native run: 200 forks with copy-on-write both ways
// and exit statuses, a signal handled in the child, pending signals not inherited, a child
// killed by a signal and SIGCHLD to a handler, vfork, and the child's own pid.
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t got_usr1, got_chld;
static void on_usr1(int s) { got_usr1 = s; }
static void on_chld(int s) { got_chld = s; }

// vu_fork dontfork: only says whether MADV_DONTFORK is taken.
static int dontfork(void)
{
	char *kept = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (madvise(kept, 4096, MADV_DONTFORK))
		perror("madvise MADV_DONTFORK");
	else
		printf("madvise MADV_DONTFORK: taken\n");
	return 0;
}

// vu_fork bomb: forks children that wait on a pipe until fork fails (a pids cgroup's limit),
// then lets them all go and reaps them.
static int bomb(void)
{
	int gate[2], n = 0, reaped = 0, st;

	if (pipe(gate))
		return 1;
	for (;;) {
		pid_t p = fork();

		if (p < 0) {
			printf("fork failed after %d children: %s\n", n, strerror(errno));
			break;
		}
		if (p == 0) {
			char c;

			close(gate[1]);
			_exit(read(gate[0], &c, 1) == 0 ? 0 : 1);
		}
		if (++n > 10000)
			break;
	}
	close(gate[1]);
	while (wait(&st) > 0)
		reaped += WIFEXITED(st) && WEXITSTATUS(st) == 0;
	printf("%d children reaped, each exited 0\n", reaped);
	return reaped == n ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "dontfork"))
		return dontfork();
	if (argc > 1 && !strcmp(argv[1], "bomb"))
		return bomb();
	static int counter;
	char *heap = malloc(4096);
	int sum = 0;

	strcpy(heap, "parent");
	signal(SIGUSR1, on_usr1);
	for (int i = 0; i < 200; i++) {
		pid_t p = fork();

		if (p < 0) {
			perror("fork");
			return 1;
		}
		if (p == 0) {
			// The parent's writes before the fork are seen; the child's stay its own.
			if (counter != i || strcmp(heap, "parent"))
				_exit(100);
			counter = -1;
			strcpy(heap, "child");
			raise(SIGUSR1);
			_exit(got_usr1 == SIGUSR1 ? i & 0x7f : 101);
		}
		int st;

		if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != (i & 0x7f)) {
			printf("child %d: status %#x\n", i, st);
			return 1;
		}
		if (counter != i || strcmp(heap, "parent")) {
			printf("child %d changed the parent's memory\n", i);
			return 1;
		}
		counter++;
		sum += WEXITSTATUS(st);
	}
	printf("200 forks, statuses summing to %d, memory copied both ways\n", sum);

	// A signal pending in the parent at the fork is not the child's.
	sigset_t usr2, old;

	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	sigprocmask(SIG_BLOCK, &usr2, &old);
	raise(SIGUSR2);
	pid_t p = fork();

	if (p == 0) {
		sigset_t pending;

		sigpending(&pending);
		_exit(sigismember(&pending, SIGUSR2) ? 1 : 0);
	}
	int st;

	waitpid(p, &st, 0);
	printf("pending signal inherited by the child: %s\n",
	       WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "no" : "yes");
	signal(SIGUSR2, SIG_IGN);
	sigprocmask(SIG_SETMASK, &old, NULL);

	// A child killed by a signal, and SIGCHLD to a handler.
	signal(SIGCHLD, on_chld);
	int ready[2];

	if (pipe(ready))
		return 1;
	p = fork();
	if (p == 0) {
		close(ready[0]);
		if (write(ready[1], "r", 1) != 1)
			_exit(2);
		for (;;)
			pause();
	}
	char c;

	if (read(ready[0], &c, 1) != 1)
		return 1;
	kill(p, SIGTERM);
	while (waitpid(p, &st, 0) < 0)
		;
	printf("child killed: %s by signal %d, SIGCHLD handled: %s\n",
	       WIFSIGNALED(st) ? "yes" : "no", WIFSIGNALED(st) ? WTERMSIG(st) : 0,
	       got_chld == SIGCHLD ? "yes" : "no");

	// vfork: the parent waits for the child's exit.
	p = vfork();
	if (p == 0)
		_exit(7);
	waitpid(p, &st, 0);
	printf("vfork child status %d\n", WEXITSTATUS(st));

	// MADV_WIPEONFORK: zero in the child, kept in the parent.
	char *wiped = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (wiped == MAP_FAILED)
		return 1;
	wiped[0] = 'x';
	if (madvise(wiped, 4096, MADV_WIPEONFORK))
		return 1;
	p = fork();
	if (p == 0)
		_exit(wiped[0] == 0 ? 0 : 1);
	waitpid(p, &st, 0);
	printf("wiped page: %s in the child, %c in the parent\n",
	       WIFEXITED(st) && !WEXITSTATUS(st) ? "zero" : "not zero", wiped[0]);

	// The child's own pid, as its parent got it.
	int fds[2];

	if (pipe(fds))
		return 1;
	p = fork();
	if (p == 0) {
		pid_t me = getpid();

		_exit(write(fds[1], &me, sizeof(me)) == sizeof(me) ? 0 : 1);
	}
	pid_t seen = 0;

	if (read(fds[0], &seen, sizeof(seen)) != sizeof(seen))
		return 1;
	waitpid(p, &st, 0);
	printf("child's getpid is fork's value: %s\n", seen == p ? "yes" : "no");
	return 0;
}
