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

/// The path a policy decides on for an object whose real path is `real`. A file unlinked
/// since it was opened reads back as `PATH (deleted)`, and is still the file a rule about
/// PATH names: a caller holding a descriptor of a denied file cannot unlink its name and
/// reopen it through `/proc/self/fd` under a path no rule matches.
pub fn decided_path(fd: BorrowedFd<'_>, real: String) -> String {
    const DELETED: &str = " (deleted)";
    let unlinked = fstat(fd.as_raw_fd()).is_ok_and(|st| st.st_nlink == 0);
    match real.strip_suffix(DELETED) {
        Some(name) if unlinked => name.to_owned(),
        _ => real,
    }
}

/// Where a procfs object lies inside its procfs, whatever the procfs is mounted at: the
/// mount's path (its root inode is 1) and the components below it (`["123", "mem"]`).
/// `real` is the object's real path; `None` when no procfs root is found on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcEntry {
    pub root: String,
    pub below: Vec<String>,
}

pub fn proc_entry(real: &str) -> Option<ProcEntry> {
    let parts: Vec<&str> = real.split('/').filter(|p| !p.is_empty()).collect();
    let is_root = |p: &str| {
        nix::sys::statfs::statfs(p).is_ok_and(|s| s.filesystem_type() == PROC_SUPER_MAGIC)
            && nix::sys::stat::stat(p).is_ok_and(|st| st.st_ino == 1)
    };
    (0..=parts.len()).find_map(|n| {
        let root = format!("/{}", parts[..n].join("/"));
        is_root(&root).then(|| ProcEntry {
            root,
            below: parts[n..].iter().map(|p| (*p).to_owned()).collect(),
        })
    })
}

impl ProcEntry {
    /// The process it belongs to, as that procfs numbers it (`self` followed).
    pub fn pid(&self) -> Option<String> {
        let first = self.below.first()?;
        if first.chars().all(|c| c.is_ascii_digit()) {
            return Some(first.clone());
        }
        None
    }

    /// Whether it belongs to the process doing the lookup (the procfs's own `self`) or to
    /// one of its threads (`/proc/TID` of any of them, which the kernel lets every thread of
    /// the group open as its own). An entry whose group cannot be read is taken for ours.
    pub fn is_own(&self) -> bool {
        let root = self.root.trim_end_matches('/');
        let Ok(me) = std::fs::read_link(format!("{root}/self")) else {
            return false;
        };
        let Some(pid) = self.pid() else {
            return false;
        };
        let group = std::fs::read_to_string(format!("{root}/{pid}/status")).ok();
        group
            .as_deref()
            .and_then(|s| s.lines().find_map(|l| l.strip_prefix("Tgid:")))
            .is_none_or(|t| std::path::Path::new(t.trim()) == me)
    }
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

    #[test]
    fn an_unlinked_file_is_decided_on_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "x").unwrap();
        let f = std::fs::File::open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let real = std::fs::read_link(format!("/proc/self/fd/{}", f.as_raw_fd())).unwrap();
        let real = real.to_string_lossy().into_owned();
        assert!(real.ends_with(" (deleted)"), "{real}");
        assert_eq!(decided_path(f.as_fd(), real), path.display().to_string());
        // A name that merely ends so, of a file that is there, is left alone.
        let odd = dir.path().join("odd (deleted)");
        std::fs::write(&odd, "x").unwrap();
        let f = std::fs::File::open(&odd).unwrap();
        let shown = odd.display().to_string();
        assert_eq!(decided_path(f.as_fd(), shown.clone()), shown);
    }

    #[test]
    fn a_proc_entry_is_found_wherever_procfs_is_mounted() {
        let me = std::process::id().to_string();
        let e = proc_entry(&format!("/proc/{me}/mem")).unwrap();
        assert_eq!(
            (e.root.as_str(), e.below.clone()),
            ("/proc", vec![me.clone(), "mem".into()])
        );
        assert!(e.is_own());
        assert!(!proc_entry("/proc/1/mem").unwrap().is_own());
        // Another thread of ours, by its own id.
        let (tx, rx) = std::sync::mpsc::channel();
        let t = std::thread::spawn(move || {
            tx.send(nix::unistd::gettid().as_raw()).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(200));
        });
        let tid = rx.recv().unwrap();
        assert!(proc_entry(&format!("/proc/{tid}/mem")).unwrap().is_own());
        t.join().unwrap();
        assert_eq!(proc_entry("/etc/passwd"), None);
    }
}
