//! Opening a file for a caller, inside the on-behalf helper, in two steps so that the policy
//! decides on the object actually found and nothing happens to the file system before it
//! has: `resolve` finds the object as the caller's lookup would (`object::find`, in the
//! caller's root and as the caller) and reports its real path from the container's root;
//! `open` then reopens exactly that object (or creates the name in exactly that directory)
//! with the caller's flags.

use std::collections::HashSet;
use std::ffi::{CString, OsStr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use caps::{CapSet, Capability};
use nix::errno::Errno;
use nix::fcntl::{
    AtFlags, FcntlArg, OFlag, OpenHow, RenameFlags, ResolveFlag, fcntl, openat, openat2,
    readlinkat, renameat2,
};
use nix::sys::stat::{Mode, stat};
use nix::sys::statfs::{PROC_SUPER_MAGIC, fstatfs, statfs};
use nix::unistd::{
    Gid, Uid, chroot, fchdir, linkat, setfsgid, setfsuid, setgroups, setresgid, setresuid,
};

use super::caller::Creds;
use super::helper::{Opened, Resolved};
use super::sys;
use crate::object::{self, Found, Kind, Whose};

/// The caller a lookup is made for.
#[derive(Debug)]
pub struct Who<'a> {
    pub creds: &'a Creds,
    pub ns_pid: u32,
    pub ns_tid: u32,
}

/// A name found for a link or rename: its directory, the last component, and the object
/// itself when a final symlink was followed.
#[derive(Debug)]
struct Named {
    parent: OwnedFd,
    name: CString,
    followed: Option<OwnedFd>,
}

/// A descriptor opened for a caller.
#[derive(Debug)]
pub struct Opening {
    pub fd: OwnedFd,
    /// A blocking read-only open of a FIFO: the caller gets it once a writer is there (the
    /// supervisor waits for that, not the helper).
    pub wait_for_writer: bool,
}

#[derive(Debug)]
pub struct Opener {
    fd_dir: BorrowedFd<'static>,
    /// The container's root (the first process's, at its hand-over): real paths are taken
    /// from here, so that a caller that chroots elsewhere is still decided on the path the
    /// policy names (`/etc/secret`, not `/secret` from a chroot in `/etc`).
    root: BorrowedFd<'static>,
    own: (Uid, Gid, HashSet<Capability>),
    found: Option<Found>,
    names: [Option<Named>; 2],
}

fn errno(e: Errno) -> i32 {
    e as i32
}

impl Opener {
    pub fn new(fd_dir: BorrowedFd<'static>, root: BorrowedFd<'static>) -> Opener {
        let permitted = caps::read(None, CapSet::Permitted).unwrap_or_default();
        Opener {
            fd_dir,
            root,
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
        let whose = Whose {
            pid: who.ns_pid,
            tid: who.ns_tid,
        };
        let found = self.in_callers_root(who, fds, |base| {
            object::find(base, path, flags, resolve, whose).map_err(errno)
        });
        let found = match found {
            Ok(f) => f,
            Err(e) => return Resolved::Failed(e),
        };
        let seen = match &found {
            Found::Object(fd) => self.real_path(fd.as_fd()).map(Resolved::Object),
            Found::Create { parent, name } => self.real_path(parent.as_fd()).map(|dir| {
                Resolved::Missing(format!(
                    "{}/{}",
                    dir.trim_end_matches('/'),
                    String::from_utf8_lossy(name.as_bytes())
                ))
            }),
        };
        match seen {
            Ok(r) => {
                self.found = Some(found);
                r
            }
            Err(e) => Resolved::Failed(errno(e)),
        }
    }

    /// Runs `f` in the caller's root (so that `..` and absolute symlinks stop where the
    /// caller's would) and as the caller, then comes back to the container's root; `fds` are
    /// the caller's root and the directory a relative path starts from.
    fn in_callers_root<T>(
        &mut self,
        who: &Who<'_>,
        fds: &[OwnedFd],
        f: impl FnOnce(BorrowedFd<'_>) -> Result<T, i32>,
    ) -> Result<T, i32> {
        let [root, base] = fds else {
            return Err(libc::EINVAL);
        };
        enter_root(root.as_fd()).map_err(errno)?;
        let r = self.as_caller(who.creds, |_| f(base.as_fd()));
        // Never serve another call from a caller's root: fail the helper instead.
        if enter_root(self.root).is_err() {
            sys::exit_child(1);
        }
        r
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

    /// Opens what the last `resolve` found. Call only after the policy allowed it.
    pub fn open(&mut self, creds: &Creds, flags: i32, mode: u32) -> Result<Opening, Opened> {
        let found = self.found.take().ok_or(Opened::Failed(libc::EINVAL))?;
        let opening = self
            .as_caller(creds, |this| Ok(this.open_found(found, flags, mode)))
            .map_err(Opened::Failed)??;
        self.refuse_own_proc(opening.fd.as_fd())?;
        Ok(opening)
    }

    fn open_found(&self, found: Found, flags: i32, mode: u32) -> Result<Opening, Opened> {
        let oflags = OFlag::from_bits_truncate(flags);
        let failed = |e: Errno| Opened::Failed(errno(e));
        match found {
            Found::Object(fd) => {
                if oflags.contains(OFlag::O_CREAT | OFlag::O_EXCL) {
                    return Err(Opened::Failed(libc::EEXIST));
                }
                // An O_PATH open comes here only when a rewrite sent it elsewhere: the
                // supervisor cannot install an O_PATH descriptor, so it gets a read-only one
                // (which the caller must be allowed to open).
                let oflags = if oflags.contains(OFlag::O_PATH) {
                    (oflags - OFlag::O_PATH) | OFlag::O_RDONLY
                } else {
                    oflags
                };
                let nonblock = match object::kind(fd.as_fd()).map_err(failed)? {
                    Kind::Symlink => return Err(Opened::Failed(libc::ELOOP)),
                    Kind::Socket => return Err(Opened::Failed(libc::ENXIO)),
                    // The helper is not in the container's device cgroup: only the devices
                    // every container may use are opened on its behalf.
                    Kind::Device => return Err(Opened::Failed(libc::EPERM)),
                    // Opened without blocking the supervisor; a blocking open of a FIFO
                    // waits for its peer outside the helper (`Opened::Wait`).
                    Kind::Fifo => true,
                    // A file under a lease blocks its opener until the lease is broken: that
                    // wait, too, happens outside the helper.
                    Kind::File => true,
                    Kind::Dir | Kind::HarmlessDevice | Kind::Proc => false,
                };
                // Reopening our own descriptor reopens exactly the object decided on.
                let reopen = (oflags - (OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW))
                    | OFlag::O_NOCTTY
                    | OFlag::O_CLOEXEC
                    | if nonblock {
                        OFlag::O_NONBLOCK
                    } else {
                        OFlag::empty()
                    };
                let opened = openat(
                    Some(self.fd_dir.as_raw_fd()),
                    fd.as_raw_fd().to_string().as_str(),
                    reopen,
                    Mode::empty(),
                );
                let fifo = object::kind(fd.as_fd()) == Ok(Kind::Fifo);
                let asked_nonblock = oflags.contains(OFlag::O_NONBLOCK);
                let n = match opened {
                    Ok(n) => n,
                    // A FIFO with no reader yet, a file under a lease: try again later.
                    Err(Errno::ENXIO) if fifo && !asked_nonblock => return Err(Opened::Later),
                    Err(Errno::EWOULDBLOCK) if !asked_nonblock => return Err(Opened::Later),
                    Err(e) => return Err(failed(e)),
                };
                let n = sys::adopt([n]).remove(0);
                if nonblock && !asked_nonblock {
                    let fl = fcntl(n.as_raw_fd(), FcntlArg::F_GETFL).map_err(failed)?;
                    let fl = OFlag::from_bits_truncate(fl) - OFlag::O_NONBLOCK;
                    fcntl(n.as_raw_fd(), FcntlArg::F_SETFL(fl)).map_err(failed)?;
                    // A blocking read-only open of a FIFO returns once a writer is there.
                    if fifo && oflags & OFlag::O_ACCMODE == OFlag::O_RDONLY {
                        return Ok(Opening {
                            fd: n,
                            wait_for_writer: true,
                        });
                    }
                }
                Ok(Opening {
                    fd: n,
                    wait_for_writer: false,
                })
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
                    Ok(n) => Ok(Opening {
                        fd: sys::adopt([n]).remove(0),
                        wait_for_writer: false,
                    }),
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
        let whose = Whose {
            pid: who.ns_pid,
            tid: who.ns_tid,
        };
        let found = self.in_callers_root(who, fds, |base| {
            let (parent, name, at) = object::walk::name(base, path, whose).map_err(errno)?;
            let followed = match (&at, follow) {
                (Some(_), true) => match object::find(base, path, 0, 0, whose) {
                    Ok(Found::Object(fd)) => Some(fd),
                    Ok(Found::Create { .. }) | Err(Errno::ENOENT) => None,
                    Err(e) => return Err(errno(e)),
                },
                _ => None,
            };
            Ok((parent, name, at, followed))
        });
        let (parent, name, at, followed) = match found {
            Ok(f) => f,
            Err(e) => return Resolved::Failed(e),
        };
        let object = followed
            .as_ref()
            .or(at.as_ref())
            .and_then(|fd| self.real_path(fd.as_fd()).ok());
        self.names[slot] = Some(Named {
            parent,
            name,
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

/// Makes `dir` this process's root (and cwd).
fn enter_root(dir: BorrowedFd<'_>) -> Result<(), Errno> {
    fchdir(dir.as_raw_fd()).and_then(|()| chroot("."))
}
