//! The notify supervisor: one single-threaded process per container (or per `rune-shim run`)
//! that takes the listeners handed over to it and serves every trapped call of the container's
//! processes, multiplexed with poll(2). It is the only holder of the listeners: when it dies,
//! trapped calls fail with `ENOSYS` (fail closed).

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::sys::socket::{SockFlag, accept4};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use super::handoff::Pending;
use super::helper::Helper;
use super::sys;
use crate::events::Sink;
use crate::handler::Policies;
use crate::syscalls::Arch;

/// Helpers per supervisor: one per set of namespaces its callers live in.
const MAX_HELPERS: usize = 16;

#[derive(Debug)]
pub struct Config {
    pub policies: Policies,
    /// The container id events carry (empty for `rune-shim run`).
    pub container: String,
    pub events: Sink,
}

#[derive(Debug)]
enum Slot {
    /// A seccomp listener being served.
    Listener(OwnedFd),
    /// A socket a process will announce its listener on.
    Conn(OwnedFd),
    /// A listener announced, not yet installed.
    Pending(Pending),
    /// The supervisor's own child (`rune-shim run`), reaped here when it exits: before Linux
    /// 6.x a filter's listener only hangs up once its last process has been reaped.
    Child(OwnedFd, libc::pid_t),
}

/// What serving a call needs: the policies, the event sink, the helpers.
#[derive(Debug)]
pub struct Server {
    pub(super) cfg: Config,
    pub(super) arch: Arch,
    helpers: HashMap<Vec<u64>, Helper>,
}

#[derive(Debug)]
pub struct Supervisor {
    server: Server,
    slots: Vec<Slot>,
    accept: Option<OwnedFd>,
    child_status: Option<nix::sys::wait::WaitStatus>,
}

impl Server {
    /// The helper for the namespaces of thread `tid`.
    pub(super) fn helper(&mut self, tid: u32) -> io::Result<&Helper> {
        let key = super::caller::namespace_key(tid)?;
        // A container that keeps making namespaces must not make unbounded helpers.
        if !self.helpers.contains_key(&key) && self.helpers.len() >= MAX_HELPERS {
            return Err(io::Error::from_raw_os_error(libc::EAGAIN));
        }
        if !self.helpers.contains_key(&key) {
            let h = Helper::spawn(tid, &self.cfg.policies)?;
            self.helpers.insert(key.clone(), h);
        }
        Ok(&self.helpers[&key])
    }

    fn serve_one(&mut self, listener: BorrowedFd<'_>) {
        match sys::notif_recv(listener) {
            Ok(n) => self.serve(listener, n),
            // The caller died between poll and receive.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => tracing::warn!("receiving a trapped call: {e}"),
        }
    }
}

impl Supervisor {
    /// A supervisor that will serve the processes announcing on `conns`, and on connections
    /// to `accept` (for `rune-run exec`).
    pub fn new(cfg: Config, conns: Vec<OwnedFd>, accept: Option<OwnedFd>) -> io::Result<Self> {
        let arch = Arch::native().ok_or_else(|| io::Error::other("unsupported architecture"))?;
        Ok(Supervisor {
            server: Server {
                cfg,
                arch,
                helpers: HashMap::new(),
            },
            slots: conns.into_iter().map(Slot::Conn).collect(),
            accept,
            child_status: None,
        })
    }

    /// Reaps `pid`, a child of this process, when it exits; `run` gives its status.
    pub fn watch_child(&mut self, pid: libc::pid_t) -> io::Result<()> {
        self.slots.push(Slot::Child(sys::pidfd_open(pid)?, pid));
        Ok(())
    }

    /// Serves until no process is left to serve; the watched child's status, if any.
    pub fn run(mut self) -> io::Result<Option<nix::sys::wait::WaitStatus>> {
        loop {
            self.take_pending();
            if self.slots.is_empty() {
                return Ok(self.child_status);
            }
            let waiting = self.slots.iter().any(|s| matches!(s, Slot::Pending(_)));
            let (ready, accept_ready) = self.wait(waiting)?;
            if accept_ready
                && let Some(l) = &self.accept
                && let Ok(conn) = accept4(l.as_raw_fd(), SockFlag::SOCK_CLOEXEC)
            {
                self.slots.push(Slot::Conn(sys::adopt([conn]).remove(0)));
            }
            // Back to front, so that removing a slot keeps the other indices valid.
            for (i, revents) in ready.into_iter().rev() {
                self.on_ready(i, revents);
            }
        }
    }

    fn wait(&self, waiting: bool) -> io::Result<(Vec<(usize, PollFlags)>, bool)> {
        let mut fds: Vec<PollFd<'_>> = self
            .slots
            .iter()
            .map(|s| {
                let fd = match s {
                    Slot::Listener(fd) | Slot::Conn(fd) | Slot::Child(fd, _) => fd.as_fd(),
                    Slot::Pending(p) => p.pidfd(),
                };
                PollFd::new(fd, PollFlags::POLLIN)
            })
            .collect();
        if let Some(l) = &self.accept {
            fds.push(PollFd::new(l.as_fd(), PollFlags::POLLIN));
        }
        // While a listener is announced but not installed, look again soon.
        let timeout = if waiting {
            PollTimeout::from(1u8)
        } else {
            PollTimeout::NONE
        };
        match poll(&mut fds, timeout) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => return Ok((vec![], false)),
            Err(e) => return Err(e.into()),
        }
        let revents: Vec<PollFlags> = fds
            .iter()
            .map(|f| f.revents().unwrap_or(PollFlags::empty()))
            .collect();
        let accept_ready = self.accept.is_some() && !revents[self.slots.len()].is_empty();
        let ready = revents
            .into_iter()
            .take(self.slots.len())
            .enumerate()
            .filter(|(_, r)| !r.is_empty())
            .collect();
        Ok((ready, accept_ready))
    }

    fn take_pending(&mut self) {
        let mut i = 0;
        while i < self.slots.len() {
            if let Slot::Pending(p) = &self.slots[i] {
                match p.take() {
                    Ok(Some(listener)) => {
                        let _ = sys::notif_sync_wakeup(listener.as_fd());
                        self.slots[i] = Slot::Listener(listener);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!("a listener hand-over failed: {e}");
                        self.slots.remove(i);
                        continue;
                    }
                }
            }
            i += 1;
        }
    }

    fn on_ready(&mut self, i: usize, revents: PollFlags) {
        match &self.slots[i] {
            Slot::Listener(fd) => {
                if revents.contains(PollFlags::POLLIN) {
                    self.server.serve_one(fd.as_fd());
                } else if revents.intersects(PollFlags::POLLHUP | PollFlags::POLLERR) {
                    // No process uses this filter any more.
                    self.slots.remove(i);
                }
            }
            Slot::Conn(fd) => match Pending::receive(fd.as_fd()) {
                Ok(Some(p)) => self.slots[i] = Slot::Pending(p),
                Ok(None) | Err(_) => {
                    self.slots.remove(i);
                }
            },
            // The announcing process exited before installing its filter.
            Slot::Pending(_) => {
                self.slots.remove(i);
            }
            Slot::Child(_, pid) => {
                let pid = nix::unistd::Pid::from_raw(*pid);
                loop {
                    match nix::sys::wait::waitpid(pid, None) {
                        Err(nix::errno::Errno::EINTR) => continue,
                        Ok(status) => self.child_status = Some(status),
                        Err(_) => {}
                    }
                    break;
                }
                self.slots.remove(i);
            }
        }
    }
}
