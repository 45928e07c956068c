// SPDX-License-Identifier: GPL-2.0
/*
 * Signals as a program sees them, run natively and under the VS-mode backend
 * (vsmode-tests.sh signals): handlers with siginfo and ucontext, a fault
 * handled and retried, a timer interrupting a loop without system calls,
 * FP state kept across a handler, SA_RESTART and EINTR, the alternate
 * stack, blocked signals delivered on unblock, SA_RESETHAND, siglongjmp.
 * Prints "signals: N passed" and exits 0 when every check holds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/ucontext.h>
#include <unistd.h>

static int passed;

#define CHECK(cond, what) do {						\
	if (!(cond)) {							\
		printf("FAILED: %s (%s:%d)\n", what, __FILE__, __LINE__); \
		exit(1);						\
	}								\
	passed++;							\
} while (0)

static volatile sig_atomic_t hits, last_sig, last_code, last_pid;
static volatile uintptr_t last_pc, last_sp;

static void on_usr1(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	int local;

	hits++;
	last_sig = sig;
	last_code = si->si_code;
	last_pid = si->si_pid;
	last_pc = uc->uc_mcontext.__gregs[REG_PC];
	last_sp = (uintptr_t)&local;
}

static void basic(void)
{
	struct sigaction sa = { .sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO };
	struct sigaction old;

	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction");
	CHECK(sigaction(SIGUSR1, NULL, &old) == 0, "sigaction query");
	CHECK(old.sa_sigaction == on_usr1 && (old.sa_flags & SA_SIGINFO), "the handler reads back");
	hits = 0;
	raise(SIGUSR1);
	CHECK(hits == 1 && last_sig == SIGUSR1, "the handler ran once, for SIGUSR1");
	CHECK(last_code == SI_TKILL && last_pid == getpid(), "siginfo: si_code, si_pid");
	CHECK(last_pc != 0, "ucontext: the interrupted pc");
}

static char *guarded;

static void on_segv(int sig, siginfo_t *si, void *ctx)
{
	hits++;
	last_code = si->si_code;
	last_pc = (uintptr_t)si->si_addr;
	mprotect(guarded, 4096, PROT_READ | PROT_WRITE);
}

static void fault_retried(void)
{
	struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO };

	guarded = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(guarded != MAP_FAILED, "mmap");
	CHECK(sigaction(SIGSEGV, &sa, NULL) == 0, "sigaction SIGSEGV");
	hits = 0;
	((volatile char *)guarded)[100] = 42;
	CHECK(hits == 1, "the write faulted once");
	CHECK(last_code == SEGV_ACCERR, "si_code SEGV_ACCERR");
	CHECK(last_pc == (uintptr_t)guarded + 100, "si_addr is the address written");
	CHECK(guarded[100] == 42, "the write was retried after the handler");
	signal(SIGSEGV, SIG_DFL);
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	volatile double x = 1.0;
	int i;

	/* clobber the FP registers the interrupted loop is using */
	for (i = 0; i < 50; i++)
		x = x * 3.0 + 0.5;
	alarms++;
}

static void timer_in_loop(void)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = { { 0, 20000 }, { 0, 20000 } };
	double acc = 0.0, check = 0.0;
	long n = 0;

	CHECK(sigaction(SIGALRM, &sa, NULL) == 0, "sigaction SIGALRM");
	alarms = 0;
	CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0, "setitimer");
	/* no system call in here: only an interrupt can stop this loop */
	while (alarms < 3) {
		acc += 0.25;
		n++;
	}
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	check = n * 0.25;
	CHECK(acc == check, "FP state survives the handlers");
}

static int pipefd[2];

static void on_alarm_write(int sig)
{
	alarms++;
	if (write(pipefd[1], "x", 1) != 1)
		_exit(3);
}

static void restart(void)
{
	struct sigaction sa = { .sa_handler = on_alarm_write, .sa_flags = SA_RESTART };
	struct itimerval it = { { 0, 0 }, { 0, 50000 } };
	char c = 0;
	ssize_t got;

	CHECK(pipe(pipefd) == 0, "pipe");
	CHECK(sigaction(SIGALRM, &sa, NULL) == 0, "sigaction SA_RESTART");
	alarms = 0;
	setitimer(ITIMER_REAL, &it, NULL);
	got = read(pipefd[0], &c, 1);
	CHECK(alarms == 1 && got == 1 && c == 'x', "SA_RESTART: read restarted and got the byte");

	sa.sa_flags = 0;
	sa.sa_handler = on_alarm;
	CHECK(sigaction(SIGALRM, &sa, NULL) == 0, "sigaction without SA_RESTART");
	alarms = 0;
	setitimer(ITIMER_REAL, &it, NULL);
	got = read(pipefd[0], &c, 1);
	CHECK(alarms == 1 && got == -1 && errno == EINTR, "no SA_RESTART: EINTR");
}

static void altstack(void)
{
	static char stack[65536];
	stack_t ss = { .ss_sp = stack, .ss_size = sizeof(stack) }, old;
	struct sigaction sa = { .sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO | SA_ONSTACK };

	CHECK(sigaltstack(&ss, NULL) == 0, "sigaltstack");
	CHECK(sigaltstack(NULL, &old) == 0 && old.ss_sp == stack && old.ss_flags == 0,
	      "sigaltstack reads back");
	ss.ss_size = 100;
	CHECK(sigaltstack(&ss, NULL) == -1 && errno == ENOMEM, "a tiny alternate stack: ENOMEM");
	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction SA_ONSTACK");
	raise(SIGUSR1);
	CHECK(last_sp > (uintptr_t)stack && last_sp < (uintptr_t)stack + sizeof(stack),
	      "the handler ran on the alternate stack");
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	CHECK(!(last_sp > (uintptr_t)stack && last_sp < (uintptr_t)stack + sizeof(stack)),
	      "without SA_ONSTACK, the normal stack");
}

static void blocked(void)
{
	sigset_t set, pending;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	hits = 0;
	CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0, "block SIGUSR1");
	raise(SIGUSR1);
	CHECK(hits == 0, "a blocked signal waits");
	CHECK(sigpending(&pending) == 0 && sigismember(&pending, SIGUSR1), "it is pending");
	CHECK(sigprocmask(SIG_UNBLOCK, &set, NULL) == 0, "unblock");
	CHECK(hits == 1, "delivered on unblock");
}

static void resethand(void)
{
	struct sigaction sa = { .sa_sigaction = on_usr1,
				.sa_flags = SA_SIGINFO | SA_RESETHAND }, old;

	sigaction(SIGUSR1, &sa, NULL);
	hits = 0;
	raise(SIGUSR1);
	CHECK(hits == 1, "SA_RESETHAND: handled once");
	CHECK(sigaction(SIGUSR1, NULL, &old) == 0 && old.sa_handler == SIG_DFL,
	      "SA_RESETHAND: then SIG_DFL");
}

static sigjmp_buf jump;

static void on_segv_jump(int sig)
{
	siglongjmp(jump, 1);
}

static void longjmp_out(void)
{
	sigset_t now;

	signal(SIGSEGV, on_segv_jump);
	if (sigsetjmp(jump, 1) == 0) {
		static int *volatile bad = (int *)8;

		*bad = 1;
		CHECK(0, "the NULL write did not fault");
	}
	sigprocmask(SIG_BLOCK, NULL, &now);
	CHECK(!sigismember(&now, SIGSEGV), "siglongjmp restored the mask");
	signal(SIGSEGV, SIG_DFL);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "spin"))
		for (;;)
			hits++;
	basic();
	fault_retried();
	timer_in_loop();
	restart();
	altstack();
	blocked();
	resethand();
	longjmp_out();
	printf("signals: %d passed\n", passed);
	return 0;
}
