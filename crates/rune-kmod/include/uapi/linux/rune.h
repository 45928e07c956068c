/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * /dev/rune: run a process in RISC-V VS-mode, Dune-style.
 *
 * The ABI is versioned: RUNE_IOC_QUERY reports RUNE_ABI_VERSION, and a
 * change to any structure below changes it.
 */
#ifndef _UAPI_LINUX_RUNE_H
#define _UAPI_LINUX_RUNE_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define RUNE_ABI_VERSION 1

/* rune_info.flags */
#define RUNE_INFO_H (1U << 0)	/* the hart has the hypervisor extension */

/* rune_info.gstage_modes: bit N set when hgatp.MODE = N is accepted */
#define RUNE_GSTAGE_SV39X4 8
#define RUNE_GSTAGE_SV48X4 9
#define RUNE_GSTAGE_SV57X4 10

struct rune_info {
	__u32 abi_version;
	__u32 flags;
	__u32 gstage_modes;
	__u32 vmid_bits;
};

#define RUNE_IOC_MAGIC 0xb5
#define RUNE_IOC_QUERY _IOR(RUNE_IOC_MAGIC, 0, struct rune_info)

#endif /* _UAPI_LINUX_RUNE_H */
