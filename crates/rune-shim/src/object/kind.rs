//! What sort of object a descriptor holds, by the kernel's own facts (file type, file-system
//! magic, device number), never by the path it was reached by.

use std::os::fd::{AsRawFd, BorrowedFd};

use nix::errno::Errno;
use nix::sys::stat::{SFlag, fstat};
use nix::sys::statfs::{PROC_SUPER_MAGIC, fstatfs};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Fifo,
    Socket,
    /// A character device every container may use (the OCI default devices).
    HarmlessDevice,
    /// Any other device node: it is only ever opened by the caller itself.
    Device,
    /// An object of procfs (its `mem`, `environ`, `fd/N` links act on a process).
    Proc,
}

/// The character devices of the OCI default device list (null, zero, full, random, urandom,
/// tty, ptmx and the pty slaves).
fn harmless_device(rdev: u64) -> bool {
    let (major, minor) = (libc::major(rdev), libc::minor(rdev));
    matches!((major, minor), (1, 3 | 5 | 7 | 8 | 9) | (5, 0 | 2)) || major == 136
}

pub fn kind(fd: BorrowedFd<'_>) -> Result<Kind, Errno> {
    let st = fstat(fd.as_raw_fd())?;
    let on_proc = fstatfs(fd)?.filesystem_type() == PROC_SUPER_MAGIC;
    Ok(
        match SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) {
            SFlag::S_IFLNK => Kind::Symlink,
            _ if on_proc => Kind::Proc,
            SFlag::S_IFDIR => Kind::Dir,
            SFlag::S_IFIFO => Kind::Fifo,
            SFlag::S_IFSOCK => Kind::Socket,
            SFlag::S_IFCHR if harmless_device(st.st_rdev) => Kind::HarmlessDevice,
            SFlag::S_IFCHR | SFlag::S_IFBLK => Kind::Device,
            _ => Kind::File,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn kinds_come_from_the_kernel() {
        let k = |p: &str| kind(std::fs::File::open(p).unwrap().as_fd()).unwrap();
        assert_eq!(k("/dev/null"), Kind::HarmlessDevice);
        assert_eq!(k("/proc/self/status"), Kind::Proc);
        assert_eq!(k("/"), Kind::Dir);
        assert_eq!(k("/proc/self/exe"), Kind::File);
    }
}
