// SPDX-License-Identifier: GPL-2.0
/*
 * Guest tests of /dev/rune: functions of this process run in VS-mode
 * through the identity G-stage; each subcommand checks one property and
 * exits 0 when it holds.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

#include "rune_guest.h"

#define PAGE 4096UL
#define GUEST __attribute__((noinline))

enum { HC_LOOK = 1, HC_UNMAP, HC_MPROTECT, HC_COUNT, HC_NOP };

static long *heap;

/* --- heap and stack through the identity map, hypercalls both ways --- */

GUEST static long guest_memory(long n)
{
	long local[8];
	long i;

	for (i = 0; i < n; i++)
		heap[i] = heap[i] * 2 + 1;
	for (i = 0; i < 8; i++)
		local[i] = i * 3;
	if (hcall(HC_LOOK, (long)local) != 7)
		return 1;
	/* what the process wrote during the hypercall */
	if (local[0] != 1000 || heap[0] != -7)
		return 2;
	return 42;
}

static long serve_memory(struct vs *v, long nr, long arg)
{
	long *local = (long *)arg;
	long i;

	check(nr == HC_LOOK, "hypercall %ld", nr);
	/* the guest's stack is in the guest's registers and in our memory */
	check(arg > (long)v->stack && arg < (long)v->stack + GUEST_STACK, "stack %#lx", arg);
	check(v->st.X(REG_SP) <= (unsigned long)arg, "sp above the guest's locals");
	for (i = 0; i < 8; i++)
		check(local[i] == i * 3, "guest stack word %ld = %ld", i, local[i]);
	for (i = 0; i < 4096; i++)
		check(heap[i] == 2 * i + 1, "guest heap word %ld = %ld", i, heap[i]);
	local[0] = 1000;
	heap[0] = -7;
	return 7;
}

static int test_memory(void)
{
	struct vs v;
	long i;

	heap = malloc(4096 * sizeof(long));
	for (i = 0; i < 4096; i++)
		heap[i] = i;
	vs_init(&v, rune_dev());
	check(vs_expect_return(&v, guest_memory, 4096, 0, 0, serve_memory) == 42,
	      "guest saw %ld", (long)v.st.X(REG_A0));
	check(v.st.stats.gstage_faults > 0, "no G-stage fault was resolved");
	printf("memory: %llu entries, %llu G-stage faults\n", v.st.stats.entries,
	       v.st.stats.gstage_faults);
	return 0;
}

/* --- unmapped pages stop being reachable; pages mapped later are --- */

static volatile char *page_a, *page_b;

GUEST static long guest_unmap(void)
{
	if (page_a[0] != 'a')
		return 1;
	hcall(HC_UNMAP, 0);
	if (page_b[0] != 'b')
		return 2;
	page_b[1] = 'c';
	return page_a[0];	/* unmapped meanwhile */
}

static long serve_unmap(struct vs *v, long nr, long arg)
{
	check(nr == HC_UNMAP, "hypercall %ld", nr);
	page_b = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(page_b != MAP_FAILED, "mmap");
	page_b[0] = 'b';
	check(munmap((void *)page_a, PAGE) == 0, "munmap");
	return 0;
}

static int test_unmap(void)
{
	struct vs v;

	page_a = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	page_a[0] = 'a';
	vs_init(&v, rune_dev());
	vs_expect_fault(&v, guest_unmap, 0, 0, SCAUSE_LOAD_GUEST_PAGE_FAULT,
			(const void *)page_a, serve_unmap);
	check(page_b[1] == 'c', "the guest's write to a page mapped later is lost");
	return 0;
}

/* --- copy-on-write after fork --- */

GUEST static long guest_store(long *p, long value)
{
	*p = value;
	return 0;
}

GUEST static long guest_load(long *p)
{
	return *p;
}

static int test_cow(void)
{
	long *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int go[2], status;
	struct vs v;
	pid_t pid;
	char c;

	vs_init(&v, rune_dev());
	/* the G-stage maps the page writable before the fork */
	vs_expect_return(&v, guest_store, (long)p, 1, 0, NULL);
	check(*p == 1, "guest store not seen");
	check(pipe(go) == 0, "pipe");
	pid = fork();
	check(pid >= 0, "fork");
	if (pid == 0) {
		check(read(go[0], &c, 1) == 1, "read");
		/* the parent's guest wrote 2 meanwhile: not into our copy */
		_exit(*p == 1 ? 0 : 10 + (int)*p);
	}
	vs_expect_return(&v, guest_store, (long)p, 2, 0, NULL);
	check(write(go[1], "x", 1) == 1, "write");
	check(waitpid(pid, &status, 0) == pid, "waitpid");
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "the child saw the parent's guest write (status %#x)", status);
	check(*p == 2, "the parent lost its guest's write: %ld", *p);

	/* and the other way: a child's write stays in the child */
	pid = fork();
	check(pid >= 0, "fork");
	if (pid == 0) {
		*p = 3;
		_exit(0);
	}
	check(waitpid(pid, &status, 0) == pid && WIFEXITED(status), "waitpid");
	check(vs_expect_return(&v, guest_load, (long)p, 0, 0, NULL) == 2,
	      "the guest sees the child's write");
	return 0;
}

/* --- mremap and MADV_DONTNEED: the guest follows the process --- */

static int test_remap(void)
{
	char *region = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	long *p = (long *)region, *t = (long *)(region + 2 * PAGE);
	struct vs v;

	vs_init(&v, rune_dev());
	vs_expect_return(&v, guest_store, (long)p, 11, 0, NULL);
	check(mremap(p, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, t) == t, "mremap");
	check(vs_expect_return(&v, guest_load, (long)t, 0, 0, NULL) == 11, "moved page");
	vs_expect_fault(&v, guest_load, (long)p, 0, SCAUSE_LOAD_GUEST_PAGE_FAULT, p, NULL);
	vs_expect_return(&v, guest_store, (long)t, 12, 0, NULL);
	check(*t == 12, "the guest wrote elsewhere after mremap");

	check(madvise(t, PAGE, MADV_DONTNEED) == 0, "madvise");
	check(vs_expect_return(&v, guest_load, (long)t, 0, 0, NULL) == 0,
	      "the guest still sees a discarded page");
	vs_expect_return(&v, guest_store, (long)t, 14, 0, NULL);
	check(*t == 14, "the guest wrote into a discarded page");
	return 0;
}

/* --- page migration between NUMA nodes under the guest --- */

#define MPOL_MF_MOVE (1 << 1)

static int test_migrate(void)
{
	long *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *pages[1] = { p };
	int node = -1, target, status = -1;
	unsigned long long faults;
	struct vs v;

	vs_init(&v, rune_dev());
	vs_expect_return(&v, guest_store, (long)p, 21, 0, NULL);
	check(syscall(SYS_move_pages, 0, 1, pages, NULL, &node, 0) == 0 && node >= 0,
	      "where is the page: %d", node);
	target = !node;
	check(syscall(SYS_move_pages, 0, 1, pages, &target, &status, MPOL_MF_MOVE) == 0 &&
	      status == target, "the page did not move to node %d: %d", target, status);
	faults = v.st.stats.gstage_faults;
	check(vs_expect_return(&v, guest_load, (long)p, 0, 0, NULL) == 21, "moved page");
	check(v.st.stats.gstage_faults > faults, "the guest kept the page from before the move");
	vs_expect_return(&v, guest_store, (long)p, 22, 0, NULL);
	check(*p == 22, "the guest wrote to the page from before the move");
	printf("migrate: node %d -> %d\n", node, target);
	return 0;
}

/* --- read-only, mprotect, execute --- */

static int test_protection(void)
{
	long *ro = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	long *rw = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint32_t *code = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct vs v;

	*ro = 99;
	check(mprotect(ro, PAGE, PROT_READ) == 0, "mprotect");
	vs_init(&v, rune_dev());
	check(vs_expect_return(&v, guest_load, (long)ro, 0, 0, NULL) == 99, "read-only read");
	vs_expect_fault(&v, guest_store, (long)ro, 5, SCAUSE_STORE_GUEST_PAGE_FAULT, ro, NULL);
	check(*ro == 99, "a read-only page changed");

	/* writable, then made read-only while the guest has it mapped */
	vs_expect_return(&v, guest_store, (long)rw, 5, 0, NULL);
	check(mprotect(rw, PAGE, PROT_READ) == 0, "mprotect");
	vs_expect_fault(&v, guest_store, (long)rw, 6, SCAUSE_STORE_GUEST_PAGE_FAULT, rw, NULL);
	check(*rw == 5, "a write went through a revoked mapping");

	/* li a0, 77; ret: not executable until the VMA says so */
	code[0] = 0x04d00513;
	code[1] = 0x00008067;
	vs_expect_fault(&v, code, 0, 0, SCAUSE_FETCH_GUEST_PAGE_FAULT, code, NULL);
	check(mprotect(code, PAGE, PROT_READ | PROT_EXEC) == 0, "mprotect");
	__builtin___clear_cache((char *)code, (char *)code + 8);
	check(vs_expect_return(&v, code, 0, 0, 0, NULL) == 77, "the code did not run");
	return 0;
}

/* --- a shared file mapping written from VS-mode reaches the file --- */

GUEST static long guest_copy(char *dst, const char *src)
{
	while ((*dst++ = *src++))
		;
	return 0;
}

static int test_shared_file(void)
{
	static const char text[] = "written in VS-mode";
	char buf[sizeof(text)] = { 0 };
	int fd = open("/tmp/rune-shared", O_RDWR | O_CREAT | O_TRUNC, 0600);
	struct vs v;
	char *p;

	check(fd >= 0 && ftruncate(fd, PAGE) == 0, "file");
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	check(p != MAP_FAILED, "mmap");
	vs_init(&v, rune_dev());
	vs_expect_return(&v, guest_copy, (long)p, (long)text, 0, NULL);
	check(msync(p, PAGE, MS_SYNC) == 0 && munmap(p, PAGE) == 0, "msync");
	check(pread(fd, buf, sizeof(buf), 0) == sizeof(buf), "pread");
	check(!strcmp(buf, text), "the file holds '%s'", buf);
	unlink("/tmp/rune-shared");
	return 0;
}

/* --- thousands of cycles --- */

GUEST static long guest_count(long n)
{
	long i;

	for (i = 0; i < n; i++)
		if (hcall(HC_COUNT, i) != i + 1)
			return -1;
	return n;
}

static long serve_count(struct vs *v, long nr, long arg)
{
	check(nr == HC_COUNT, "hypercall %ld", nr);
	return arg + 1;
}

static int test_cycles(void)
{
	const long n = 5000;
	struct vs v;
	long i;

	vs_init(&v, rune_dev());
	for (i = 0; i < n; i++) {
		vs_call(&v, rune_guest_exit, i, 0, 0);
		check(vs_enter(&v) == RUNE_EXIT_EXIT && (long)v.st.X(REG_A0) == i,
		      "entry %ld", i);
	}
	check(vs_expect_return(&v, guest_count, n, 0, 0, serve_count) == n, "hypercalls");
	printf("cycles: %ld entries and %ld hypercalls\n", n, n);
	return 0;
}

/* --- several threads at once on several harts --- */

#define THREADS 4

struct worker {
	int dev;
	pthread_t thread;
	long slots[64];
	int cpus;
	int ok;
};

GUEST static long guest_worker(long *slots, long n)
{
	long i;

	for (i = 0; i < n; i++) {
		slots[i % 64] += i;
		if (hcall(HC_COUNT, i) != i + 1)
			return -1;
	}
	return n;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	const long n = 1500;
	long expect[64] = { 0 }, i;
	struct vs v;

	vs_init(&v, w->dev);
	if (vs_expect_return(&v, guest_worker, (long)w->slots, n, 0, serve_count) != n)
		return NULL;
	for (i = 0; i < n; i++)
		expect[i % 64] += i;
	w->ok = !memcmp(expect, w->slots, sizeof(expect));
	w->cpus |= 1 << sched_getcpu();
	vs_close(&v);
	return NULL;
}

static int test_threads(void)
{
	struct worker w[THREADS] = { 0 };
	int dev = rune_dev(), i, cpus = 0;

	for (i = 0; i < THREADS; i++) {
		w[i].dev = dev;
		check(pthread_create(&w[i].thread, NULL, worker_main, &w[i]) == 0, "thread");
	}
	/* VS-stage fences of the whole process while its threads run */
	for (i = 0; i < 50; i++)
		check(ioctl(dev, RUNE_IOC_FENCE_VVMA) == 0, "RUNE_IOC_FENCE_VVMA");
	for (i = 0; i < THREADS; i++) {
		pthread_join(w[i].thread, NULL);
		check(w[i].ok, "thread %d: wrong results", i);
		cpus |= w[i].cpus;
	}
	printf("threads: %d threads ended on harts %#x\n", THREADS, cpus);
	check(sysconf(_SC_NPROCESSORS_ONLN) < 2 || __builtin_popcount(cpus) >= 2,
	      "all threads ran on one hart");
	return 0;
}

/* --- a signal and timer interrupts during a long guest loop --- */

static volatile long alarm_rang;

static void on_alarm(int sig)
{
	alarm_rang = 1;
}

GUEST static long guest_spin(volatile long *flag)
{
	long spins = 0;

	while (!*flag)
		spins++;
	return spins;
}

static int test_signal(void)
{
	struct itimerval it = { .it_value = { .tv_usec = 200000 } };
	long signals = 0;
	struct vs v;

	signal(SIGALRM, on_alarm);
	vs_init(&v, rune_dev());
	vs_call(&v, guest_spin, (long)&alarm_rang, 0, 0);
	check(setitimer(ITIMER_REAL, &it, NULL) == 0, "setitimer");
	check(vs_run(&v, NULL, &signals) == RUNE_EXIT_EXIT, "the guest did not finish");
	check(signals >= 1, "no signal exit");
	check(v.st.stats.interrupts >= 1, "no host interrupt during 200 ms in the guest");
	printf("signal: %ld signal exits, %llu interrupt exits, %ld spins\n", signals,
	       v.st.stats.interrupts, (long)v.st.X(REG_A0));
	return 0;
}

/* --- kill -9 of a process in VS-mode --- */

GUEST static long guest_forever(void)
{
	for (;;)
		__asm__ volatile("" ::: "memory");
	return 0;
}

static int ready[2];

static void *forever_thread(void *arg)
{
	struct vs v;

	vs_init(&v, rune_dev());
	vs_call(&v, guest_forever, 0, 0, 0);
	check(write(ready[1], "r", 1) == 1, "write");
	vs_enter(&v);
	return NULL;
}

static int test_kill(void)
{
	int status;
	struct vs v;
	pid_t pid;
	char c;

	check(pipe(ready) == 0, "pipe");
	pid = fork();
	check(pid >= 0, "fork");
	if (pid == 0) {
		vs_init(&v, rune_dev());
		vs_call(&v, guest_forever, 0, 0, 0);
		check(write(ready[1], "r", 1) == 1, "write");
		vs_enter(&v);
		_exit(3);
	}
	check(read(ready[0], &c, 1) == 1, "the child did not get ready");
	usleep(300000);
	check(kill(pid, SIGKILL) == 0, "kill");
	alarm(60);
	check(waitpid(pid, &status, 0) == pid, "waitpid");
	alarm(0);
	check(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	      "the child ended with status %#x, not SIGKILL", status);

	/* a process that exits while one of its threads is in VS-mode */
	pid = fork();
	check(pid >= 0, "fork");
	if (pid == 0) {
		pthread_t t;

		check(pthread_create(&t, NULL, forever_thread, NULL) == 0, "thread");
		check(read(ready[0], &c, 1) == 1, "the thread did not get ready");
		usleep(300000);
		_exit(7);
	}
	alarm(60);
	check(waitpid(pid, &status, 0) == pid, "waitpid");
	alarm(0);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 7,
	      "exit with a thread in VS-mode: status %#x", status);
	return 0;
}

/* --- addresses outside the process --- */

static int test_bad_address(void)
{
	static const unsigned long bad[] = {
		0x1000,			/* below mmap_min_addr */
		0x3f00000000UL,		/* unmapped */
		0xffffffd800000000UL,	/* the kernel's */
	};
	struct vs v;
	unsigned int i;

	vs_init(&v, rune_dev());
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vs_call(&v, guest_load, (long)bad[i], 0, 0);
		check(vs_run(&v, NULL, NULL) == RUNE_EXIT_FAULT, "%#lx: no fault", bad[i]);
		check(v.st.exit.scause == SCAUSE_LOAD_GUEST_PAGE_FAULT,
		      "%#lx: scause %llu", bad[i], v.st.exit.scause);
	}
	vs_expect_fault(&v, (void *)0x3f00000000UL, 0, 0, SCAUSE_FETCH_GUEST_PAGE_FAULT,
			(void *)0x3f00000000UL, NULL);
	/* the context is still good */
	check(vs_expect_return(&v, guest_load, (long)&bad[0], 0, 0, NULL) == 0x1000,
	      "no load after faults");
	return 0;
}

/* --- rdtime without exits --- */

GUEST static long guest_rdtime(long n)
{
	unsigned long last = 0, now;
	long i, backwards = 0;

	for (i = 0; i < n; i++) {
		__asm__ volatile("rdtime %0" : "=r"(now));
		if (now < last)
			backwards++;
		last = now;
	}
	return backwards;
}

static int test_rdtime(void)
{
	const long n = 20000;
	unsigned long before;
	struct vs v;

	vs_init(&v, rune_dev());
	vs_expect_return(&v, guest_rdtime, 1, 0, 0, NULL);
	before = v.st.stats.entries;
	check(vs_expect_return(&v, guest_rdtime, n, 0, 0, NULL) == 0, "time went backwards");
	printf("rdtime: %ld reads, %llu entries\n", n, v.st.stats.entries - before);
	check(v.st.stats.entries - before < n / 10, "rdtime exits");
	return 0;
}

/* --- RUNE_IOC_SET_KICK: a nonzero word stops the guest at entry --- */

#define KICKED 0x4b49434bL

void rune_guest_kicked(void);
__asm__(".pushsection .text\n"
	".balign 4\n"
	".globl rune_guest_kicked\n"
	"rune_guest_kicked:\n"
	"	li a7, 0x4b49434b\n"
	"	ecall\n"
	"	j rune_guest_kicked\n"
	".popsection\n");

static volatile uint64_t kick_word;

/* interrupts on in VS-mode, the VS software interrupt enabled, traps to rune_guest_kicked */
static void kickable(struct vs *v)
{
	v->st.csrs.vstvec = (uintptr_t)rune_guest_kicked;
	v->st.csrs.vsie = 2;
	v->st.csrs.vsstatus |= 2;
}

static int test_kick(void)
{
	uint64_t addr = (uintptr_t)&kick_word;
	unsigned int reason;
	struct vs v;

	vs_init(&v, rune_dev());
	check(ioctl(v.fd, RUNE_IOC_SET_KICK, &addr) == 0, "RUNE_IOC_SET_KICK");
	kick_word = 1;
	vs_call(&v, guest_forever, 0, 0, 0);
	kickable(&v);
	reason = vs_enter(&v);
	check(reason == RUNE_EXIT_HYPERCALL && v.st.X(REG_A7) == KICKED,
	      "a nonzero word: exit %u, a7 %#llx", reason, v.st.X(REG_A7));
	check(v.st.csrs.vscause == ((1ULL << 63) | 1), "vscause %#llx", v.st.csrs.vscause);

	/* the word clear and the interrupt taken: the guest runs its course */
	kick_word = 0;
	v.st.csrs.vsip = 0;
	vs_call(&v, guest_rdtime, 1, 0, 0);
	kickable(&v);
	check(vs_run(&v, NULL, NULL) == RUNE_EXIT_EXIT, "a zero word: the guest was stopped");

	addr = 3;
	check(ioctl(v.fd, RUNE_IOC_SET_KICK, &addr) == -1 && errno == EINVAL,
	      "a misaligned word is refused");
	vs_close(&v);
	printf("kick: a nonzero word stops the guest at entry (vscause %#llx), zero lets it run\n",
	       (unsigned long long)((1ULL << 63) | 1));
	return 0;
}

/* --- FP and vector state in and out; the host's own FP survives --- */

GUEST static long guest_fp(void)
{
	double a, b;

	__asm__ volatile("fmv.d %0, fa0\n fmv.d %1, fa1" : "=f"(a), "=f"(b));
	a = a * b + 1;
	__asm__ volatile("fmv.d fa0, %0\n fmv.d.x fs0, zero" : : "f"(a) : "fs0");
	return 0;
}

GUEST static long guest_vector(long *mem)
{
	__asm__ volatile(".option push\n .option arch, +v\n"
			 "vsetivli t0, 2, e64, m1, ta, ma\n"
			 "vle64.v v1, (%0)\n"
			 "vadd.vv v2, v1, v1\n"
			 "vse64.v v2, (%0)\n"
			 "addi t1, %0, 16\n"
			 "vse64.v v6, (t1)\n"
			 "vmv.v.i v5, 7\n"
			 ".option pop\n" : : "r"(mem) : "t0", "t1", "memory");
	return 0;
}

static int test_fp_vector(void)
{
	double one_half = 1.5, two_and_a_quarter = 2.25, result, kept;
	struct rune_info info;
	long mem[4] = { 20, 21, 0, 0 };
	unsigned char *vregs;
	struct vs v;
	unsigned int i;

	vs_init(&v, rune_dev());
	check(ioctl(v.dev, RUNE_IOC_QUERY, &info) == 0, "query");
	vs_call(&v, guest_fp, 0, 0, 0);
	memcpy(&v.st.fp.f[10], &one_half, 8);
	memcpy(&v.st.fp.f[11], &two_and_a_quarter, 8);
	/* fs0 is the host's (callee-saved); the guest zeroes its own copy */
	__asm__ volatile("li t0, 0x4045000000000000\n fmv.d.x fs0, t0" ::: "t0", "fs0");
	check(vs_run(&v, NULL, NULL) == RUNE_EXIT_EXIT, "fp guest");
	__asm__ volatile("fmv.d %0, fs0" : "=f"(kept));
	memcpy(&result, &v.st.fp.f[10], 8);
	check(result == 1.5 * 2.25 + 1, "guest fa0 = %f", result);
	check(v.st.fp.f[8] == 0, "guest fs0 not returned");
	check(kept == 42.0, "the host's fs0 is %f after the guest", kept);

	if (!info.vlenb) {
		printf("fp: ok; no vector unit on this hart\n");
		v.st.vector.regs = (uintptr_t)mem;
		check(ioctl(v.fd, RUNE_IOC_ENTER, &v.st) == -1 && errno == EOPNOTSUPP,
		      "vector state accepted without V");
		return 0;
	}
	vregs = calloc(32, info.vlenb);
	for (i = 0; i < 16; i++)
		vregs[6 * info.vlenb + i] = 0x10 + i;	/* v6 in */
	vs_call(&v, guest_vector, (long)mem, 0, 0);
	v.st.csrs.vsstatus |= SSTATUS_VS_DIRTY;
	v.st.vector.regs = (uintptr_t)vregs;
	check(vs_run(&v, NULL, NULL) == RUNE_EXIT_EXIT, "vector guest");
	check(mem[0] == 40 && mem[1] == 42, "vector add: %ld %ld", mem[0], mem[1]);
	check(!memcmp(&mem[2], &vregs[6 * info.vlenb], 16), "v6 did not go in");
	check(vregs[5 * info.vlenb] == 7 && vregs[5 * info.vlenb + 8] == 7, "v5 did not come out");
	printf("fp and vector (vlenb %u): ok\n", info.vlenb);
	return 0;
}

/* --- misuse is refused cleanly --- */

static void *enter_from_other_thread(void *arg)
{
	struct vs *v = arg;

	return (void *)(long)(ioctl(v->fd, RUNE_IOC_ENTER, &v->st) == -1 && errno == EPERM);
}

static int test_misuse(void)
{
	pthread_t t;
	void *refused;
	struct vs v;
	int status;
	pid_t pid;

	vs_init(&v, rune_dev());
	vs_call(&v, rune_guest_exit, 0, 0, 0);
	check(pthread_create(&t, NULL, enter_from_other_thread, &v) == 0, "thread");
	pthread_join(t, &refused);
	check(refused, "another thread entered this thread's context");

	v.st.regs.mode = 7;
	check(ioctl(v.fd, RUNE_IOC_ENTER, &v.st) == -1 && errno == EINVAL, "mode 7 accepted");

	pid = fork();
	check(pid >= 0, "fork");
	if (pid == 0) {
		/* the parent's address space is not ours */
		if (ioctl(v.dev, RUNE_IOC_CREATE) != -1 || errno != EACCES)
			_exit(1);
		vs_call(&v, rune_guest_exit, 0, 0, 0);
		if (ioctl(v.fd, RUNE_IOC_ENTER, &v.st) != -1 || errno != EPERM)
			_exit(2);
		_exit(0);
	}
	check(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && !WEXITSTATUS(status),
	      "a child used its parent's /dev/rune (status %#x)", status);

	/* the module stays while a context is open, even with /dev/rune closed */
	close(v.dev);
	check(syscall(SYS_delete_module, "rune", O_NONBLOCK) == -1 &&
	      (errno == EWOULDBLOCK || errno == EBUSY), "the module unloaded under a context");
	vs_call(&v, rune_guest_exit, 5, 0, 0);
	check(vs_enter(&v) == RUNE_EXIT_EXIT && v.st.X(REG_A0) == 5, "context after close");
	return 0;
}

/* --- VMID rollover: many address spaces in turn and at once --- */

static int test_vmids(void)
{
	int procs = 3, i, status, bad = 0;

	for (i = 0; i < procs; i++) {
		if (fork() == 0) {
			long *mine = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
					  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			int round;

			for (round = 0; round < 100; round++) {
				struct vs v;

				vs_init(&v, rune_dev());
				vs_expect_return(&v, guest_store, (long)mine, getpid() * 1000 + round,
						 0, NULL);
				if (vs_expect_return(&v, guest_load, (long)mine, 0, 0, NULL) !=
				    getpid() * 1000 + round)
					_exit(1);
				vs_close(&v);
				close(v.dev);
			}
			_exit(0);
		}
	}
	for (i = 0; i < procs; i++) {
		check(wait(&status) > 0, "wait");
		bad += !WIFEXITED(status) || WEXITSTATUS(status);
	}
	check(!bad, "%d processes saw wrong memory", bad);
	return 0;
}

/* --- the cost of an entry, a hypercall and a system call --- */

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static long serve_nop(struct vs *v, long nr, long arg)
{
	return arg;
}

GUEST static long guest_hcalls(long n)
{
	long i;

	for (i = 0; i < n; i++)
		hcall(HC_NOP, i);
	return n;
}

static int test_bench(void)
{
	const long n = 20000;
	double t0, getpid_ns, enter_ns, hcall_ns;
	struct vs v;
	long i;

	vs_init(&v, rune_dev());
	vs_expect_return(&v, guest_hcalls, 10, 0, 0, serve_nop);
	t0 = now_ns();
	for (i = 0; i < n; i++)
		syscall(SYS_getpid);
	getpid_ns = (now_ns() - t0) / n;
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		vs_call(&v, rune_guest_exit, 0, 0, 0);
		vs_enter(&v);
	}
	enter_ns = (now_ns() - t0) / n;
	t0 = now_ns();
	vs_expect_return(&v, guest_hcalls, n, 0, 0, serve_nop);
	hcall_ns = (now_ns() - t0) / n;
	printf("bench: getpid %.0f ns, enter+exit %.0f ns (%.1fx getpid), hypercall round trip %.0f ns (%.1fx getpid)\n",
	       getpid_ns, enter_ns, enter_ns / getpid_ns, hcall_ns, hcall_ns / getpid_ns);
	return 0;
}

static const struct {
	const char *name;
	int (*run)(void);
} tests[] = {
	{ "memory", test_memory },
	{ "unmap", test_unmap },
	{ "cow", test_cow },
	{ "remap", test_remap },
	{ "migrate", test_migrate },
	{ "protection", test_protection },
	{ "shared-file", test_shared_file },
	{ "cycles", test_cycles },
	{ "threads", test_threads },
	{ "signal", test_signal },
	{ "kill", test_kill },
	{ "bad-address", test_bad_address },
	{ "rdtime", test_rdtime },
	{ "fp-vector", test_fp_vector },
	{ "misuse", test_misuse },
	{ "vmids", test_vmids },
	{ "bench", test_bench },
	{ "kick", test_kick },
};

int main(int argc, char **argv)
{
	unsigned int i;

	setvbuf(stdout, NULL, _IONBF, 0);
	for (i = 0; argc == 2 && i < sizeof(tests) / sizeof(tests[0]); i++)
		if (!strcmp(argv[1], tests[i].name))
			return tests[i].run();
	fprintf(stderr, "usage: rune_vs TEST\n");
	return 2;
}
