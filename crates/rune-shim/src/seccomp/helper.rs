//! The on-behalf helper: a single-threaded process that has joined all of a caller's
//! namespaces and, per call, takes the caller's root, cwd or dirfd, file-system ids, groups,
//! effective capabilities and umask, so that a call made here means what it would mean to
//! the caller (ARCHITECTURE.md §5). It serves callers in another user namespace than the
//! supervisor's (which a multi-threaded process cannot join); the others are served by the
//! supervisor's own threads (`here`). One helper serves every caller with the same
//! namespaces. It is forked from the supervisor and keeps none of its descriptors: no
//! listener copy may linger here (fail closed). The requests are those every agent answers
//! (`agent::answer`).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::time::Duration;

use nix::fcntl::{FcntlArg, OFlag, fcntl, open};
use nix::sched::setns;
use nix::sys::stat::Mode;
use serde::{Deserialize, Serialize};

use super::agent;
use super::caller::{Creds, NAMESPACES};
use super::open::{Identity, Opener, Roots};
use super::{channel, sys};
use crate::handler::Policies;
use crate::object::decide::{OpenCall, OpenOutcome};

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
    /// The open would block (a FIFO without a reader, a file under a lease): the supervisor
    /// asks again later, and the caller waits, as it would have in the kernel.
    Later,
    /// The directory changed under the create (a symlink appeared): decide again.
    Retry,
    /// A link or rename done.
    Done,
}

/// An agent's answer to one request.
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum Reply {
    Open(OpenOutcome),
    Resolved(Resolved),
    Applied(Opened),
    /// The request could not be read: only that call fails.
    Bad,
}

#[derive(Debug)]
pub struct Helper {
    sock: OwnedFd,
    pid: libc::pid_t,
    /// How long to poll for an answer before sleeping: the supervisor's choice per call.
    pub(super) spin: Duration,
}

impl Helper {
    /// Forks a helper into the namespaces of thread `tid` (those that differ from the
    /// forking thread's, which a serving thread may have changed); it decides opens with
    /// `policies`, on paths from the container's `root`.
    pub fn spawn(
        tid: u32,
        policies: &Policies,
        root: Option<BorrowedFd<'_>>,
    ) -> io::Result<Helper> {
        let mut joins = Vec::new();
        for (name, flag) in NAMESPACES {
            let theirs = format!("/proc/{tid}/ns/{name}");
            let ours = format!("/proc/thread-self/ns/{name}");
            if std::fs::read_link(&theirs)? != std::fs::read_link(&ours)? {
                let fd = open(
                    theirs.as_str(),
                    OFlag::O_RDONLY | OFlag::O_CLOEXEC,
                    Mode::empty(),
                )?;
                joins.push((sys::adopt([fd]).remove(0), flag));
            }
        }
        let (ours, theirs) = channel::stream_pair()?;
        match sys::fork()? {
            Some(pid) => Ok(Helper {
                sock: ours,
                pid,
                spin: Duration::ZERO,
            }),
            None => {
                let code = match serve(theirs.as_fd(), &joins, policies, root) {
                    Ok(()) => 0,
                    Err(_) => 1,
                };
                sys::exit_child(code)
            }
        }
    }

    /// One round trip. An error means the helper is gone (or out of step): the supervisor
    /// drops it and starts another.
    pub(super) fn call(
        &self,
        req: &Request,
        fds: &[BorrowedFd<'_>],
    ) -> io::Result<(Reply, Vec<OwnedFd>)> {
        channel::send_framed(self.sock.as_fd(), req, fds)?;
        match channel::recv_framed_within::<Reply>(self.sock.as_fd(), self.spin)? {
            channel::Framed::Message(r, fds) => Ok((r, fds)),
            channel::Framed::Bad(_) => Err(io::Error::other("on-behalf helper: bad reply")),
            channel::Framed::Closed => Err(io::Error::other("on-behalf helper exited")),
        }
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
    root: Option<BorrowedFd<'_>>,
) -> io::Result<()> {
    // Named for what it is (forked from a serving thread, it would carry that thread's name).
    let _ = nix::sys::prctl::set_name(c"rune-helper");
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
    // None of the groups of the last caller of the thread that forked us; where setgroups is
    // denied (an unprivileged namespace's /proc/PID/setgroups), those it was entered with.
    match sys::thread_setgroups(&[]) {
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => {}
        r => r?,
    }
    // In the caller's user namespace our own ids are unmapped (they cannot even be named to
    // come back to after acting as a caller): become its root, whose capabilities there we
    // hold since the join.
    if joins
        .iter()
        .any(|(_, f)| *f == nix::sched::CloneFlags::CLONE_NEWUSER)
    {
        sys::thread_setresgid([0, 0, 0])?;
        sys::thread_setresuid([0, 0, 0])?;
    }
    // Without a container root handed over, the root of the namespaces just joined.
    let own_root;
    let root = match root {
        Some(r) => r,
        None => {
            own_root = sys::adopt([open(
                "/",
                OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )?])
            .remove(0);
            own_root.as_fd()
        }
    };
    let high_sock = fcntl(sock.as_raw_fd(), FcntlArg::F_DUPFD_CLOEXEC(1000))?;
    let high_dir = fcntl(fd_dir.as_raw_fd(), FcntlArg::F_DUPFD_CLOEXEC(1001))?;
    let high_root = fcntl(root.as_raw_fd(), FcntlArg::F_DUPFD_CLOEXEC(1002))?;
    nix::unistd::dup2(high_sock, SOCK)?;
    nix::unistd::dup2(high_dir, FD_DIR)?;
    nix::unistd::dup2(high_root, FD_ROOT)?;
    // Everything else (listeners included) is closed behind Rust's back: forget its owners.
    std::mem::forget(fd_dir);
    sys::close_from(FD_ROOT as u32 + 1)?;
    let sock = sys::borrow(SOCK);
    let own = Identity::current();
    let roots = Roots {
        fd_dir: sys::borrow(FD_DIR),
        root: sys::borrow(FD_ROOT),
        home: None,
        lost: || sys::exit_child(1),
        ancestor: false,
    };
    let mut opener = Opener::new(roots, &own);
    loop {
        let (req, fds) = match channel::recv_framed_within::<Request>(sock, REQUEST_SPIN)? {
            channel::Framed::Message(req, fds) => (req, fds),
            channel::Framed::Bad(_) => {
                channel::send_framed(sock, &Reply::Bad, &[])?;
                continue;
            }
            channel::Framed::Closed => return Ok(()),
        };
        let fds: Vec<BorrowedFd<'_>> = fds.iter().map(AsFd::as_fd).collect();
        let (reply, fd) = agent::answer(&mut opener, policies, &req, &fds);
        let fds: Vec<BorrowedFd<'_>> = fd.iter().map(AsFd::as_fd).collect();
        channel::send_framed(sock, &reply, &fds)?;
    }
}

/// How long a helper polls for the next request, and the supervisor for a helper's answer
/// while it serves no other call, before sleeping (see `channel::recv_within`): an open
/// takes the helper about 20 µs, a program that opens files opens many, and waking a
/// sleeping CPU costs this VM about 40 µs. With several calls in flight, polling threads
/// would take the CPUs the helpers need: the supervisor then sleeps at once.
pub(super) const REPLY_SPIN: Duration = Duration::from_micros(200);
const REQUEST_SPIN: Duration = Duration::from_micros(200);

const SOCK: i32 = 3;
const FD_DIR: i32 = 4;
const FD_ROOT: i32 = 5;
