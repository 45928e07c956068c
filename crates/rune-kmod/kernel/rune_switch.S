/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The world switch: from the host kernel into the guest (sret with
 * hstatus.SPV set) and back on the next trap, which lands on rune_trap
 * because stvec points there while the guest runs. Interrupts are off on
 * both sides; C reads scause, stval, htval and htinst after the return.
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/csr.h>

#include "rune_hw.h"

	.text
	.option norelax

SYM_FUNC_START(rune_switch)
	/* a0: struct rune_hw; the host keeps only what the C ABI says it must */
	REG_S	ra, (RUNE_HW_HOST + 0)(a0)
	REG_S	sp, (RUNE_HW_HOST + 8)(a0)
	REG_S	gp, (RUNE_HW_HOST + 16)(a0)
	REG_S	tp, (RUNE_HW_HOST + 24)(a0)
	REG_S	s0, (RUNE_HW_HOST + 32)(a0)
	REG_S	s1, (RUNE_HW_HOST + 40)(a0)
	REG_S	s2, (RUNE_HW_HOST + 48)(a0)
	REG_S	s3, (RUNE_HW_HOST + 56)(a0)
	REG_S	s4, (RUNE_HW_HOST + 64)(a0)
	REG_S	s5, (RUNE_HW_HOST + 72)(a0)
	REG_S	s6, (RUNE_HW_HOST + 80)(a0)
	REG_S	s7, (RUNE_HW_HOST + 88)(a0)
	REG_S	s8, (RUNE_HW_HOST + 96)(a0)
	REG_S	s9, (RUNE_HW_HOST + 104)(a0)
	REG_S	s10, (RUNE_HW_HOST + 112)(a0)
	REG_S	s11, (RUNE_HW_HOST + 120)(a0)

	REG_L	t0, RUNE_HW_GUEST_SSTATUS(a0)
	REG_L	t1, RUNE_HW_GUEST_HSTATUS(a0)
	REG_L	t2, RUNE_HW_GUEST_PC(a0)
	la	t3, rune_trap
	csrrw	t0, CSR_SSTATUS, t0
	csrrw	t1, CSR_HSTATUS, t1
	csrrw	t3, CSR_STVEC, t3
	csrrw	t4, CSR_SSCRATCH, a0
	csrw	CSR_SEPC, t2
	REG_S	t0, RUNE_HW_HOST_SSTATUS(a0)
	REG_S	t1, RUNE_HW_HOST_HSTATUS(a0)
	REG_S	t3, RUNE_HW_HOST_STVEC(a0)
	REG_S	t4, RUNE_HW_HOST_SSCRATCH(a0)

	/* the guest's registers, a0 last */
	REG_L	ra, (RUNE_HW_GX + 8)(a0)
	REG_L	sp, (RUNE_HW_GX + 16)(a0)
	REG_L	gp, (RUNE_HW_GX + 24)(a0)
	REG_L	tp, (RUNE_HW_GX + 32)(a0)
	REG_L	t0, (RUNE_HW_GX + 40)(a0)
	REG_L	t1, (RUNE_HW_GX + 48)(a0)
	REG_L	t2, (RUNE_HW_GX + 56)(a0)
	REG_L	s0, (RUNE_HW_GX + 64)(a0)
	REG_L	s1, (RUNE_HW_GX + 72)(a0)
	REG_L	a1, (RUNE_HW_GX + 88)(a0)
	REG_L	a2, (RUNE_HW_GX + 96)(a0)
	REG_L	a3, (RUNE_HW_GX + 104)(a0)
	REG_L	a4, (RUNE_HW_GX + 112)(a0)
	REG_L	a5, (RUNE_HW_GX + 120)(a0)
	REG_L	a6, (RUNE_HW_GX + 128)(a0)
	REG_L	a7, (RUNE_HW_GX + 136)(a0)
	REG_L	s2, (RUNE_HW_GX + 144)(a0)
	REG_L	s3, (RUNE_HW_GX + 152)(a0)
	REG_L	s4, (RUNE_HW_GX + 160)(a0)
	REG_L	s5, (RUNE_HW_GX + 168)(a0)
	REG_L	s6, (RUNE_HW_GX + 176)(a0)
	REG_L	s7, (RUNE_HW_GX + 184)(a0)
	REG_L	s8, (RUNE_HW_GX + 192)(a0)
	REG_L	s9, (RUNE_HW_GX + 200)(a0)
	REG_L	s10, (RUNE_HW_GX + 208)(a0)
	REG_L	s11, (RUNE_HW_GX + 216)(a0)
	REG_L	t3, (RUNE_HW_GX + 224)(a0)
	REG_L	t4, (RUNE_HW_GX + 232)(a0)
	REG_L	t5, (RUNE_HW_GX + 240)(a0)
	REG_L	t6, (RUNE_HW_GX + 248)(a0)
	REG_L	a0, (RUNE_HW_GX + 80)(a0)
	sret

	/* stvec needs 4-byte alignment (direct mode) */
	.align 2
rune_trap:
	csrrw	a0, CSR_SSCRATCH, a0
	REG_S	ra, (RUNE_HW_GX + 8)(a0)
	REG_S	sp, (RUNE_HW_GX + 16)(a0)
	REG_S	gp, (RUNE_HW_GX + 24)(a0)
	REG_S	tp, (RUNE_HW_GX + 32)(a0)
	REG_S	t0, (RUNE_HW_GX + 40)(a0)
	REG_S	t1, (RUNE_HW_GX + 48)(a0)
	REG_S	t2, (RUNE_HW_GX + 56)(a0)
	REG_S	s0, (RUNE_HW_GX + 64)(a0)
	REG_S	s1, (RUNE_HW_GX + 72)(a0)
	REG_S	a1, (RUNE_HW_GX + 88)(a0)
	REG_S	a2, (RUNE_HW_GX + 96)(a0)
	REG_S	a3, (RUNE_HW_GX + 104)(a0)
	REG_S	a4, (RUNE_HW_GX + 112)(a0)
	REG_S	a5, (RUNE_HW_GX + 120)(a0)
	REG_S	a6, (RUNE_HW_GX + 128)(a0)
	REG_S	a7, (RUNE_HW_GX + 136)(a0)
	REG_S	s2, (RUNE_HW_GX + 144)(a0)
	REG_S	s3, (RUNE_HW_GX + 152)(a0)
	REG_S	s4, (RUNE_HW_GX + 160)(a0)
	REG_S	s5, (RUNE_HW_GX + 168)(a0)
	REG_S	s6, (RUNE_HW_GX + 176)(a0)
	REG_S	s7, (RUNE_HW_GX + 184)(a0)
	REG_S	s8, (RUNE_HW_GX + 192)(a0)
	REG_S	s9, (RUNE_HW_GX + 200)(a0)
	REG_S	s10, (RUNE_HW_GX + 208)(a0)
	REG_S	s11, (RUNE_HW_GX + 216)(a0)
	REG_S	t3, (RUNE_HW_GX + 224)(a0)
	REG_S	t4, (RUNE_HW_GX + 232)(a0)
	REG_S	t5, (RUNE_HW_GX + 240)(a0)
	REG_S	t6, (RUNE_HW_GX + 248)(a0)
	csrr	t0, CSR_SSCRATCH
	REG_S	t0, (RUNE_HW_GX + 80)(a0)
	csrr	t0, CSR_SEPC
	REG_S	t0, RUNE_HW_GUEST_PC(a0)

	REG_L	t0, RUNE_HW_HOST_SSTATUS(a0)
	REG_L	t1, RUNE_HW_HOST_HSTATUS(a0)
	REG_L	t2, RUNE_HW_HOST_STVEC(a0)
	REG_L	t3, RUNE_HW_HOST_SSCRATCH(a0)
	csrrw	t0, CSR_SSTATUS, t0
	csrrw	t1, CSR_HSTATUS, t1
	csrw	CSR_STVEC, t2
	csrw	CSR_SSCRATCH, t3
	REG_S	t0, RUNE_HW_GUEST_SSTATUS(a0)
	REG_S	t1, RUNE_HW_GUEST_HSTATUS(a0)

	REG_L	ra, (RUNE_HW_HOST + 0)(a0)
	REG_L	sp, (RUNE_HW_HOST + 8)(a0)
	REG_L	gp, (RUNE_HW_HOST + 16)(a0)
	REG_L	tp, (RUNE_HW_HOST + 24)(a0)
	REG_L	s0, (RUNE_HW_HOST + 32)(a0)
	REG_L	s1, (RUNE_HW_HOST + 40)(a0)
	REG_L	s2, (RUNE_HW_HOST + 48)(a0)
	REG_L	s3, (RUNE_HW_HOST + 56)(a0)
	REG_L	s4, (RUNE_HW_HOST + 64)(a0)
	REG_L	s5, (RUNE_HW_HOST + 72)(a0)
	REG_L	s6, (RUNE_HW_HOST + 80)(a0)
	REG_L	s7, (RUNE_HW_HOST + 88)(a0)
	REG_L	s8, (RUNE_HW_HOST + 96)(a0)
	REG_L	s9, (RUNE_HW_HOST + 104)(a0)
	REG_L	s10, (RUNE_HW_HOST + 112)(a0)
	REG_L	s11, (RUNE_HW_HOST + 120)(a0)
	ret
SYM_FUNC_END(rune_switch)

/* The caller turns sstatus.FS on around these. */
SYM_FUNC_START(rune_fp_save)
	fsd	f0, 0(a0)
	fsd	f1, 8(a0)
	fsd	f2, 16(a0)
	fsd	f3, 24(a0)
	fsd	f4, 32(a0)
	fsd	f5, 40(a0)
	fsd	f6, 48(a0)
	fsd	f7, 56(a0)
	fsd	f8, 64(a0)
	fsd	f9, 72(a0)
	fsd	f10, 80(a0)
	fsd	f11, 88(a0)
	fsd	f12, 96(a0)
	fsd	f13, 104(a0)
	fsd	f14, 112(a0)
	fsd	f15, 120(a0)
	fsd	f16, 128(a0)
	fsd	f17, 136(a0)
	fsd	f18, 144(a0)
	fsd	f19, 152(a0)
	fsd	f20, 160(a0)
	fsd	f21, 168(a0)
	fsd	f22, 176(a0)
	fsd	f23, 184(a0)
	fsd	f24, 192(a0)
	fsd	f25, 200(a0)
	fsd	f26, 208(a0)
	fsd	f27, 216(a0)
	fsd	f28, 224(a0)
	fsd	f29, 232(a0)
	fsd	f30, 240(a0)
	fsd	f31, 248(a0)
	frcsr	t0
	REG_S	t0, RUNE_FP_FCSR(a0)
	ret
SYM_FUNC_END(rune_fp_save)

SYM_FUNC_START(rune_fp_restore)
	fld	f0, 0(a0)
	fld	f1, 8(a0)
	fld	f2, 16(a0)
	fld	f3, 24(a0)
	fld	f4, 32(a0)
	fld	f5, 40(a0)
	fld	f6, 48(a0)
	fld	f7, 56(a0)
	fld	f8, 64(a0)
	fld	f9, 72(a0)
	fld	f10, 80(a0)
	fld	f11, 88(a0)
	fld	f12, 96(a0)
	fld	f13, 104(a0)
	fld	f14, 112(a0)
	fld	f15, 120(a0)
	fld	f16, 128(a0)
	fld	f17, 136(a0)
	fld	f18, 144(a0)
	fld	f19, 152(a0)
	fld	f20, 160(a0)
	fld	f21, 168(a0)
	fld	f22, 176(a0)
	fld	f23, 184(a0)
	fld	f24, 192(a0)
	fld	f25, 200(a0)
	fld	f26, 208(a0)
	fld	f27, 216(a0)
	fld	f28, 224(a0)
	fld	f29, 232(a0)
	fld	f30, 240(a0)
	fld	f31, 248(a0)
	REG_L	t0, RUNE_FP_FCSR(a0)
	fscsr	t0
	ret
SYM_FUNC_END(rune_fp_restore)
