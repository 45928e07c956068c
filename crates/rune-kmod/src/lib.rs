//! The `/dev/rune` ABI (`include/uapi/linux/rune.h`), mirrored for the shim. The layout is
//! checked at compile time, and a test reads the header so the two cannot drift apart.
#![no_std]

pub const RUNE_ABI_VERSION: u32 = 1;

/// `rune_info.flags`: the hart has the hypervisor extension.
pub const RUNE_INFO_H: u32 = 1 << 0;

/// `rune_info.gstage_modes`: bit N is set when `hgatp.MODE = N` is accepted.
pub const RUNE_GSTAGE_SV39X4: u32 = 8;
pub const RUNE_GSTAGE_SV48X4: u32 = 9;
pub const RUNE_GSTAGE_SV57X4: u32 = 10;

#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuneInfo {
    pub abi_version: u32,
    pub flags: u32,
    pub gstage_modes: u32,
    pub vmid_bits: u32,
}

const _: () = {
    assert!(core::mem::size_of::<RuneInfo>() == 16);
    assert!(core::mem::offset_of!(RuneInfo, abi_version) == 0);
    assert!(core::mem::offset_of!(RuneInfo, flags) == 4);
    assert!(core::mem::offset_of!(RuneInfo, gstage_modes) == 8);
    assert!(core::mem::offset_of!(RuneInfo, vmid_bits) == 12);
};

pub const RUNE_IOC_MAGIC: u32 = 0xb5;

/// Linux's generic `_IOR(type, nr, size)` (riscv64 and x86_64 share it).
const fn ior(ty: u32, nr: u32, size: usize) -> u32 {
    (2 << 30) | ((size as u32) << 16) | (ty << 8) | nr
}

pub const RUNE_IOC_QUERY: u32 = ior(RUNE_IOC_MAGIC, 0, core::mem::size_of::<RuneInfo>());

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn mirrors_the_header() {
        assert_eq!(
            define("RUNE_ABI_VERSION ").parse::<u32>().unwrap(),
            RUNE_ABI_VERSION
        );
        assert_eq!(
            define("RUNE_GSTAGE_SV39X4 ").parse::<u32>().unwrap(),
            RUNE_GSTAGE_SV39X4
        );
        assert_eq!(
            define("RUNE_GSTAGE_SV57X4 ").parse::<u32>().unwrap(),
            RUNE_GSTAGE_SV57X4
        );
        assert_eq!(define("RUNE_IOC_MAGIC "), "0xb5");
        assert!(HEADER.contains("struct rune_info {\n\t__u32 abi_version;\n\t__u32 flags;\n\t__u32 gstage_modes;\n\t__u32 vmid_bits;\n};"));
        assert_eq!(RUNE_IOC_QUERY, 0x8010_b500);
    }
}
