//! What the kernel reads of a forwarded call, copied into the shim first. Checking a pointer in
//! the program's memory and then forwarding it lets another writer (a MAP_SHARED peer, a
//! thread) change what the kernel finds there between the check and the call: an iovec's base
//! redirected into the shim, a path's NUL removed so the kernel reads on into the next page.
//! So every indirect structure the kernel interprets (paths and strings, iovec arrays, structs
//! and other memory it reads) is copied into a buffer of the shim's, checked there, and the call
//! gets the copy: the kernel only ever touches program pages it was allowed to (the buffers an
//! iovec or a data argument names, memory it writes) or the shim's own checked copies.

use super::args::{self, ARCH, IOV_MAX, PATH_MAX};
use super::memory::ProgramMemory;
use crate::syscalls::table::Arg;

/// The most a struct-like argument the kernel reads may be (sockaddrs, socket options, cpu
/// sets are far smaller); larger, the call fails with EINVAL rather than go uncopied.
const IN_MAX: u64 = 1 << 20;

/// A call ready to forward: its arguments, with pointers to the copies it owns.
#[derive(Debug)]
pub struct Marshalled {
    pub args: [u64; 6],
    /// The copies the arguments point into: they must outlive the call.
    copies: Vec<Box<[u8]>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The table does not describe this call (or this command of it).
    Unknown,
    /// Memory the call names is not the program's: an attack on the shim.
    NotTheProgramsMemory,
    /// A struct the kernel reads is larger than any real one.
    TooLarge,
}

impl Marshalled {
    fn copy(&mut self, bytes: Vec<u8>) -> u64 {
        let boxed = bytes.into_boxed_slice();
        let at = boxed.as_ptr() as u64;
        self.copies.push(boxed);
        at
    }

    /// Whether `addr` lies in one of the copies (for the tests).
    #[cfg(test)]
    pub fn in_copy(&self, addr: u64, len: u64) -> bool {
        self.copies.iter().any(|c| {
            let lo = c.as_ptr() as u64;
            addr >= lo && addr + len <= lo + c.len() as u64
        })
    }
}

/// Checks the call's memory against the program's pages and copies what the kernel reads.
pub fn marshal(mem: &dyn ProgramMemory, name: &str, a: &[u64; 6]) -> Result<Marshalled, Refusal> {
    let kinds = args::kinds(name, a).ok_or(Refusal::Unknown)?;
    let mut m = Marshalled {
        args: *a,
        copies: Vec::new(),
    };
    let bad = Refusal::NotTheProgramsMemory;
    for (i, kind) in kinds.iter().enumerate() {
        match *kind {
            Arg::Int
            | Arg::Flags
            | Arg::Mode
            | Arg::Fd
            | Arg::DirFd
            | Arg::FdRange(_)
            | Arg::Cmd { .. } => {}
            Arg::StrArray => return Err(Refusal::Unknown),
            // NULL is for the kernel to refuse or to skip.
            Arg::Path | Arg::Str if a[i] == 0 => {}
            Arg::Path | Arg::Str => {
                let mut s = mem.read_cstr(a[i], PATH_MAX).ok_or(bad)?;
                s.push(0);
                m.args[i] = m.copy(s);
            }
            // Bytes the kernel only moves: where it reads is fixed by registers.
            Arg::Data(j) => {
                if a[i] != 0 && a[j] != 0 && !mem.readable(a[i], a[j], false) {
                    return Err(bad);
                }
            }
            Arg::In(len) => {
                let n = len.bytes(ARCH, a);
                if a[i] == 0 || n == 0 {
                    continue;
                }
                if n > IN_MAX {
                    return Err(Refusal::TooLarge);
                }
                let bytes = mem.read_bytes(a[i], n).ok_or(bad)?;
                m.args[i] = m.copy(bytes);
            }
            Arg::Out(len) | Arg::InOut(len) => {
                let n = len.bytes(ARCH, a);
                if a[i] != 0 && n != 0 && !mem.readable(a[i], n, true) {
                    return Err(bad);
                }
            }
            // The kernel keys a futex by its address: it stays, on a page of the program's.
            Arg::Word => {
                if a[i] % 4 != 0 || !mem.readable(a[i], 4, true) {
                    return Err(bad);
                }
            }
            Arg::Iovec { count, write } => {
                if a[count] > IOV_MAX {
                    // the kernel's own answer to too many
                    return Err(Refusal::TooLarge);
                }
                let iov = args::iovecs(mem, a[i], a[count], write).ok_or(bad)?;
                if !iov.is_empty() {
                    let bytes: Vec<u8> =
                        iov.iter().flatten().flat_map(|w| w.to_le_bytes()).collect();
                    m.args[i] = m.copy(bytes);
                }
            }
        }
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::super::fake::FakeMemory;
    use super::super::pages::PAGE;
    use super::*;

    const RW: i32 = libc::PROT_READ | libc::PROT_WRITE;
    const BUF: u64 = 0x10_0000;
    const SHIM: u64 = BUF + PAGE;

    fn program() -> FakeMemory {
        let mut m = FakeMemory::new();
        m.give(BUF, PAGE, RW);
        m.shim(SHIM, PAGE);
        m
    }

    fn iov(base: u64, len: u64) -> Vec<u8> {
        [base.to_le_bytes(), len.to_le_bytes()].concat()
    }

    /// The u64 at `at` in the copy the marshalled call points to.
    fn copied_u64(m: &Marshalled, at: u64) -> u64 {
        assert!(m.in_copy(at, 8));
        let c = m
            .copies
            .iter()
            .find(|c| at >= c.as_ptr() as u64 && at < c.as_ptr() as u64 + c.len() as u64)
            .unwrap();
        let off = (at - c.as_ptr() as u64) as usize;
        u64::from_le_bytes(c[off..off + 8].try_into().unwrap())
    }

    #[test]
    fn an_iovec_array_rewritten_after_the_check_does_not_reach_the_kernel() {
        let mem = program();
        mem.fill_program(BUF, &[iov(BUF + 0x800, 64), iov(BUF + 0x900, 64)].concat());
        let m = marshal(&mem, "readv", &[0, BUF, 2, 0, 0, 0]).unwrap();
        assert_ne!(
            m.args[1], BUF,
            "the kernel gets the copy, not the program's array"
        );
        assert!(m.in_copy(m.args[1], 32));
        // a peer redirects the first iovec into the shim after the check
        mem.fill_program(BUF, &iov(SHIM, 64));
        assert_eq!(copied_u64(&m, m.args[1]), BUF + 0x800);
        assert_eq!(copied_u64(&m, m.args[1] + 16), BUF + 0x900);
        assert_eq!(m.args[0], 0);
        assert_eq!(m.args[2], 2);
        // at check time already: refused
        assert_eq!(
            marshal(&mem, "writev", &[1, BUF, 2, 0, 0, 0]).unwrap_err(),
            Refusal::NotTheProgramsMemory
        );
    }

    #[test]
    fn a_path_keeps_its_nul_whatever_the_program_does_after() {
        let mem = program();
        mem.fill_program(BUF + PAGE - 10, b"/tmp/x\0");
        let m = marshal(
            &mem,
            "unlinkat",
            &[libc::AT_FDCWD as u64, BUF + PAGE - 10, 0, 0, 0, 0],
        )
        .unwrap();
        assert!(m.in_copy(m.args[1], 7));
        // the NUL overwritten: the page would run on into the shim's
        mem.fill_program(BUF + PAGE - 4, b"xxxx");
        let c = m
            .copies
            .iter()
            .find(|c| c.as_ptr() as u64 == m.args[1])
            .unwrap();
        assert_eq!(&c[..], b"/tmp/x\0");
        // two paths, both copied
        mem.fill_program(BUF, b"/a\0/b\0");
        let m = marshal(&mem, "renameat", &[0, BUF, 0, BUF + 3, 0, 0]).unwrap();
        assert!(m.in_copy(m.args[1], 3) && m.in_copy(m.args[3], 3));
    }

    #[test]
    fn structs_the_kernel_reads_are_copied_and_what_it_writes_is_checked() {
        let mem = program();
        mem.fill_program(BUF, &7u64.to_le_bytes());
        // nanosleep(req, rem): req copied, rem the program's own
        let m = marshal(&mem, "nanosleep", &[BUF, BUF + 0x100, 0, 0, 0, 0]).unwrap();
        assert!(m.in_copy(m.args[0], 16));
        assert_eq!(copied_u64(&m, m.args[0]), 7);
        assert_eq!(m.args[1], BUF + 0x100);
        // connect's sockaddr, sized by its length argument
        let m = marshal(&mem, "connect", &[3, BUF, 110, 0, 0, 0]).unwrap();
        assert!(m.in_copy(m.args[1], 110));
        assert_eq!(
            marshal(&mem, "connect", &[3, SHIM - 8, 16, 0, 0, 0]).unwrap_err(),
            Refusal::NotTheProgramsMemory
        );
        assert_eq!(
            marshal(&mem, "nanosleep", &[BUF, SHIM, 0, 0, 0, 0]).unwrap_err(),
            Refusal::NotTheProgramsMemory
        );
        // epoll_pwait: 16-byte events written in place, the sigmask copied
        let m = marshal(&mem, "epoll_pwait", &[3, BUF, 128, 0, BUF + 0x800, 8]).unwrap();
        assert_eq!(m.args[1], BUF);
        assert!(m.in_copy(m.args[4], 8));
        assert!(marshal(&mem, "epoll_pwait", &[3, BUF, 257, 0, 0, 8]).is_err());
        assert_eq!(
            marshal(&mem, "sched_setaffinity", &[0, 1 << 30, BUF, 0, 0, 0]).unwrap_err(),
            Refusal::TooLarge
        );
        assert_eq!(
            marshal(&mem, "io_setup", &[0; 6]).unwrap_err(),
            Refusal::Unknown
        );
    }
}
