//! Opening a file for a caller, in two steps so that the policy decides on the object
//! actually found and nothing happens to the file system before it has: `resolve` finds the
//! object as the caller's lookup would (`object::find`, in the caller's root and as the
//! caller) and reports its real path from the container's root; `open` then reopens exactly
//! that object (or creates the name in exactly that directory) with the caller's flags.
//! Made by a serving thread of the supervisor for callers in its user namespace, by an
//! on-behalf helper for the others; either way only the thread doing it changes its root
//! and credentials.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use nix::errno::Errno;
use nix::fcntl::readlinkat;
use nix::sys::stat::Mode;
use nix::unistd::{chroot, fchdir};

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

/// The ids and capabilities a thread comes back to after acting as a caller.
#[derive(Debug, Clone)]
pub struct Identity {
    uid: u32,
    gid: u32,
    /// Effective, permitted and inheritable capabilities.
    caps: [u64; 3],
}

impl Identity {
    pub fn current() -> Identity {
        Identity {
            uid: nix::unistd::geteuid().as_raw(),
            gid: nix::unistd::getegid().as_raw(),
            caps: sys::thread_caps().unwrap_or_default(),
        }
    }
}

/// Where an opener's lookups start and end.
#[derive(Debug, Clone, Copy)]
pub struct Roots<'a> {
    /// Our own descriptor table (`/proc/self/fd`), opened from the host's /proc.
    pub fd_dir: BorrowedFd<'a>,
    /// The container's root (the first process's, at its hand-over): real paths are taken
    /// from here, so that a caller that chroots elsewhere is still decided on the path the
    /// policy names (`/etc/secret`, not `/secret` from a chroot in `/etc`).
    pub root: BorrowedFd<'a>,
    /// Where the thread rests between calls when that is not the container's root: a serving
    /// thread of the supervisor goes back to the host's (its other work names host paths).
    pub home: Option<BorrowedFd<'a>>,
    /// What to do when the thread cannot leave a caller's root: it must never serve (or do)
    /// anything else from there. The helper exits; the supervisor aborts (its listeners
    /// close, and every trapped call fails: closed, not open).
    pub lost: fn() -> !,
    /// Whether this thread's process is an ancestor of the callers (see `refuse_own_proc`).
    pub ancestor: bool,
}

/// Which root the thread is in (each move costs an `fchdir` and a `chroot`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Where it rests between requests (`Roots::home`, else the container's root).
    Rest,
    /// The container's root.
    Container,
    /// The root of the caller of the request being served.
    Caller,
}

/// What `become_caller` changed.
#[derive(Debug, Clone, Copy, Default)]
struct Switched {
    ids: bool,
    caps: bool,
}

#[derive(Debug)]
pub struct Opener<'a> {
    at: Roots<'a>,
    own: &'a Identity,
    found: Option<Found>,
    names: [Option<Named>; 2],
    place: Place,
    /// Whether the caller's root is the container's (nearly always: only a caller that
    /// chrooted has another), learned once per request: then the real path of what was
    /// found is read where the lookup was made, with no move.
    same_root: Option<bool>,
}

fn errno(e: Errno) -> i32 {
    e as i32
}

fn io_errno(e: std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EPERM))
}

impl<'a> Opener<'a> {
    pub fn new(at: Roots<'a>, own: &'a Identity) -> Opener<'a> {
        Opener {
            at,
            own,
            found: None,
            names: [None, None],
            place: Place::Rest,
            same_root: None,
        }
    }

    /// Takes the caller's ids, groups, capabilities and umask for the calls that follow, on
    /// this thread only; what already is the caller's is left alone (each change of
    /// credentials costs the kernel a new set of them). Says what was changed.
    fn become_caller(&self, c: &Creds) -> Result<Switched, Errno> {
        let mut switched = Switched::default();
        if !sys::thread_groups_are(&c.groups).map_err(io_errno)? {
            sys::thread_setgroups(&c.groups).map_err(io_errno)?;
        }
        // The effective ids too, not only the file-system ones (which follow them): some
        // kernel checks (/proc/sys) look at the effective uid. The saved ids stay ours, to
        // come back; the real ones stay ours, so that the caller cannot signal this thread.
        if (c.fsuid, c.fsgid) != (self.own.uid, self.own.gid) {
            // The kernel clears the effective capabilities as the effective uid leaves 0 and
            // raises them as it comes back: they are set after every change of ids.
            switched.ids = true;
            switched.caps = true;
            sys::thread_setresgid([u32::MAX, c.fsgid, self.own.gid]).map_err(io_errno)?;
            sys::thread_setresuid([u32::MAX, c.fsuid, self.own.uid]).map_err(io_errno)?;
        }
        let [eff, permitted, inheritable] = self.own.caps;
        let theirs = c.cap_eff & permitted;
        if theirs != eff || switched.caps {
            switched.caps = true;
            sys::thread_set_caps([theirs, permitted, inheritable]).map_err(io_errno)?;
        }
        nix::sys::stat::umask(Mode::from_bits_truncate(c.umask));
        Ok(switched)
    }

    /// Undoes what `become_caller` changed (the groups stay: they give nothing to a thread
    /// that has its own ids and capabilities back).
    /// A thread that cannot be itself again must not go on (it would serve the next caller,
    /// or write events, with this one's rights or fewer).
    fn become_self(&self, switched: Switched) {
        let mut back = true;
        if switched.ids {
            back &= sys::thread_setresuid([u32::MAX, self.own.uid, u32::MAX]).is_ok();
        }
        if switched.caps {
            back &= sys::thread_set_caps(self.own.caps).is_ok();
        }
        if switched.ids {
            back &= sys::thread_setresgid([u32::MAX, self.own.gid, u32::MAX]).is_ok();
        }
        if !back {
            (self.at.lost)()
        }
    }

    /// Back to where the thread rests between requests; called at the end of every request
    /// (`agent::answer`) and when the opener is dropped, so that no other request, and
    /// nothing else the thread does, starts from a caller's root.
    pub fn rest(&mut self) {
        self.same_root = None;
        let back = match (self.at.home, self.place) {
            (_, Place::Rest) => Ok(()),
            (Some(home), _) => enter_root(home),
            (None, Place::Container) => Ok(()),
            (None, Place::Caller) => enter_root(self.at.root),
        };
        if back.is_err() {
            (self.at.lost)()
        }
        self.place = Place::Rest;
    }

    /// Into the container's root, where real paths are read (`real_path`).
    fn enter_container(&mut self) -> Result<(), Errno> {
        let there = match self.place {
            Place::Container => true,
            Place::Caller => self.same_root == Some(true),
            Place::Rest => self.at.home.is_none(),
        };
        if !there {
            // A half-made move leaves the thread nowhere known: it is treated as the caller's.
            self.place = Place::Caller;
            enter_root(self.at.root)?;
            self.place = Place::Container;
        }
        Ok(())
    }

    fn real_path(&self, fd: BorrowedFd<'_>) -> Result<String, Errno> {
        let target = readlinkat(
            Some(self.at.fd_dir.as_raw_fd()),
            fd.as_raw_fd().to_string().as_str(),
        )?;
        Ok(target.to_string_lossy().into_owned())
    }

    pub fn resolve(
        &mut self,
        who: &Who<'_>,
        fds: &[BorrowedFd<'_>],
        path: &[u8],
        flags: i32,
        resolve: u64,
    ) -> Resolved {
        self.found = None;
        self.resolve_in_root(who, fds, path, flags, resolve)
    }

    /// `resolve`, leaving the thread in the container's root.
    fn resolve_in_root(
        &mut self,
        who: &Who<'_>,
        fds: &[BorrowedFd<'_>],
        path: &[u8],
        flags: i32,
        resolve: u64,
    ) -> Resolved {
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
    /// caller's would) and as the caller, then moves to the container's root; `fds` are
    /// the caller's root and the directory a relative path starts from, the same root for
    /// every lookup of one request. The real paths of what was found are taken there.
    fn in_callers_root<T>(
        &mut self,
        who: &Who<'_>,
        fds: &[BorrowedFd<'_>],
        f: impl FnOnce(BorrowedFd<'_>) -> Result<T, i32>,
    ) -> Result<T, i32> {
        let [root, base] = fds else {
            return Err(libc::EINVAL);
        };
        if self.place != Place::Caller {
            self.place = Place::Caller;
            enter_root(*root).map_err(errno)?;
        }
        if self.same_root.is_none() {
            self.same_root = Some(sys::same_directory(*root, self.at.root));
        }
        let r = self.as_caller(who.creds, |_| f(*base));
        // Never serve another call from a caller's root.
        if self.enter_container().is_err() {
            (self.at.lost)()
        }
        r
    }

    /// Runs `f` as the caller (ids, capabilities, umask), then becomes the helper again.
    fn as_caller<T>(
        &mut self,
        creds: &Creds,
        f: impl FnOnce(&mut Self) -> Result<T, i32>,
    ) -> Result<T, i32> {
        match self.become_caller(creds) {
            Ok(switched) => {
                let r = f(self);
                self.become_self(switched);
                r
            }
            // Whatever was changed before the failure is undone.
            Err(e) => {
                self.become_self(Switched {
                    ids: true,
                    caps: true,
                });
                Err(errno(e))
            }
        }
    }

    /// Opens what the last `resolve` found. Call only after the policy allowed it.
    pub fn open(&mut self, who: &Who<'_>, flags: i32, mode: u32) -> Result<Opening, Opened> {
        let found = self.found.take().ok_or(Opened::Failed(libc::EINVAL))?;
        let opening = self
            .as_caller(who.creds, |this| Ok(this.open_found(found, flags, mode)))
            .map_err(Opened::Failed)??;
        if opening.on_proc {
            self.refuse_own_proc(opening.fd.as_fd(), who)?;
        }
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
        object::reopen(self.at.fd_dir, found, flags, mode, how).map_err(|f| match f {
            Failure::Failed(e) => Opened::Failed(e),
            Failure::Retry => Opened::Retry,
            Failure::Later => Opened::Later,
        })
    }

    /// A caller must never get a descriptor for our own /proc entries (the `mem` of the
    /// supervisor or a helper would let it write into the process holding its listeners or
    /// its namespaces' root): opening them here passes the kernel's checks because they are
    /// our own. Looked at from the container's root, where the caller's /proc is.
    ///
    /// A serving thread may be an ancestor of the callers (`rune-shim run` forks them):
    /// Yama's ptrace scope would let it, not the caller, open a sibling's `mem` (the
    /// one procfs file opened with the attach check Yama restricts). Only the caller's own
    /// is opened there.
    fn refuse_own_proc(&mut self, fd: BorrowedFd<'_>, who: &Who<'_>) -> Result<(), Opened> {
        if self.enter_container().is_err() {
            return Err(Opened::Failed(libc::EACCES));
        }
        let entry = self
            .real_path(fd)
            .ok()
            .and_then(|p| object::kind::proc_entry(&p));
        let callers = who.ns_pid.to_string();
        let own = entry.as_ref().is_none_or(|e| {
            e.is_own()
                || (self.at.ancestor
                    && e.below.last().is_some_and(|l| l == "mem")
                    && e.pid().as_ref() != Some(&callers))
        });
        if own {
            return Err(Opened::Failed(libc::EACCES));
        }
        Ok(())
    }
}

impl Opener<'_> {
    pub fn name(
        &mut self,
        who: &Who<'_>,
        fds: &[BorrowedFd<'_>],
        path: &[u8],
        slot: usize,
        follow: bool,
    ) -> Resolved {
        self.name_in_root(who, fds, path, slot, follow)
    }

    /// `name`, leaving the thread in the container's root.
    fn name_in_root(
        &mut self,
        who: &Who<'_>,
        fds: &[BorrowedFd<'_>],
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
            object::names::link(this.at.fd_dir, &old, &new).map_err(errno)
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

impl Drop for Opener<'_> {
    fn drop(&mut self) {
        self.rest();
    }
}

/// Makes `dir` this process's root (and cwd).
fn enter_root(dir: BorrowedFd<'_>) -> Result<(), Errno> {
    fchdir(dir.as_raw_fd()).and_then(|()| chroot("."))
}
