//! A serving thread acting for callers itself. Most containers share the supervisor's user
//! namespace (docker's, podman's and Kubernetes' defaults as root); for their callers a
//! second hop to a helper process costs more than the open it makes, so the thread looks up
//! and opens on its own, with everything that makes it mean what it would mean to the caller
//! changed for this thread only:
//! - root, cwd and umask: the thread has its own (`unshare(CLONE_FS)` at its start);
//! - ids, groups and capabilities: by the raw system calls, which change one thread
//!   (glibc's wrappers change every thread of the process);
//! - the network, IPC, UTS and cgroup namespaces (what `/proc/sys/net`, `/proc/sys/kernel`
//!   and cgroup files mean to an opener): joined with `setns`, which changes one thread.
//!
//! Two namespaces are not joined. The mount namespace is not needed: every lookup starts from
//! the caller's root or a directory it holds (descriptors of its mount tree, which a walk
//! follows whatever namespace the walker is in) with the thread chrooted there, so `..` and
//! absolute symlinks stop where the caller's would. The pid namespace of a process never
//! changes (`setns` moves only its future children): `/proc/self` is resolved for the caller
//! by `object::find`. A caller in another user namespace is served by a helper: a
//! multi-threaded process cannot join one.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::fcntl::{OFlag, open};
use nix::sched::{CloneFlags, setns};
use nix::sys::stat::Mode;

use super::caller::ProcDir;
use super::open::{Identity, Opener, Roots};
use super::sys;

/// The namespaces a serving thread joins for a caller.
const JOINED: [(&str, CloneFlags); 4] = [
    ("net", CloneFlags::CLONE_NEWNET),
    ("ipc", CloneFlags::CLONE_NEWIPC),
    ("uts", CloneFlags::CLONE_NEWUTS),
    ("cgroup", CloneFlags::CLONE_NEWCGROUP),
];

#[derive(Debug)]
pub(super) struct Here {
    fd_dir: OwnedFd,
    /// The host's root, where the thread rests between calls.
    home: OwnedFd,
    own: Identity,
    /// The `JOINED` namespaces this thread is in now, by number.
    key: [u64; JOINED.len()],
}

fn o_path_dir(path: &str) -> io::Result<OwnedFd> {
    let fd = open(
        path,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    Ok(sys::adopt([fd]).remove(0))
}

fn abort() -> ! {
    std::process::abort()
}

impl Here {
    /// Makes the calling thread one that can act for callers.
    pub(super) fn new() -> io::Result<Here> {
        sys::unshare_fs()?;
        Ok(Here {
            fd_dir: o_path_dir("/proc/self/fd")?,
            home: o_path_dir("/")?,
            own: Identity::current(),
            key: {
                let me = ProcDir::open("thread-self")?;
                let mut key = [0; JOINED.len()];
                for (k, (name, _)) in key.iter_mut().zip(JOINED) {
                    *k = me.namespace(name)?;
                }
                key
            },
        })
    }

    /// Puts this thread in the namespaces of the caller whose `/proc` directory is `proc`
    /// (one in our user namespace) where it is not yet.
    pub(super) fn join(&mut self, proc: &ProcDir) -> io::Result<()> {
        for (i, (name, flag)) in JOINED.into_iter().enumerate() {
            if proc.namespace(name)? == self.key[i] {
                continue;
            }
            setns(proc.namespace_fd(name)?, flag)?;
            // What was joined is known by its own number (the caller may have moved since).
            self.key[i] = ProcDir::open("thread-self")?.namespace(name)?;
        }
        Ok(())
    }

    /// An opener for one call, rooted in the container's `root`; `ancestor` if our process
    /// forked the callers' (see `Roots::ancestor`).
    pub(super) fn opener<'a>(&'a self, root: BorrowedFd<'a>, ancestor: bool) -> Opener<'a> {
        let roots = Roots {
            fd_dir: self.fd_dir.as_fd(),
            root,
            home: Some(self.home.as_fd()),
            lost: abort,
            ancestor,
        };
        Opener::new(roots, &self.own)
    }
}
