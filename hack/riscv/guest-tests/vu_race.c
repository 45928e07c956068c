// SPDX-License-Identifier: GPL-2.0
/*
 * A racing peer against the check of an iovec: `vu_race peer FILE` maps FILE shared and,
 * while the program says go, keeps flipping the program's iovec base between its buffer and
 * another address; `vu_race readv|writev FILE decoy|shim N` does N readv or writev calls through
 * that iovec. With "decoy" the other address is a second buffer of the program's own (the
 * native positive control: the kernel follows the flip, some calls land in the decoy); with
 * "shim" it is the shim's text (under VS-mode the kernel must never read or write there: any
 * call that did prints LEAKED or REDIRECTED and exits 1). Prints "N calls, R redirected".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

/* An iovec (base, len) the peer rewrites, then the peer's controls. */
struct shared {
	struct {
		volatile unsigned long base;
		unsigned long len;
	} iov;
	volatile unsigned long go;
	volatile unsigned long valid;
	volatile unsigned long evil;
	volatile unsigned long peer_ready;
	/* calls the program has completed, for the test to read after a kill */
	volatile unsigned long done;
};

static char buf[64], decoy[64];

static struct shared *map(const char *file)
{
	int fd = open(file, O_RDWR | O_CREAT, 0600);
	void *p;

	if (fd < 0 || ftruncate(fd, 4096)) {
		perror(file);
		exit(2);
	}
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	return p;
}

static unsigned long shim_text(void)
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
	return start + 4096;
}

static int peer(struct shared *s)
{
	unsigned long n = 0;

	s->peer_ready = 1;
	for (;;) {
		if (!s->go || !s->valid) {
			if (++n > 2000000000UL)
				return 0;
			continue;
		}
		/* briefly wrong, mostly right: many calls pass the check between flips */
		s->iov.base = s->evil;
		for (volatile int i = 0; i < 8; i++)
			;
		s->iov.base = s->valid;
		for (volatile int i = 0; i < 400; i++)
			;
	}
}

int main(int argc, char **argv)
{
	struct shared *s;
	int p[2], n, i, redirected = 0;
	char out[64];
	long r;

	if (argc < 3)
		return 2;
	s = map(argv[2]);
	if (!strcmp(argv[1], "peer"))
		return peer(s);
	if (argc < 5)
		return 2;
	n = atoi(argv[4]);
	if (pipe(p))
		return 2;
	while (!s->peer_ready)
		;
	s->iov.base = (unsigned long)buf;
	s->iov.len = sizeof(buf);
	s->evil = !strcmp(argv[3], "shim") ? shim_text() : (unsigned long)decoy;
	s->valid = (unsigned long)buf;
	s->go = 1;
	for (i = 0; i < n; i++) {
		s->done = i;
		memset(buf, 'A', sizeof(buf));
		memset(decoy, 'D', sizeof(decoy));
		if (!strcmp(argv[1], "writev")) {
			r = writev(p[1], (struct iovec *)&s->iov, 1);
			if (r != sizeof(buf) || read(p[0], out, sizeof(out)) != sizeof(out))
				goto touched;
			if (memcmp(out, buf, sizeof(out))) {
				if (!memcmp(out, decoy, sizeof(out))) {
					redirected++;
					continue;
				}
				printf("LEAKED: writev wrote bytes from elsewhere\n");
				goto fail;
			}
		} else {
			memset(out, 'R', sizeof(out));
			if (write(p[1], out, sizeof(out)) != sizeof(out))
				return 2;
			memset(buf, 0, sizeof(buf));
			r = readv(p[0], (struct iovec *)&s->iov, 1);
			if (r != sizeof(buf))
				goto touched;
			if (memcmp(out, buf, sizeof(out))) {
				if (!memcmp(out, decoy, sizeof(out))) {
					redirected++;
					continue;
				}
				printf("REDIRECTED: readv wrote elsewhere\n");
				goto fail;
			}
		}
	}
	s->go = 0;
	s->done = n;
	printf("%d calls, %d redirected\n", n, redirected);
	return 0;
touched:
	printf("REDIRECTED: %s returned %ld (%s): the kernel reached for another address\n",
	       argv[1], r, r < 0 ? strerror(errno) : "short");
fail:
	s->go = 0;
	return 1;
}
