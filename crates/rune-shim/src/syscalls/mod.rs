//! System call names and numbers per architecture, from the `syscalls` crate (generated from
//! the kernel's tables), never typed by hand; the families a rule may name; and what each
//! call's arguments are (`table`), and how each backend serves it (`service`).

mod family;
pub mod service;
pub mod table;

use std::fmt;
use std::str::FromStr;

pub use family::{Family, Paths, family, family_of};

/// The architectures a Rune policy is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arch {
    X86_64,
    Aarch64,
    Riscv64,
}

impl Arch {
    pub const ALL: [Arch; 3] = [Arch::X86_64, Arch::Aarch64, Arch::Riscv64];

    /// The kernel's number for `name` on this architecture, if the call exists there.
    pub fn number(self, name: &str) -> Option<u32> {
        let id = match self {
            Arch::X86_64 => syscalls::x86_64::Sysno::from_str(name).ok()?.id(),
            Arch::Aarch64 => syscalls::aarch64::Sysno::from_str(name).ok()?.id(),
            Arch::Riscv64 => syscalls::riscv64::Sysno::from_str(name).ok()?.id(),
        };
        u32::try_from(id).ok()
    }

    pub fn has(self, name: &str) -> bool {
        self.number(name).is_some()
    }

    /// The name of call `nr` on this architecture.
    pub fn name(self, nr: i32) -> Option<&'static str> {
        let nr = usize::try_from(nr).ok()?;
        Some(match self {
            Arch::X86_64 => syscalls::x86_64::Sysno::new(nr)?.name(),
            Arch::Aarch64 => syscalls::aarch64::Sysno::new(nr)?.name(),
            Arch::Riscv64 => syscalls::riscv64::Sysno::new(nr)?.name(),
        })
    }

    /// Every call of this architecture, by name and number.
    pub fn calls(self) -> Vec<(&'static str, u32)> {
        fn all<T: Copy>(
            iter: impl Iterator<Item = T>,
            name: fn(&T) -> &'static str,
            id: fn(&T) -> i32,
        ) -> Vec<(&'static str, u32)> {
            iter.map(|s| (name(&s), id(&s) as u32)).collect()
        }
        match self {
            Arch::X86_64 => all(syscalls::x86_64::Sysno::iter(), |s| s.name(), |s| s.id()),
            Arch::Aarch64 => all(syscalls::aarch64::Sysno::iter(), |s| s.name(), |s| s.id()),
            Arch::Riscv64 => all(syscalls::riscv64::Sysno::iter(), |s| s.name(), |s| s.id()),
        }
    }

    /// The architecture this program was built for, if Rune supports it.
    pub const fn native() -> Option<Arch> {
        if cfg!(target_arch = "x86_64") {
            Some(Arch::X86_64)
        } else if cfg!(target_arch = "aarch64") {
            Some(Arch::Aarch64)
        } else if cfg!(target_arch = "riscv64") {
            Some(Arch::Riscv64)
        } else {
            None
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
            Arch::Riscv64 => "riscv64",
        })
    }
}

/// Whether `name` is a system call on any architecture Rune supports.
pub fn known(name: &str) -> bool {
    Arch::ALL.iter().any(|a| a.has(name))
}

/// Errno names (`EACCES`) to numbers, from the same generated tables.
pub fn errno(name: &str) -> Option<i32> {
    (1..4096)
        .map(syscalls::Errno::new)
        .find(|e| e.name() == Some(name))
        .map(syscalls::Errno::into_raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_come_from_the_kernel() {
        assert_eq!(Arch::X86_64.number("openat"), Some(257));
        assert_eq!(Arch::Aarch64.number("openat"), Some(56));
        assert_eq!(Arch::Riscv64.number("openat"), Some(56));
        // x86_64 has open(2); the generic table of aarch64 and riscv64 does not.
        assert!(Arch::X86_64.has("open"));
        assert!(!Arch::Riscv64.has("open"));
        assert!(known("open") && !known("opne"));
    }

    #[test]
    fn errno_names() {
        assert_eq!(errno("EACCES"), Some(13));
        assert_eq!(errno("EPERM"), Some(1));
        assert_eq!(errno("ENOPE"), None);
    }
}
