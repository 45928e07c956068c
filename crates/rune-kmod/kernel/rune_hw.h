/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The world-switch frame shared by rune_switch.S and C: the offsets are
 * written out here because an out-of-tree module has no asm-offsets, and
 * rune_vcpu.c checks each against the structure at build time.
 */
#ifndef _RUNE_HW_H
#define _RUNE_HW_H

#define RUNE_HW_GX		0	/* guest x0..x31 (x0 unused) */
#define RUNE_HW_HOST		256	/* host ra, sp, gp, tp, s0..s11 */
#define RUNE_HW_GUEST_SSTATUS	384
#define RUNE_HW_GUEST_HSTATUS	392
#define RUNE_HW_GUEST_PC	400
#define RUNE_HW_HOST_SSTATUS	408
#define RUNE_HW_HOST_HSTATUS	416
#define RUNE_HW_HOST_STVEC	424
#define RUNE_HW_HOST_SSCRATCH	432
#define RUNE_HW_SIZE		440

#define RUNE_FP_FCSR		256	/* struct rune_fp: after f0..f31 */

#ifndef __ASSEMBLY__
struct rune_fp;

struct rune_hw {
	unsigned long gx[32];
	unsigned long host[16];
	unsigned long guest_sstatus;
	unsigned long guest_hstatus;
	unsigned long guest_pc;
	unsigned long host_sstatus;
	unsigned long host_hstatus;
	unsigned long host_stvec;
	unsigned long host_sscratch;
};

/* rune_switch.S */
void rune_switch(struct rune_hw *hw);
void rune_fp_save(struct rune_fp *fp);
void rune_fp_restore(const struct rune_fp *fp);
#endif

#endif /* _RUNE_HW_H */
