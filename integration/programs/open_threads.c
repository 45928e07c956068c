/* The concurrent case of the benchmarks: T threads, each N open+close of argv[3]. Prints the
 * wall time per open over all threads (start-up excluded): callers served one after another
 * cost T times what callers served at once do. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static long n;
static const char *path;
static int failed;

static long long now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void *opens(void *arg)
{
	(void)arg;
	for (long i = 0; i < n; i++) {
		int fd = open(path, O_RDONLY);

		if (fd < 0) {
			__atomic_store_n(&failed, 1, __ATOMIC_RELAXED);
			return NULL;
		}
		close(fd);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: open_threads THREADS N PATH\n");
		return 2;
	}
	int threads = atoi(argv[1]);
	pthread_t t[64];

	n = atol(argv[2]);
	path = argv[3];
	if (threads < 1 || threads > 64)
		return 2;
	long long start = now();

	for (int i = 0; i < threads; i++)
		if (pthread_create(&t[i], NULL, opens, NULL))
			return 1;
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	if (failed)
		return 1;
	printf("ns_per_call %.1f\n", (double)(now() - start) / ((double)n * threads));
	return 0;
}
