//! Opening a file for a caller, inside the on-behalf helper, in two steps so that the policy
//! decides on the object actually found and nothing happens to the file system before it
//! has: `resolve` walks the path (`openat2` with `RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS`,
//! `O_PATH`, no side effects) and reports what it found; `open` then reopens exactly that
//! object (or creates the name in exactly that directory) with the caller's flags.

use std::collections::HashSet;
use std::ffi::{CString, OsStr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use caps::{CapSet, Capability};
use nix::errno::Errno;
use nix::fcntl::{
    AtFlags, OFlag, OpenHow, RenameFlags, ResolveFlag, openat, openat2, readlinkat, renameat2,
};
use nix::sys::stat::{FileStat, Mode, SFlag, fstat, stat};
use nix::sys::statfs::{PROC_SUPER_MAGIC, fstatfs, statfs};
use nix::unistd::{
    Gid, Uid, chroot, fchdir, linkat, setfsgid, setfsuid, setgroups, setresgid, setresuid,
};

use super::caller::Creds;
use super::helper::{Opened, Resolved};
use super::sys;

/// The caller a lookup is made for.
#[derive(Debug)]
pub struct Who<'a> {
    pub creds: &'a Creds,
    pub ns_pid: u32,
    pub ns_tid: u32,
}

#[derive(Debug)]
enum Found {
    Object(OwnedFd),
    Create { parent: OwnedFd, name: CString },
}

/// A name found for a link or rename: its directory, the last component, and the object
/// itself when a final symlink was followed.
#[derive(Debug)]
struct Named {
    parent: OwnedFd,
    name: CString,
    followed: Option<OwnedFd>,
}

#[derive(Debug)]
pub struct Opener {
    fd_dir: BorrowedFd<'static>,
    own: (Uid, Gid, HashSet<Capability>),
    found: Option<Found>,
    names: [Option<Named>; 2],
}

fn errno(e: Errno) -> i32 {
    e as i32
}

impl Opener {
    pub fn new(fd_dir: BorrowedFd<'static>) -> Opener {
        let permitted = caps::read(None, CapSet::Permitted).unwrap_or_default();
        Opener {
            fd_dir,
            own: (Uid::effective(), Gid::effective(), permitted),
            found: None,
            names: [None, None],
        }
    }

    /// Takes the caller's ids, capabilities and umask for the calls that follow.
    fn become_caller(&self, c: &Creds) -> Result<(), Errno> {
        let groups: Vec<Gid> = c.groups.iter().map(|g| Gid::from_raw(*g)).collect();
        setgroups(&groups)?;
        // The effective ids too, not only the file-system ones: some kernel checks (/proc/sys)
        // look at the effective uid. The saved ids stay ours, to come back.
        let (uid, gid) = (Uid::from_raw(c.fsuid), Gid::from_raw(c.fsgid));
        setresgid(Gid::from_raw(u32::MAX), gid, self.own.1)?;
        setresuid(Uid::from_raw(u32::MAX), uid, self.own.0)?;
        if setfsuid(Uid::from_raw(u32::MAX)) != uid || setfsgid(Gid::from_raw(u32::MAX)) != gid {
            return Err(Errno::EPERM);
        }
        let eff: HashSet<Capability> = caps::all()
            .into_iter()
            .filter(|cap| c.cap_eff & (1 << cap.index()) != 0)
            .filter(|cap| self.own.2.contains(cap))
            .collect();
        caps::set(None, CapSet::Effective, &eff).map_err(|_| Errno::EPERM)?;
        nix::sys::stat::umask(Mode::from_bits_truncate(c.umask));
        Ok(())
    }

    fn become_self(&self) {
        let _ = setresuid(Uid::from_raw(u32::MAX), self.own.0, Uid::from_raw(u32::MAX));
        let _ = caps::set(None, CapSet::Effective, &self.own.2);
        let _ = setresgid(Gid::from_raw(u32::MAX), self.own.1, Gid::from_raw(u32::MAX));
    }

    fn real_path(&self, fd: BorrowedFd<'_>) -> Result<String, Errno> {
        let target = readlinkat(
            Some(self.fd_dir.as_raw_fd()),
            fd.as_raw_fd().to_string().as_str(),
        )?;
        Ok(target.to_string_lossy().into_owned())
    }

    pub fn resolve(
        &mut self,
        who: &Who<'_>,
        fds: &[OwnedFd],
        path: &[u8],
        flags: i32,
        resolve: u64,
    ) -> Resolved {
        self.found = None;
        self.in_callers_root(who, fds, |this, root, base| {
            this.lookup(who, root, base, path, flags, resolve)
        })
    }

    /// Runs `f` with the caller's root as ours (so that `..` and absolute symlinks met from
    /// a relative start stop where the caller's would) and as the caller; `fds` are the
    /// caller's root and the directory a relative path starts from.
    fn in_callers_root(
        &mut self,
        who: &Who<'_>,
        fds: &[OwnedFd],
        f: impl FnOnce(&mut Self, BorrowedFd<'_>, BorrowedFd<'_>) -> Resolved,
    ) -> Resolved {
        let [root, base] = fds else {
            return Resolved::Failed(libc::EINVAL);
        };
        if let Err(e) = fchdir(root.as_raw_fd()).and_then(|()| chroot(".")) {
            return Resolved::Failed(errno(e));
        }
        self.as_caller(who.creds, |this| Ok(f(this, root.as_fd(), base.as_fd())))
            .unwrap_or_else(Resolved::Failed)
    }

    /// Runs `f` as the caller (ids, capabilities, umask), then becomes the helper again.
    fn as_caller<T>(
        &mut self,
        creds: &Creds,
        f: impl FnOnce(&mut Self) -> Result<T, i32>,
    ) -> Result<T, i32> {
        let r = match self.become_caller(creds) {
            Ok(()) => f(self),
            Err(e) => Err(errno(e)),
        };
        self.become_self();
        r
    }

    fn lookup(
        &mut self,
        who: &Who<'_>,
        root: BorrowedFd<'_>,
        base: BorrowedFd<'_>,
        path: &[u8],
        flags: i32,
        resolve: u64,
    ) -> Resolved {
        let path = proc_self(path, who);
        let oflags = OFlag::from_bits_truncate(flags);
        let keep = oflags & (OFlag::O_NOFOLLOW | OFlag::O_DIRECTORY);
        match walk(root, base, &path, OFlag::O_PATH | keep, resolve) {
            Ok(fd) => match self.real_path(fd.as_fd()) {
                Ok(p) => {
                    self.found = Some(Found::Object(fd));
                    Resolved::Object(p)
                }
                Err(e) => Resolved::Failed(errno(e)),
            },
            // Nothing there: decide on the name it would have (the policy may rewrite or deny
            // it; `O_CREAT` would create it; otherwise the open fails as it would have).
            Err(Errno::ENOENT) => {
                let (dir, name) = split(&path);
                if name.is_empty() || name == b"." || name == b".." {
                    return Resolved::Failed(libc::EISDIR);
                }
                let parent =
                    match walk(root, base, dir, OFlag::O_PATH | OFlag::O_DIRECTORY, resolve) {
                        Ok(p) => p,
                        Err(e) => return Resolved::Failed(errno(e)),
                    };
                let dir_path = match self.real_path(parent.as_fd()) {
                    Ok(p) => p,
                    Err(e) => return Resolved::Failed(errno(e)),
                };
                let Ok(name) = CString::new(name) else {
                    return Resolved::Failed(libc::EINVAL);
                };
                let full = format!(
                    "{}/{}",
                    dir_path.trim_end_matches('/'),
                    String::from_utf8_lossy(name.as_bytes())
                );
                self.found = Some(Found::Create { parent, name });
                Resolved::Missing(full)
            }
            Err(e) => Resolved::Failed(errno(e)),
        }
    }

    /// Opens what the last `resolve` found. Call only after the policy allowed it.
    pub fn open(&mut self, creds: &Creds, flags: i32, mode: u32) -> Result<OwnedFd, Opened> {
        let found = self.found.take().ok_or(Opened::Failed(libc::EINVAL))?;
        let fd = self
            .as_caller(creds, |this| Ok(this.open_found(found, flags, mode)))
            .map_err(Opened::Failed)??;
        self.refuse_own_proc(fd.as_fd())?;
        Ok(fd)
    }

    fn open_found(&self, found: Found, flags: i32, mode: u32) -> Result<OwnedFd, Opened> {
        let oflags = OFlag::from_bits_truncate(flags);
        let failed = |e: Errno| Opened::Failed(errno(e));
        match found {
            Found::Object(fd) => {
                if oflags.contains(OFlag::O_PATH) {
                    return Ok(fd);
                }
                if oflags.contains(OFlag::O_CREAT | OFlag::O_EXCL) {
                    return Err(Opened::Failed(libc::EEXIST));
                }
                let st = fstat(fd.as_raw_fd()).map_err(failed)?;
                match kind(&st) {
                    SFlag::S_IFLNK => return Err(Opened::Failed(libc::ELOOP)),
                    // A blocking open would stall the supervisor and every other caller.
                    SFlag::S_IFIFO if !oflags.contains(OFlag::O_NONBLOCK) => {
                        return Err(Opened::Failed(libc::EACCES));
                    }
                    SFlag::S_IFSOCK => return Err(Opened::Failed(libc::ENXIO)),
                    // The helper is not in the container's device cgroup: only the devices
                    // every container may use are opened on its behalf.
                    SFlag::S_IFBLK => return Err(Opened::Failed(libc::EPERM)),
                    SFlag::S_IFCHR if !harmless_device(st.st_rdev) => {
                        return Err(Opened::Failed(libc::EPERM));
                    }
                    _ => {}
                }
                // Reopening our own descriptor reopens exactly the object decided on.
                let reopen = (oflags - (OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW))
                    | OFlag::O_NOCTTY
                    | OFlag::O_CLOEXEC;
                let n = openat(
                    Some(self.fd_dir.as_raw_fd()),
                    fd.as_raw_fd().to_string().as_str(),
                    reopen,
                    Mode::empty(),
                )
                .map_err(failed)?;
                Ok(sys::adopt([n]).remove(0))
            }
            Found::Create { parent, name } => {
                let how = OpenHow::new()
                    .flags(oflags | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
                    .mode(Mode::from_bits_truncate(mode))
                    .resolve(
                        ResolveFlag::RESOLVE_BENEATH
                            | ResolveFlag::RESOLVE_NO_SYMLINKS
                            | ResolveFlag::RESOLVE_NO_MAGICLINKS,
                    );
                match openat2(parent.as_raw_fd(), name.as_c_str(), how) {
                    Ok(n) => Ok(sys::adopt([n]).remove(0)),
                    // Something appeared at the name since the decision: decide again.
                    Err(Errno::ELOOP) => Err(Opened::Retry),
                    Err(e) => Err(failed(e)),
                }
            }
        }
    }

    /// A caller must never get a descriptor for this helper's own /proc entries (its
    /// `mem` would let it write into a process holding the caller's namespaces' root):
    /// opening them here would pass the kernel's checks because they are our own.
    fn refuse_own_proc(&self, fd: BorrowedFd<'_>) -> Result<(), Opened> {
        let on_proc = fstatfs(fd).is_ok_and(|s| s.filesystem_type() == PROC_SUPER_MAGIC);
        if !on_proc {
            return Ok(());
        }
        let path = self
            .real_path(fd)
            .map_err(|_| Opened::Failed(libc::EACCES))?;
        let mut prefix = String::new();
        let mut parts = path.split('/').filter(|p| !p.is_empty());
        loop {
            let is_root = |p: &str| {
                let p = if p.is_empty() { "/" } else { p };
                statfs(p).is_ok_and(|s| s.filesystem_type() == PROC_SUPER_MAGIC)
                    && stat(p).is_ok_and(|st| st.st_ino == 1)
            };
            if is_root(&prefix) {
                let next = parts.next().unwrap_or_default();
                let me = std::fs::read_link(format!("{prefix}/self")).ok();
                return match me {
                    Some(m) if m.as_os_str() == OsStr::new(next) => {
                        Err(Opened::Failed(libc::EACCES))
                    }
                    _ => Ok(()),
                };
            }
            let Some(part) = parts.next() else {
                return Err(Opened::Failed(libc::EACCES));
            };
            prefix.push('/');
            prefix.push_str(part);
        }
    }
}

impl Opener {
    pub fn name(
        &mut self,
        who: &Who<'_>,
        fds: &[OwnedFd],
        path: &[u8],
        slot: usize,
        follow: bool,
    ) -> Resolved {
        let Some(entry) = self.names.get_mut(slot) else {
            return Resolved::Failed(libc::EINVAL);
        };
        *entry = None;
        self.in_callers_root(who, fds, |this, root, base| {
            this.find_name(who, root, base, path, slot, follow)
        })
    }

    fn find_name(
        &mut self,
        who: &Who<'_>,
        root: BorrowedFd<'_>,
        base: BorrowedFd<'_>,
        path: &[u8],
        slot: usize,
        follow: bool,
    ) -> Resolved {
        let path = proc_self(path, who);
        let (dir, name) = split(&path);
        if name.is_empty() || name == b"." || name == b".." {
            return Resolved::Failed(libc::EBUSY);
        }
        let parent = match walk(root, base, dir, OFlag::O_PATH | OFlag::O_DIRECTORY, 0) {
            Ok(p) => p,
            Err(e) => return Resolved::Failed(errno(e)),
        };
        let Ok(cname) = CString::new(name) else {
            return Resolved::Failed(libc::EINVAL);
        };
        let (object, followed) = if follow {
            match walk(root, base, &path, OFlag::O_PATH, 0) {
                Ok(fd) => (self.real_path(fd.as_fd()).ok(), Some(fd)),
                Err(Errno::ENOENT) => (None, None),
                Err(e) => return Resolved::Failed(errno(e)),
            }
        } else {
            let how = OpenHow::new()
                .flags(OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC)
                .resolve(ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_MAGICLINKS);
            match openat2(parent.as_raw_fd(), cname.as_c_str(), how) {
                Ok(n) => {
                    let fd = sys::adopt([n]).remove(0);
                    (self.real_path(fd.as_fd()).ok(), None)
                }
                Err(Errno::ENOENT) => (None, None),
                Err(e) => return Resolved::Failed(errno(e)),
            }
        };
        self.names[slot] = Some(Named {
            parent,
            name: cname,
            followed,
        });
        Resolved::Named(object)
    }

    fn take_names(&mut self) -> Option<(Named, Named)> {
        let [a, b] = &mut self.names;
        Some((a.take()?, b.take()?))
    }

    pub fn link(&mut self, creds: &Creds) -> Opened {
        let Some((old, new)) = self.take_names() else {
            return Opened::Failed(libc::EINVAL);
        };
        let r = self.as_caller(creds, |this| {
            let linked = match &old.followed {
                // Exactly the object decided on, through our own descriptor.
                Some(fd) => linkat(
                    Some(this.fd_dir.as_raw_fd()),
                    CString::new(fd.as_raw_fd().to_string())
                        .unwrap_or_default()
                        .as_c_str(),
                    Some(new.parent.as_raw_fd()),
                    new.name.as_c_str(),
                    AtFlags::AT_SYMLINK_FOLLOW,
                ),
                None => linkat(
                    Some(old.parent.as_raw_fd()),
                    old.name.as_c_str(),
                    Some(new.parent.as_raw_fd()),
                    new.name.as_c_str(),
                    AtFlags::empty(),
                ),
            };
            linked.map_err(errno)
        });
        r.map_or_else(Opened::Failed, |()| Opened::Done)
    }

    pub fn rename(&mut self, creds: &Creds, flags: u32) -> Opened {
        let Some((old, new)) = self.take_names() else {
            return Opened::Failed(libc::EINVAL);
        };
        let r = self.as_caller(creds, |_| {
            renameat2(
                Some(old.parent.as_raw_fd()),
                old.name.as_c_str(),
                Some(new.parent.as_raw_fd()),
                new.name.as_c_str(),
                RenameFlags::from_bits_truncate(flags),
            )
            .map_err(errno)
        });
        r.map_or_else(Opened::Failed, |()| Opened::Done)
    }
}

/// The character devices of the OCI default device list (null, zero, full, random, urandom,
/// tty, ptmx and the pty slaves): every container may open them.
fn harmless_device(rdev: u64) -> bool {
    let (major, minor) = (libc::major(rdev), libc::minor(rdev));
    matches!((major, minor), (1, 3 | 5 | 7 | 8 | 9) | (5, 0 | 2)) || major == 136
}

fn kind(st: &FileStat) -> SFlag {
    SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits())
}

/// One lookup with the caller's own resolve flags and never through a magic link. An
/// absolute path is walked inside the caller's root; a relative one from the caller's cwd or
/// dirfd, with the helper's root already the caller's.
fn walk(
    root: BorrowedFd<'_>,
    base: BorrowedFd<'_>,
    path: &[u8],
    flags: OFlag,
    resolve: u64,
) -> Result<OwnedFd, Errno> {
    let caller = ResolveFlag::from_bits_truncate(resolve);
    let mut how_resolve = caller | ResolveFlag::RESOLVE_NO_MAGICLINKS;
    let scoped = caller.intersects(ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_IN_ROOT);
    let dirfd = if path.starts_with(b"/") && !scoped {
        how_resolve |= ResolveFlag::RESOLVE_IN_ROOT;
        root
    } else {
        base
    };
    let path = if path.is_empty() {
        b"".as_slice()
    } else {
        path
    };
    let how = OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC)
        .resolve(how_resolve);
    let n = openat2(dirfd.as_raw_fd(), OsStr::from_bytes(path), how)?;
    Ok(sys::adopt([n]).remove(0))
}

fn split(path: &[u8]) -> (&[u8], &[u8]) {
    let trimmed = path.strip_suffix(b"/").unwrap_or(path);
    match trimmed.iter().rposition(|b| *b == b'/') {
        Some(0) => (b"/", &trimmed[1..]),
        Some(i) => (&trimmed[..i], &trimmed[i + 1..]),
        None => (b".", trimmed),
    }
}

/// `/proc/self` and `/proc/thread-self` mean the caller, not the helper.
fn proc_self(path: &[u8], who: &Who<'_>) -> Vec<u8> {
    let swap = |rest: &[u8], to: String| {
        let mut v = to.into_bytes();
        v.extend_from_slice(rest);
        v
    };
    for (prefix, to) in [
        (
            b"/proc/thread-self".as_slice(),
            format!("/proc/{}/task/{}", who.ns_pid, who.ns_tid),
        ),
        (b"/proc/self".as_slice(), format!("/proc/{}", who.ns_pid)),
    ] {
        if let Some(rest) = path.strip_prefix(prefix)
            && (rest.is_empty() || rest.starts_with(b"/"))
        {
            return swap(rest, to);
        }
    }
    path.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_the_last_component() {
        assert_eq!(split(b"/a/b"), (b"/a".as_slice(), b"b".as_slice()));
        assert_eq!(split(b"/a"), (b"/".as_slice(), b"a".as_slice()));
        assert_eq!(split(b"a"), (b".".as_slice(), b"a".as_slice()));
        assert_eq!(split(b"a/b/"), (b"a".as_slice(), b"b".as_slice()));
    }

    #[test]
    fn proc_self_is_the_caller() {
        let creds = Creds {
            fsuid: 0,
            fsgid: 0,
            groups: vec![],
            cap_eff: 0,
            umask: 0o22,
        };
        let who = Who {
            creds: &creds,
            ns_pid: 7,
            ns_tid: 9,
        };
        assert_eq!(proc_self(b"/proc/self/status", &who), b"/proc/7/status");
        assert_eq!(proc_self(b"/proc/thread-self", &who), b"/proc/7/task/9");
        assert_eq!(proc_self(b"/proc/selfish", &who), b"/proc/selfish");
    }
}
