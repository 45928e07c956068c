//! The VS-mode side of the runtime: the trap vector the program's `ecall`s and faults land on
//! (vstvec), in VS-mode, on a VS-only frame reached through `vsscratch` with `tp` swapped. It
//! saves the program's registers and CSRs into the frame and leaves by hypercall; the process
//! serves the trap and re-enters past the hypercall, where the vector restores the program and
//! returns to VU-mode with `sret`. Calls whose answer the policy fixes (an emulation or a
//! denial without an event) are answered by the vector itself, without leaving VS-mode. The code sits on pages of its own, mapped without the U bit.
#![allow(unsafe_code)]

/// `a7` of the hypercall the vector makes: "the program trapped; see the frame".
pub const HCALL_TRAP: u64 = 0x5254_5250;
/// `a7` of the hypercall for a trap inside the vector itself.
pub const HCALL_HANDLER_FAULT: u64 = 0x5254_4846;

/// `a7` of the hypercall of the probe entry that reads back vsatp.
pub const HCALL_PROBE: u64 = 0x5254_5042;

/// Frame layout, in u64 words: x0..x31 (x0 unused), then these (and sstatus at 35).
pub const F_PC: usize = super::signal::F_PC;
pub const F_CAUSE: usize = 33;
pub const F_TVAL: usize = 34;
/// The fast-path table: `FAST_CALLS` entries of (1 = answer with the value, value).
pub const F_FAST: usize = 36;
pub const FAST_CALLS: u64 = 512;

std::arch::global_asm!(
    ".pushsection .text.rune_vs, \"ax\"",
    ".balign 4096",
    ".globl rune_vs_vector",
    "rune_vs_vector:",
    "  csrrw tp, sscratch, tp",
    // sscratch is 0 while the vector runs: a trap now is a trap inside the handler.
    "  beqz tp, 2f",
    "  sd t0, 40(tp)",
    "  sd t1, 48(tp)",
    "  csrr t0, sscratch",
    "  sd t0, 32(tp)",
    "  csrw sscratch, zero",
    // The fast path: a U-mode ecall whose answer the policy fixes, answered right here.
    "  csrr t0, scause",
    "  li t1, 8",
    "  bne t0, t1, 1f",
    "  li t1, 512",
    "  bgeu a7, t1, 1f",
    "  ld t1, 288(tp)",
    "  slli t0, a7, 4",
    "  add t1, t1, t0",
    "  ld t0, 0(t1)",
    "  beqz t0, 1f",
    "  ld a0, 8(t1)",
    "  csrr t0, sepc",
    "  addi t0, t0, 4",
    "  csrw sepc, t0",
    "  ld t0, 32(tp)",
    "  csrw sscratch, t0",
    "  ld t0, 40(tp)",
    "  ld t1, 48(tp)",
    "  csrrw tp, sscratch, tp",
    "  sret",
    // Everything else goes to the process.
    "1:",
    "  sd ra, 8(tp)",
    "  sd sp, 16(tp)",
    "  sd gp, 24(tp)",
    "  sd t2, 56(tp)",
    "  sd s0, 64(tp)",
    "  sd s1, 72(tp)",
    "  sd a0, 80(tp)",
    "  sd a1, 88(tp)",
    "  sd a2, 96(tp)",
    "  sd a3, 104(tp)",
    "  sd a4, 112(tp)",
    "  sd a5, 120(tp)",
    "  sd a6, 128(tp)",
    "  sd a7, 136(tp)",
    "  sd s2, 144(tp)",
    "  sd s3, 152(tp)",
    "  sd s4, 160(tp)",
    "  sd s5, 168(tp)",
    "  sd s6, 176(tp)",
    "  sd s7, 184(tp)",
    "  sd s8, 192(tp)",
    "  sd s9, 200(tp)",
    "  sd s10, 208(tp)",
    "  sd s11, 216(tp)",
    "  sd t3, 224(tp)",
    "  sd t4, 232(tp)",
    "  sd t5, 240(tp)",
    "  sd t6, 248(tp)",
    "  csrr t0, sepc",
    "  sd t0, 256(tp)",
    "  csrr t0, scause",
    "  sd t0, 264(tp)",
    "  csrr t0, stval",
    "  sd t0, 272(tp)",
    "  csrr t0, sstatus",
    "  sd t0, 280(tp)",
    "  li a7, 0x52545250",
    "  ecall",
    // The process has served the trap and updated the frame (and maybe the page table).
    "  sfence.vma",
    "  ld t0, 256(tp)",
    "  csrw sepc, t0",
    "  ld t0, 32(tp)",
    "  csrw sscratch, t0",
    "  ld ra, 8(tp)",
    "  ld sp, 16(tp)",
    "  ld gp, 24(tp)",
    "  ld t0, 40(tp)",
    "  ld t1, 48(tp)",
    "  ld t2, 56(tp)",
    "  ld s0, 64(tp)",
    "  ld s1, 72(tp)",
    "  ld a0, 80(tp)",
    "  ld a1, 88(tp)",
    "  ld a2, 96(tp)",
    "  ld a3, 104(tp)",
    "  ld a4, 112(tp)",
    "  ld a5, 120(tp)",
    "  ld a6, 128(tp)",
    "  ld a7, 136(tp)",
    "  ld s2, 144(tp)",
    "  ld s3, 152(tp)",
    "  ld s4, 160(tp)",
    "  ld s5, 168(tp)",
    "  ld s6, 176(tp)",
    "  ld s7, 184(tp)",
    "  ld s8, 192(tp)",
    "  ld s9, 200(tp)",
    "  ld s10, 208(tp)",
    "  ld s11, 216(tp)",
    "  ld t3, 224(tp)",
    "  ld t4, 232(tp)",
    "  ld t5, 240(tp)",
    "  ld t6, 248(tp)",
    "  csrrw tp, sscratch, tp",
    "  sret",
    // A trap inside the handler: nothing in it can be trusted; leave for good.
    "2:",
    "  li a7, 0x52544846",
    "  ecall",
    "  j 2b",
    // The probe of the VS-stage mode (vsatp.rs): entered alone, it only leaves.
    ".globl rune_vs_probe",
    "rune_vs_probe:",
    "  li a7, 0x52545042",
    "  ecall",
    "  j rune_vs_probe",
    ".balign 4096",
    ".globl rune_vs_vector_end",
    "rune_vs_vector_end:",
    ".popsection",
);

// SAFETY: the three symbols are defined by the assembly above; they are only ever used as
// addresses, never called from the host.
unsafe extern "C" {
    fn rune_vs_vector();
    fn rune_vs_vector_end();
    fn rune_vs_probe();
}

/// Where the probe entry starts (on the vector's pages).
pub fn probe_pc() -> u64 {
    rune_vs_probe as *const () as u64
}

/// The vector's first and one-past-last address (whole pages).
pub fn vector_pages() -> (u64, u64) {
    (
        rune_vs_vector as *const () as u64,
        rune_vs_vector_end as *const () as u64,
    )
}
