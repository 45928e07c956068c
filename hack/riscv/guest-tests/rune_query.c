// SPDX-License-Identifier: GPL-2.0
/*
 * Queries /dev/rune and checks what it reports: the ABI version, the H extension, G-stage
 * modes and VMID bits. With --expect-no-h, the hart has no H extension: the query still works
 * and says so, and everything else fails with ENODEV.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../../../crates/rune-kmod/include/uapi/linux/rune.h"

int main(int argc, char **argv)
{
	int no_h = argc > 1 && !strcmp(argv[1], "--expect-no-h");
	struct rune_info info;
	int fd = open("/dev/rune", O_RDWR);

	if (fd < 0) {
		perror("open /dev/rune");
		return 1;
	}
	if (ioctl(fd, RUNE_IOC_QUERY, &info)) {
		perror("RUNE_IOC_QUERY");
		return 1;
	}
	printf("abi %u flags %#x gstage %#x vmid_bits %u\n", info.abi_version, info.flags,
	       info.gstage_modes, info.vmid_bits);
	if (info.abi_version != RUNE_ABI_VERSION)
		return 1;
	if (no_h) {
		/* Any other request is refused cleanly. */
		if (info.flags & RUNE_INFO_H)
			return 1;
		if (ioctl(fd, _IO(RUNE_IOC_MAGIC, 99)) != -1 || errno != ENODEV) {
			printf("expected ENODEV, got %d\n", errno);
			return 1;
		}
		return 0;
	}
	/* QEMU 10's rv64 with H: Sv39x4, Sv48x4 and Sv57x4, 14 VMID bits. */
	if (!(info.flags & RUNE_INFO_H) || !(info.gstage_modes & (1U << RUNE_GSTAGE_SV39X4)) ||
	    info.vmid_bits == 0)
		return 1;
	return 0;
}
