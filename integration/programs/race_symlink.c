/* A second process swaps a symlink between an allowed and a denied target (rename over it)
 * while this one opens the link N times. Prints how often each file's content was read. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *allowed = argv[1], *denied = argv[2], *link = argv[3];
	long n = atol(argv[4]), got_denied = 0, got_allowed = 0, failed = 0;
	char tmp[4096], want[64];
	pid_t child;

	snprintf(tmp, sizeof(tmp), "%s.new", link);
	unlink(link);
	symlink(allowed, link);
	child = fork();
	if (child == 0) {
		for (;;) {
			unlink(tmp);
			symlink(denied, tmp);
			rename(tmp, link);
			unlink(tmp);
			symlink(allowed, tmp);
			rename(tmp, link);
		}
	}
	for (long i = 0; i < n; i++) {
		int fd = open(link, O_RDONLY);
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
	kill(child, SIGKILL);
	printf("denied %ld allowed %ld failed %ld\n", got_denied, got_allowed, failed);
	return 0;
}
