/* A second thread swaps the path buffer between an allowed and a denied file while the main
 * thread opens it N times. Prints how often each file's content was read. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char buf[256];

static const char *allowed, *denied;
static volatile int stop;

/*
 * Each name stays whole for about a microsecond: back-to-back copies leave the denied name in
 * place for a few instructions only, and whether a native open ever sees it then depends on
 * the CPU's string routines (a CI machine once saw none in 30000 opens). Held, it is read about
 * half the time natively, and still changes many times during one supervised call.
 */
static void hold(void)
{
	for (volatile int i = 0; i < 300; i++)
		;
}

static void *flip(void *arg)
{
	(void)arg;
	while (!stop) {
		strcpy(buf, denied);
		hold();
		strcpy(buf, allowed);
		hold();
	}
	return NULL;
}

int main(int argc, char **argv)
{
	long n = atol(argv[3]), got_denied = 0, got_allowed = 0, failed = 0;
	pthread_t t;
	char want[64];

	allowed = argv[1];
	denied = argv[2];
	/* Same length, so the buffer always holds one whole path or the other. */
	if (strlen(allowed) != strlen(denied))
		return 2;
	strcpy(buf, allowed);
	pthread_create(&t, NULL, flip, NULL);
	for (long i = 0; i < n; i++) {
		int fd = open(buf, O_RDONLY);
		ssize_t r;

		if (fd < 0) {
			failed++;
			continue;
		}
		r = read(fd, want, sizeof(want) - 1);
		close(fd);
		if (r > 0 && !strncmp(want, "DENIED", 6))
			got_denied++;
		else
			got_allowed++;
	}
	stop = 1;
	pthread_join(t, NULL);
	printf("denied %ld allowed %ld failed %ld\n", got_denied, got_allowed, failed);
	return 0;
}
