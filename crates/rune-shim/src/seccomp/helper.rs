//! The on-behalf helper: a single-threaded process that has joined all of a caller's
//! namespaces and, per call, takes the caller's root, cwd or dirfd, file-system ids, groups,
//! effective capabilities and umask, so that a call made here means what it would mean to
//! the caller (ARCHITECTURE.md §5). One helper serves every caller with the same namespaces.
//! It is forked from the supervisor and keeps none of its descriptors: no listener copy may
//! linger here (fail closed).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::time::Duration;

use nix::fcntl::{FcntlArg, OFlag, fcntl, open};
use nix::sched::setns;
use nix::sys::stat::Mode;
use serde::{Deserialize, Serialize};

use super::caller::{Creds, NAMESPACES};
use super::decide_open::{OpenCall, OpenOutcome};
use super::open::Opener;
use super::{channel, sys};
use crate::handler::Policies;

/// What the supervisor asks; the descriptors travel alongside.
#[derive(Debug, Serialize, Deserialize)]
pub enum Request {
    /// An open for a caller, decided here on the object found (one round trip per call; the
    /// helper has the supervisor's policies). Descriptors: the caller's root, then the
    /// directory a relative path starts from.
    Open {
        creds: Creds,
        ns_pid: u32,
        ns_tid: u32,
        call: OpenCall,
    },
    /// Find the directory holding `path`'s last component and what is at that name now
    /// (through a final symlink only with `follow`), for a later `Link` or `Rename`: `slot` 0
    /// is the old name, 1 the new. Descriptors as for `Resolve`.
    Name {
        creds: Creds,
        ns_pid: u32,
        ns_tid: u32,
        path: Vec<u8>,
        slot: usize,
        follow: bool,
    },
    /// Link the object named in slot 0 at the name in slot 1.
    Link { creds: Creds },
    /// Rename the name in slot 0 to the name in slot 1 (`renameat2` flags).
    Rename { creds: Creds, flags: u32 },
}

/// The object a path names, as the path of what was actually found inside the caller's root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Resolved {
    Object(String),
    /// Nothing there yet (`O_CREAT` would create this).
    Missing(String),
    /// The object at a name (`None`: nothing there), for a link or rename.
    Named(Option<String>),
    Failed(i32),
}

#[derive(Debug, Serialize, Deserialize)]
pub enum Opened {
    Failed(i32),
    /// The directory changed under the create (a symlink appeared): decide again.
    Retry,
    /// A link or rename done.
    Done,
}

#[derive(Debug)]
pub struct Helper {
    sock: OwnedFd,
    pid: libc::pid_t,
}

impl Helper {
    /// Forks a helper into the namespaces of thread `tid` (those that differ from ours); it
    /// decides opens with `policies`.
    pub fn spawn(tid: u32, policies: &Policies) -> io::Result<Helper> {
        let mut joins = Vec::new();
        for (name, flag) in NAMESPACES {
            let theirs = format!("/proc/{tid}/ns/{name}");
            let ours = format!("/proc/self/ns/{name}");
            if std::fs::read_link(&theirs)? != std::fs::read_link(&ours)? {
                let fd = open(
                    theirs.as_str(),
                    OFlag::O_RDONLY | OFlag::O_CLOEXEC,
                    Mode::empty(),
                )?;
                joins.push((sys::adopt([fd]).remove(0), flag));
            }
        }
        let (ours, theirs) = channel::pair()?;
        match sys::fork()? {
            Some(pid) => Ok(Helper { sock: ours, pid }),
            None => {
                let code = match serve(theirs.as_fd(), &joins, policies) {
                    Ok(()) => 0,
                    Err(_) => 1,
                };
                sys::exit_child(code)
            }
        }
    }

    /// Serves an open: what was decided and, if it was opened, the descriptor.
    pub fn open(
        &self,
        req: &Request,
        fds: &[BorrowedFd<'_>],
    ) -> io::Result<(OpenOutcome, Option<OwnedFd>)> {
        channel::send(self.sock.as_fd(), req, fds)?;
        let (r, mut got) = channel::recv_within::<OpenOutcome>(self.sock.as_fd(), REPLY_SPIN)?
            .ok_or_else(|| io::Error::other("on-behalf helper exited"))?;
        Ok((r, got.pop()))
    }

    pub fn resolve(&self, req: &Request, fds: &[BorrowedFd<'_>]) -> io::Result<Resolved> {
        channel::send(self.sock.as_fd(), req, fds)?;
        let (r, _) = channel::recv::<Resolved>(self.sock.as_fd())?
            .ok_or_else(|| io::Error::other("on-behalf helper exited"))?;
        Ok(r)
    }

    /// A link or rename after `Name` requests: `Ok(())` or the errno.
    pub fn apply(&self, req: &Request) -> io::Result<Result<(), i32>> {
        channel::send(self.sock.as_fd(), req, &[])?;
        let (r, _) = channel::recv::<Opened>(self.sock.as_fd())?
            .ok_or_else(|| io::Error::other("on-behalf helper exited"))?;
        Ok(match r {
            Opened::Done => Ok(()),
            Opened::Failed(e) => Err(e),
            _ => Err(libc::EIO),
        })
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.pid),
            nix::sys::signal::SIGKILL,
        );
        let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(self.pid), None);
    }
}

/// The helper's life: join the namespaces, shed every descriptor of the supervisor, serve.
fn serve(
    sock: BorrowedFd<'_>,
    joins: &[(OwnedFd, nix::sched::CloneFlags)],
    policies: &Policies,
) -> io::Result<()> {
    // Our own descriptor table as seen from the host's /proc, opened before joining the
    // caller's mount namespace: the helper reads and reopens its own descriptors through it.
    let fd_dir = sys::adopt([open(
        "/proc/self/fd",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?])
    .remove(0);
    for (fd, flag) in joins {
        setns(fd, *flag)?;
    }
    let high_sock = fcntl(sock.as_raw_fd(), FcntlArg::F_DUPFD_CLOEXEC(1000))?;
    let high_dir = fcntl(fd_dir.as_raw_fd(), FcntlArg::F_DUPFD_CLOEXEC(1001))?;
    nix::unistd::dup2(high_sock, SOCK)?;
    nix::unistd::dup2(high_dir, FD_DIR)?;
    // Everything else (listeners included) is closed behind Rust's back: forget its owners.
    std::mem::forget(fd_dir);
    sys::close_from(FD_DIR as u32 + 1)?;
    let sock = sys::borrow(SOCK);
    let mut opener = Opener::new(sys::borrow(FD_DIR));
    while let Some((req, fds)) = channel::recv_within::<Request>(sock, REQUEST_SPIN)? {
        match req {
            Request::Open {
                creds,
                ns_pid,
                ns_tid,
                call,
            } => {
                let who = super::open::Who {
                    creds: &creds,
                    ns_pid,
                    ns_tid,
                };
                let (outcome, fd) = opener.serve_open(policies, &who, &fds, &call);
                let fds: Vec<BorrowedFd<'_>> = fd.iter().map(AsFd::as_fd).collect();
                channel::send(sock, &outcome, &fds)?;
            }
            Request::Name {
                creds,
                ns_pid,
                ns_tid,
                path,
                slot,
                follow,
            } => {
                let who = super::open::Who {
                    creds: &creds,
                    ns_pid,
                    ns_tid,
                };
                let r = opener.name(&who, &fds, &path, slot, follow);
                channel::send(sock, &r, &[])?;
            }
            Request::Link { creds } => channel::send(sock, &opener.link(&creds), &[])?,
            Request::Rename { creds, flags } => {
                channel::send(sock, &opener.rename(&creds, flags), &[])?
            }
        }
    }
    Ok(())
}

/// How long the supervisor polls for a helper's answer, and a helper for the next request,
/// before sleeping (see `channel::recv_within`): an open takes the helper about 20 µs, and a
/// program that opens files opens many.
const REPLY_SPIN: Duration = Duration::from_micros(200);
const REQUEST_SPIN: Duration = Duration::from_micros(200);

const SOCK: i32 = 3;
const FD_DIR: i32 = 4;
