//! Which memory and which descriptors a forwarded system call makes the kernel touch, derived
//! from the system-call table (`syscalls::table`). The kernel runs a forwarded call with the
//! shim's whole address space and descriptor table in reach, so every buffer, string and
//! vector a call names is checked against the program's own pages first (`marshal.rs`, which
//! also copies what the kernel reads), and every descriptor against the shim's own; a call the
//! table does not describe is refused rather than forwarded unchecked.

use super::memory::ProgramMemory;
use crate::syscalls::Arch;
use crate::syscalls::table::{self, Arg};

/// The architecture VS-mode runs programs of.
pub const ARCH: Arch = Arch::Riscv64;
/// The longest path the kernel takes (PATH_MAX, with its NUL).
pub const PATH_MAX: usize = 4096;
/// The most iovecs a call takes (UIO_MAXIOV).
pub const IOV_MAX: u64 = 1024;

/// The kinds of `name`'s arguments for these values; `None` when the table does not describe
/// the call (or this command of it).
pub fn kinds(name: &str, a: &[u64; 6]) -> Option<[Arg; 6]> {
    table::entry(name)?.resolve(a)
}

/// The iovec array at `at` with `n` entries, each buffer checked against the program's pages
/// with the access the kernel makes; `None` if the array or a buffer is not the program's.
pub fn iovecs(mem: &dyn ProgramMemory, at: u64, n: u64, write: bool) -> Option<Vec<[u64; 2]>> {
    if n > IOV_MAX {
        return None;
    }
    let bytes = if n == 0 {
        Vec::new()
    } else {
        mem.read_bytes(at, n * 16)?
    };
    let iov: Vec<[u64; 2]> = bytes
        .chunks_exact(16)
        .map(|c| {
            let w = |k: usize| u64::from_le_bytes(c[k..k + 8].try_into().unwrap_or_default());
            [w(0), w(8)]
        })
        .collect();
    iov.iter()
        .all(|&[base, len]| len == 0 || mem.readable(base, len, write))
        .then_some(iov)
}

/// Whether the call names one of the shim's own descriptors `own` (the kernel takes a
/// descriptor as an `int`: the upper half of the register does not count).
pub fn names_fd(name: &str, a: &[u64; 6], own: &[i32]) -> bool {
    let Some(entry) = table::entry(name) else {
        return false;
    };
    // With an unknown command, the arguments the table always knows.
    let kinds = entry.resolve(a).unwrap_or_else(|| {
        let mut k = [Arg::Int; 6];
        k[..entry.args.len()].copy_from_slice(entry.args);
        k
    });
    let fd = |v: u64| v as u32 as i32;
    kinds.iter().enumerate().any(|(i, kind)| match *kind {
        Arg::Fd | Arg::DirFd => own.contains(&fd(a[i])),
        // close_range(first, last): unsigned, inclusive
        Arg::FdRange(j) => {
            let (lo, hi) = (a[i] as u32, a[j] as u32);
            own.iter().any(|&o| (lo..=hi).contains(&(o as u32)))
        }
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::super::fake::FakeMemory;
    use super::super::marshal::{Refusal, marshal};
    use super::super::pages::PAGE;
    use super::*;

    /// Whether the call may be forwarded: yes, no (not the program's memory), unknown.
    fn check(mem: &dyn ProgramMemory, name: &str, a: &[u64; 6]) -> Option<bool> {
        match marshal(mem, name, a) {
            Ok(_) => Some(true),
            Err(Refusal::Unknown) => None,
            Err(Refusal::NotTheProgramsMemory | Refusal::TooLarge) => Some(false),
        }
    }

    const RW: i32 = libc::PROT_READ | libc::PROT_WRITE;
    const BUF: u64 = 0x10_0000;
    const SHIM: u64 = BUF + PAGE;

    fn program() -> FakeMemory {
        let mut m = FakeMemory::new();
        m.give(BUF, PAGE, RW);
        m.shim(SHIM, PAGE);
        m
    }

    #[test]
    fn epoll_pwait_is_checked_with_riscv64_sized_events() {
        let m = program();
        // 256 events of 16 bytes fill the page exactly; 12-byte events would leave room
        // for 341, and the kernel would write 5 of them into the shim's page.
        assert_eq!(
            check(&m, "epoll_pwait", &[3, BUF, 256, 0, 0, 8]),
            Some(true)
        );
        assert_eq!(
            check(&m, "epoll_pwait", &[3, BUF, 257, 0, 0, 8]),
            Some(false)
        );
        assert_eq!(
            check(&m, "epoll_pwait", &[3, BUF, 341, 0, 0, 8]),
            Some(false)
        );
    }

    #[test]
    fn buffers_paths_and_structs_must_be_the_programs() {
        let m = program();
        assert_eq!(check(&m, "read", &[0, BUF, PAGE, 0, 0, 0]), Some(true));
        assert_eq!(check(&m, "read", &[0, BUF, PAGE + 1, 0, 0, 0]), Some(false));
        assert_eq!(
            check(&m, "fstat", &[0, BUF + PAGE - 128, 0, 0, 0, 0]),
            Some(true)
        );
        assert_eq!(
            check(&m, "fstat", &[0, BUF + PAGE - 127, 0, 0, 0, 0]),
            Some(false)
        );
        // a path that runs into the shim's page without a NUL
        m.fill_program(BUF + PAGE - 4, b"/etc");
        assert_eq!(
            check(&m, "unlinkat", &[0, BUF + PAGE - 4, 0, 0, 0, 0]),
            Some(false)
        );
        assert_eq!(check(&m, "unlinkat", &[0, SHIM, 0, 0, 0, 0]), Some(false));
        m.fill_program(BUF, b"/etc\0");
        assert_eq!(check(&m, "unlinkat", &[0, BUF, 0, 0, 0, 0]), Some(true));
        // read-only pages cannot take what the kernel writes
        let mut ro = program();
        ro.give(BUF, PAGE, libc::PROT_READ);
        assert_eq!(check(&ro, "read", &[0, BUF, 8, 0, 0, 0]), Some(false));
        assert_eq!(check(&ro, "write", &[1, BUF, 8, 0, 0, 0]), Some(true));
    }

    #[test]
    fn an_iovec_into_the_shim_is_refused() {
        let m = program();
        let iov = |base: u64, len: u64| [base.to_le_bytes(), len.to_le_bytes()].concat();
        m.fill_program(BUF, &[iov(BUF + 0x100, 16), iov(SHIM, 16)].concat());
        assert_eq!(check(&m, "readv", &[0, BUF, 1, 0, 0, 0]), Some(true));
        assert_eq!(check(&m, "readv", &[0, BUF, 2, 0, 0, 0]), Some(false));
        assert_eq!(check(&m, "writev", &[1, BUF, 2, 0, 0, 0]), Some(false));
        assert_eq!(
            check(&m, "readv", &[0, BUF, IOV_MAX + 1, 0, 0, 0]),
            Some(false)
        );
    }

    #[test]
    fn unknown_calls_and_commands_are_not_forwarded() {
        let m = program();
        assert_eq!(check(&m, "io_uring_setup", &[0; 6]), None);
        assert_eq!(check(&m, "ioctl", &[0, 0x1234, BUF, 0, 0, 0]), None);
        assert_eq!(
            check(&m, "fcntl", &[0, libc::F_SETLK as u64, BUF, 0, 0, 0]),
            None
        );
        assert_eq!(
            check(&m, "ioctl", &[0, libc::TIOCGWINSZ, BUF, 0, 0, 0]),
            Some(true)
        );
    }

    #[test]
    fn the_shims_descriptors_are_found_in_every_descriptor_argument() {
        let own = [1000, 1001];
        assert!(names_fd("read", &[1000, 0, 0, 0, 0, 0], &own));
        assert!(!names_fd("read", &[3, 0, 0, 0, 0, 0], &own));
        // the kernel reads an int: the upper half does not hide it
        assert!(names_fd("read", &[(1 << 32) | 1000, 0, 0, 0, 0, 0], &own));
        assert!(names_fd("dup3", &[3, 1001, 0, 0, 0, 0], &own));
        assert!(names_fd("openat", &[1000, 0, 0, 0, 0, 0], &own), "a dirfd");
        assert!(!names_fd(
            "openat",
            &[libc::AT_FDCWD as u64, 0, 0, 0, 0, 0],
            &own
        ));
        assert!(names_fd("mmap", &[0, 4096, 1, 1, 1001, 0], &own));
        assert!(
            names_fd("epoll_ctl", &[3, 1, 1000, 0, 0, 0], &own),
            "the watched fd"
        );
        assert!(names_fd(
            "close_range",
            &[3, u32::MAX as u64, 0, 0, 0, 0],
            &own
        ));
        assert!(!names_fd("close_range", &[3, 999, 0, 0, 0, 0], &own));
        assert!(names_fd(
            "fcntl",
            &[1000, libc::F_SETLK as u64, 0, 0, 0, 0],
            &own
        ));
    }
}
