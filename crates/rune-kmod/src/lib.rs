//! The `/dev/rune` ABI (`include/uapi/linux/rune.h`), mirrored for the shim. The layout is
//! checked at compile time here, and a test compiles the C header and compares every size and
//! offset, so the two cannot drift apart.
#![no_std]

use core::mem::size_of;

pub const RUNE_ABI_VERSION: u32 = 3;

/// `rune_info.flags`: the hart has the hypervisor extension.
pub const RUNE_INFO_H: u32 = 1 << 0;

/// `rune_info.gstage_modes`: bit N is set when `hgatp.MODE = N` is accepted.
pub const RUNE_GSTAGE_SV39X4: u32 = 8;
pub const RUNE_GSTAGE_SV48X4: u32 = 9;
pub const RUNE_GSTAGE_SV57X4: u32 = 10;

/// `rune_regs.mode`: the virtual privilege a context runs in.
pub const RUNE_MODE_VU: u64 = 0;
pub const RUNE_MODE_VS: u64 = 1;

/// `rune_exit.reason`.
pub const RUNE_EXIT_HYPERCALL: u32 = 1;
pub const RUNE_EXIT_SIGNAL: u32 = 2;
pub const RUNE_EXIT_FAULT: u32 = 3;
pub const RUNE_EXIT_EXIT: u32 = 4;

/// `a7` of the VS `ecall` that asks to leave VS-mode (`RUNE_EXIT_EXIT`, code in `a0`).
pub const RUNE_HCALL_EXIT: u64 = 0x5275_6e65;

#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuneInfo {
    pub abi_version: u32,
    pub flags: u32,
    pub gstage_modes: u32,
    pub vmid_bits: u32,
    /// Bytes per vector register, 0 without V.
    pub vlenb: u32,
    pub reserved: u32,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuneRegs {
    pub pc: u64,
    /// `x[n - 1]` holds register `xn`.
    pub x: [u64; 31],
    pub mode: u64,
}

impl RuneRegs {
    /// Register `xn` (1..=31).
    pub fn get(&self, n: usize) -> u64 {
        self.x[n - 1]
    }

    pub fn set(&mut self, n: usize, value: u64) {
        self.x[n - 1] = value;
    }
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuneFp {
    pub f: [u64; 32],
    pub fcsr: u64,
}

/// The vector unit: `regs` is the address of `32 * vlenb` bytes, 0 to leave V off.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuneVector {
    pub vstart: u64,
    pub vl: u64,
    pub vtype: u64,
    pub vcsr: u64,
    pub regs: u64,
}

/// The supervisor CSRs the guest owns while it runs.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuneVsCsrs {
    pub vsstatus: u64,
    pub vsie: u64,
    pub vstvec: u64,
    pub vsscratch: u64,
    pub vsepc: u64,
    pub vscause: u64,
    pub vstval: u64,
    pub vsip: u64,
    pub vsatp: u64,
    pub scounteren: u64,
    pub senvcfg: u64,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuneExit {
    pub reason: u32,
    pub reserved: u32,
    pub scause: u64,
    pub stval: u64,
    pub htval: u64,
    pub htinst: u64,
    pub gpa: u64,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuneStats {
    pub entries: u64,
    pub interrupts: u64,
    pub gstage_faults: u64,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuneVcpuState {
    pub regs: RuneRegs,
    pub fp: RuneFp,
    pub vector: RuneVector,
    pub csrs: RuneVsCsrs,
    pub exit: RuneExit,
    pub stats: RuneStats,
}

/// Every structure's size and its fields' offsets, as the test compares them with C's.
#[macro_export]
#[doc(hidden)]
macro_rules! rune_layout {
    ($each:ident) => {
        $each!(
            RuneInfo,
            rune_info,
            abi_version,
            flags,
            gstage_modes,
            vmid_bits,
            vlenb,
            reserved
        );
        $each!(RuneRegs, rune_regs, pc, x, mode);
        $each!(RuneFp, rune_fp, f, fcsr);
        $each!(RuneVector, rune_vector, vstart, vl, vtype, vcsr, regs);
        $each!(
            RuneVsCsrs,
            rune_vs_csrs,
            vsstatus,
            vsie,
            vstvec,
            vsscratch,
            vsepc,
            vscause,
            vstval,
            vsip,
            vsatp,
            scounteren,
            senvcfg
        );
        $each!(
            RuneExit, rune_exit, reason, reserved, scause, stval, htval, htinst, gpa
        );
        $each!(RuneStats, rune_stats, entries, interrupts, gstage_faults);
        $each!(
            RuneVcpuState,
            rune_vcpu_state,
            regs,
            fp,
            vector,
            csrs,
            exit,
            stats
        );
    };
}

const _: () = {
    assert!(size_of::<RuneInfo>() == 24);
    assert!(size_of::<RuneRegs>() == 264);
    assert!(size_of::<RuneFp>() == 264);
    assert!(size_of::<RuneVector>() == 40);
    assert!(size_of::<RuneVsCsrs>() == 88);
    assert!(size_of::<RuneExit>() == 48);
    assert!(size_of::<RuneStats>() == 24);
    assert!(size_of::<RuneVcpuState>() == 728);
    assert!(core::mem::offset_of!(RuneVcpuState, exit) == 656);
};

pub const RUNE_IOC_MAGIC: u32 = 0xb5;

/// Linux's generic `_IOC(dir, type, nr, size)` (riscv64 and x86_64 share it).
const fn ioc(dir: u32, nr: u32, size: usize) -> u32 {
    (dir << 30) | ((size as u32) << 16) | (RUNE_IOC_MAGIC << 8) | nr
}
const IOC_NONE: u32 = 0;
const IOC_WRITE: u32 = 1;
const IOC_READ: u32 = 2;

/// On `/dev/rune`: what the hart offers.
pub const RUNE_IOC_QUERY: u32 = ioc(IOC_READ, 0, size_of::<RuneInfo>());
/// On `/dev/rune`: a VS context for the calling thread; returns its file descriptor.
pub const RUNE_IOC_CREATE: u32 = ioc(IOC_NONE, 1, 0);
/// On a context: run it from the given state until an exit; the state comes back.
pub const RUNE_IOC_ENTER: u32 = ioc(IOC_READ | IOC_WRITE, 2, size_of::<RuneVcpuState>());
/// On `/dev/rune`: a VS-stage fence of the process on every hart before it returns.
pub const RUNE_IOC_FENCE_VVMA: u32 = ioc(IOC_NONE, 3, 0);
/// On a context's file: the address of a u64 which, while nonzero, makes every entry raise
/// the VS software interrupt (the shim's doorbell for caught signals).
pub const RUNE_IOC_SET_KICK: u32 = ioc(IOC_WRITE, 4, size_of::<u64>());

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use std::format;
    use std::string::String;
    use std::vec::Vec;

    const HEADER: &str = include_str!("../include/uapi/linux/rune.h");

    fn define(name: &str) -> &'static str {
        HEADER
            .lines()
            .find_map(|l| {
                l.strip_prefix("#define ")?
                    .strip_prefix(name)?
                    .split_whitespace()
                    .next()
            })
            .unwrap_or_else(|| panic!("{name} not in rune.h"))
    }

    fn number(name: &str) -> u64 {
        let text = define(&format!("{name} "));
        match text.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).unwrap(),
            None => text.parse().unwrap(),
        }
    }

    #[test]
    fn constants_mirror_the_header() {
        assert_eq!(number("RUNE_ABI_VERSION"), u64::from(RUNE_ABI_VERSION));
        assert_eq!(number("RUNE_GSTAGE_SV39X4"), u64::from(RUNE_GSTAGE_SV39X4));
        assert_eq!(number("RUNE_GSTAGE_SV48X4"), u64::from(RUNE_GSTAGE_SV48X4));
        assert_eq!(number("RUNE_GSTAGE_SV57X4"), u64::from(RUNE_GSTAGE_SV57X4));
        assert_eq!(number("RUNE_MODE_VU"), RUNE_MODE_VU);
        assert_eq!(number("RUNE_MODE_VS"), RUNE_MODE_VS);
        assert_eq!(
            number("RUNE_EXIT_HYPERCALL"),
            u64::from(RUNE_EXIT_HYPERCALL)
        );
        assert_eq!(number("RUNE_EXIT_SIGNAL"), u64::from(RUNE_EXIT_SIGNAL));
        assert_eq!(number("RUNE_EXIT_FAULT"), u64::from(RUNE_EXIT_FAULT));
        assert_eq!(number("RUNE_EXIT_EXIT"), u64::from(RUNE_EXIT_EXIT));
        assert_eq!(number("RUNE_HCALL_EXIT"), RUNE_HCALL_EXIT);
        assert_eq!(number("RUNE_IOC_MAGIC"), u64::from(RUNE_IOC_MAGIC));
    }

    /// Compiles the header with the host's C compiler and compares sizes, offsets and ioctl
    /// numbers with the mirror (the types are fixed-width, so the layout is the target's too).
    #[test]
    fn layout_and_ioctls_match_the_compiled_header() {
        let mut lines: Vec<String> = Vec::new();
        let mut expected: Vec<String> = Vec::new();
        macro_rules! each {
            ($rust:ident, $c:ident, $($field:ident),+) => {
                lines.push(format!(
                    "printf(\"{} %zu\\n\", sizeof(struct {}));",
                    stringify!($c),
                    stringify!($c)
                ));
                expected.push(format!("{} {}", stringify!($c), size_of::<$rust>()));
                $(
                    lines.push(format!(
                        "printf(\"{}.{} %zu\\n\", offsetof(struct {}, {}));",
                        stringify!($c), stringify!($field), stringify!($c), stringify!($field)
                    ));
                    expected.push(format!(
                        "{}.{} {}",
                        stringify!($c),
                        stringify!($field),
                        core::mem::offset_of!($rust, $field)
                    ));
                )+
            };
        }
        rune_layout!(each);
        for (name, value) in [
            ("RUNE_IOC_QUERY", RUNE_IOC_QUERY),
            ("RUNE_IOC_CREATE", RUNE_IOC_CREATE),
            ("RUNE_IOC_ENTER", RUNE_IOC_ENTER),
            ("RUNE_IOC_FENCE_VVMA", RUNE_IOC_FENCE_VVMA),
            ("RUNE_IOC_SET_KICK", RUNE_IOC_SET_KICK),
        ] {
            lines.push(format!("printf(\"{name} %lu\\n\", (unsigned long){name});"));
            expected.push(format!("{name} {value}"));
        }
        let dir = std::env::temp_dir().join(format!("rune-kmod-layout-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let source = dir.join("layout.c");
        let program = dir.join("layout");
        std::fs::write(
            &source,
            format!(
                "#include <stddef.h>\n#include <stdio.h>\n#include \"{}/include/uapi/linux/rune.h\"\nint main(void) {{\n{}\nreturn 0;\n}}\n",
                env!("CARGO_MANIFEST_DIR"),
                lines.join("\n")
            ),
        )
        .unwrap();
        let cc = std::process::Command::new("cc")
            .arg("-o")
            .arg(&program)
            .arg(&source)
            .status()
            .expect("cc runs");
        assert!(cc.success(), "the header does not compile");
        let out = std::process::Command::new(&program).output().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let got = String::from_utf8(out.stdout).unwrap();
        assert_eq!(got.lines().collect::<Vec<_>>(), expected);
    }
}
