//! Opening a file for a caller, inside the on-behalf helper, in two steps so that the policy
//! decides on the object actually found and nothing happens to the file system before it
//! has: `resolve` finds the object as the caller's lookup would (`object::find`, in the
//! caller's root and as the caller) and reports its real path from the container's root;
//! `open` then reopens exactly that object (or creates the name in exactly that directory)
//! with the caller's flags.

use std::collections::HashSet;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use caps::{CapSet, Capability};
use nix::errno::Errno;
use nix::fcntl::readlinkat;
use nix::sys::stat::Mode;
use nix::unistd::{Gid, Uid, chroot, fchdir, setfsgid, setfsuid, setgroups, setresgid, setresuid};

use super::caller::Creds;
use super::helper::{Opened, Resolved};
use super::sys;
use crate::object::decide::Failure;
use crate::object::names::Named;
use crate::object::{self, Found, Opening, Whose};

/// The caller a lookup is made for.
#[derive(Debug)]
pub struct Who<'a> {
    pub creds: &'a Creds,
    pub ns_pid: u32,
    pub ns_tid: u32,
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
            own: object::Own::Refused,
        };
        let found = self.in_callers_root(who, fds, |base| {
            object::find(base, path, flags, resolve, whose).map_err(errno)
        });
        let found = match found {
            Ok(f) => f,
            Err(e) => return Resolved::Failed(e),
        };
        let seen = match &found {
            Found::Object(fd) => self
                .real_path(fd.as_fd())
                .map(|p| Resolved::Object(object::kind::decided_path(fd.as_fd(), p))),
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
        let how = object::Reopen {
            // A blocking open would stall every other caller of the supervisor; a device
            // beyond the harmless ones is not the helper's to open (it is outside the
            // container's device cgroup).
            may_block: false,
            devices: false,
            o_path: false,
        };
        object::reopen(self.fd_dir, found, flags, mode, how).map_err(|f| match f {
            Failure::Failed(e) => Opened::Failed(e),
            Failure::Retry => Opened::Retry,
            Failure::Later => Opened::Later,
        })
    }

    /// A caller must never get a descriptor for this helper's own /proc entries (its
    /// `mem` would let it write into a process holding the caller's namespaces' root):
    /// opening them here would pass the kernel's checks because they are our own.
    fn refuse_own_proc(&self, fd: BorrowedFd<'_>) -> Result<(), Opened> {
        if object::kind(fd) != Ok(object::Kind::Proc) {
            return Ok(());
        }
        let own = self
            .real_path(fd)
            .ok()
            .and_then(|p| object::kind::proc_entry(&p))
            .is_none_or(|e| e.is_own());
        if own {
            return Err(Opened::Failed(libc::EACCES));
        }
        Ok(())
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
            own: object::Own::Refused,
        };
        let found = self.in_callers_root(who, fds, |base| {
            object::names::find(base, path, follow, whose).map_err(errno)
        });
        let named = match found {
            Ok(n) => n,
            Err(e) => return Resolved::Failed(e),
        };
        let object = named
            .object()
            .and_then(|fd| Some(object::kind::decided_path(fd, self.real_path(fd).ok()?)));
        self.names[slot] = Some(named);
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
            object::names::link(this.fd_dir, &old, &new).map_err(errno)
        });
        r.map_or_else(Opened::Failed, |()| Opened::Done)
    }

    pub fn rename(&mut self, creds: &Creds, flags: u32) -> Opened {
        let Some((old, new)) = self.take_names() else {
            return Opened::Failed(libc::EINVAL);
        };
        let r = self.as_caller(creds, |_| {
            object::names::rename(&old, &new, flags).map_err(errno)
        });
        r.map_or_else(Opened::Failed, |()| Opened::Done)
    }
}

/// Makes `dir` this process's root (and cwd).
fn enter_root(dir: BorrowedFd<'_>) -> Result<(), Errno> {
    fchdir(dir.as_raw_fd()).and_then(|()| chroot("."))
}
