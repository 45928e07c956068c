//! The notify supervisor: one process per container (or per `rune-shim run`) that takes the
//! listeners handed over to it and serves every trapped call of the container's processes.
//! Each listener is served by a few threads at once (`receivers`); one loop here takes the
//! hand-overs, keeps the calls that must wait (a FIFO's peer, a lease) and reaps its child.
//! It is the only holder of the listeners: when it dies, trapped calls fail with `ENOSYS`
//! (fail closed).

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use nix::sys::socket::{SockFlag, accept4};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use std::time::{Duration, Instant};

use super::agent::Agent;
use super::caller::ProcDir;
use super::handoff::Pending;
use super::helper::{Helper, REPLY_SPIN};
use super::here::Here;
use super::receivers::{Handoff, Receivers};
use super::serve::{Deferred, Reply, Served, Wait};
use super::sys::{self, Notif};
use crate::events::{Event, Sink};
use crate::handler::Policies;
use crate::syscalls::Arch;

/// Sets of namespaces a supervisor keeps helpers for (as many helpers per set as calls are
/// served at once there).
const MAX_HELPERS: usize = 16;

#[derive(Debug)]
pub struct Config {
    pub policies: Policies,
    /// The container id events carry (empty for `rune-shim run`).
    pub container: String,
    pub events: Sink,
}

/// What serving a call reads and never changes.
#[derive(Debug)]
pub(super) struct Settings {
    pub(super) policies: Policies,
    pub(super) container: String,
}

#[derive(Debug)]
enum Slot {
    /// A socket a process will announce its listener on.
    Conn(OwnedFd),
    /// A listener announced, not yet installed.
    Pending(Pending),
    /// The supervisor's own child (`rune-shim run`), reaped here when it exits: before Linux
    /// 6.x a filter's listener only hangs up once its last process has been reaped.
    Child(OwnedFd, libc::pid_t),
    /// A call answered once this descriptor is ready (its listener alongside).
    Waiting(OwnedFd, Deferred),
}

/// A call served again later (its listener alongside), at `due`.
#[derive(Debug)]
struct Retry {
    listener: OwnedFd,
    n: Notif,
    due: Instant,
    backoff: Duration,
}

/// Calls kept for later, at most (each holds a descriptor or two, within the supervisor's
/// RLIMIT_NOFILE of 1024): beyond, a call that would block fails with EAGAIN.
const MAX_DEFERRED: usize = 256;
/// How often a call kept for later is retried, at first and at most, and how often the
/// supervisor checks that the callers it keeps waiting are still there.
const FIRST_RETRY: Duration = Duration::from_millis(2);
const MAX_RETRY: Duration = Duration::from_millis(100);
const LIVENESS: Duration = Duration::from_secs(1);

/// What serving a call needs: the policies, the event sink, the helpers. Shared by every
/// serving thread.
#[derive(Debug)]
pub struct Server {
    pub(super) cfg: Settings,
    events: Mutex<Sink>,
    pub(super) arch: Arch,
    /// The helpers not serving a call now, per set of namespaces.
    helpers: Mutex<HashMap<Vec<u64>, Vec<Helper>>>,
    /// Helpers serving a call now.
    busy: AtomicUsize,
    /// The callers are descendants of this process (`rune-shim run`).
    parent_of_callers: std::sync::atomic::AtomicBool,
    /// The container's root: the first process's, taken when its listener is (it waits in
    /// its first `execve` then, set up, not yet running anything of the image).
    root: OnceLock<OwnedFd>,
}

#[derive(Debug)]
pub struct Supervisor {
    server: Arc<Server>,
    handoff: Arc<Handoff>,
    served: Vec<Receivers>,
    slots: Vec<Slot>,
    retries: Vec<Retry>,
    accept: Option<OwnedFd>,
    child_status: Option<nix::sys::wait::WaitStatus>,
}

impl Server {
    /// Runs `f` with an agent for caller `tid` (whose `/proc` directory is `proc`, and
    /// `ours` if it is in our user namespace): this thread (`here`, if it can act for
    /// callers) when the caller is in our user namespace, else a helper for its namespaces,
    /// started if none is free: the helper is this call's alone until `f` returns. A helper
    /// that fails a round trip is dropped (and killed): the call fails, the next one gets a
    /// new helper, so one bad request never leaves a container without opens.
    pub(super) fn with_agent<T>(
        &self,
        (tid, proc, ours): (u32, &ProcDir, bool),
        here: Option<&mut Here>,
        f: impl FnOnce(&mut Agent<'_>) -> io::Result<T>,
    ) -> io::Result<T> {
        // Real paths are taken from the container's root: without one handed over, only a
        // helper (rooted in the caller's mount namespace) names them as the policy does.
        let root = self.root.get().map(AsFd::as_fd);
        if let Some(here) = here.filter(|_| ours)
            && let Some(root) = root
        {
            match here.join(proc) {
                Ok(()) => {
                    let ancestor = self.parent_of_callers.load(Ordering::Acquire);
                    let opener = here.opener(root, ancestor);
                    return f(&mut Agent::Here(opener, &self.cfg.policies));
                }
                Err(e) => tracing::warn!("joining a caller's namespaces ({e}): a helper serves it"),
            }
        }
        let key = proc.namespace_key()?;
        let idle = {
            let mut helpers = self.helpers.lock().unwrap_or_else(|p| p.into_inner());
            // A container that keeps making namespaces must not make unbounded helpers.
            if !helpers.contains_key(&key) && helpers.len() >= MAX_HELPERS {
                return Err(io::Error::from_raw_os_error(libc::EAGAIN));
            }
            helpers.entry(key.clone()).or_default().pop()
        };
        let mut helper = match idle {
            Some(h) => h,
            None => Helper::spawn(tid, &self.cfg.policies, self.root.get().map(AsFd::as_fd))?,
        };
        let alone = self.busy.fetch_add(1, Ordering::AcqRel) == 0;
        helper.spin = if alone { REPLY_SPIN } else { Duration::ZERO };
        let r = f(&mut Agent::Helper(&helper));
        self.busy.fetch_sub(1, Ordering::AcqRel);
        match &r {
            Ok(_) => {
                let mut helpers = self.helpers.lock().unwrap_or_else(|p| p.into_inner());
                helpers.entry(key).or_default().push(helper);
            }
            Err(e) => tracing::warn!("on-behalf helper failed ({e}): starting another"),
        }
        r
    }

    /// Writes an event (one line, whole, whichever thread serves).
    pub(super) fn emit(&self, event: &Event<'_>) {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .emit(event);
    }
}

impl Supervisor {
    /// A supervisor that will serve the processes announcing on `conns`, and on connections
    /// to `accept` (for `rune-run exec`).
    pub fn new(cfg: Config, conns: Vec<OwnedFd>, accept: Option<OwnedFd>) -> io::Result<Self> {
        let arch = Arch::native().ok_or_else(|| io::Error::other("unsupported architecture"))?;
        // Not to be ptraced or have its descriptors taken (pidfd_getfd) by a served process
        // that can name it (one sharing its pid namespace) without CAP_SYS_PTRACE: its
        // listeners answer for every trapped call.
        nix::sys::prctl::set_dumpable(false)?;
        sys::one_malloc_arena();
        let server = Server {
            cfg: Settings {
                policies: cfg.policies,
                container: cfg.container,
            },
            events: Mutex::new(cfg.events),
            arch,
            helpers: Mutex::new(HashMap::new()),
            busy: AtomicUsize::new(0),
            parent_of_callers: std::sync::atomic::AtomicBool::new(false),
            root: OnceLock::new(),
        };
        Ok(Supervisor {
            server: Arc::new(server),
            handoff: Arc::new(Handoff::new()?),
            served: Vec::new(),
            slots: conns.into_iter().map(Slot::Conn).collect(),
            retries: Vec::new(),
            accept,
            child_status: None,
        })
    }

    /// Reaps `pid`, a child of this process, when it exits; `run` gives its status.
    pub fn watch_child(&mut self, pid: libc::pid_t) -> io::Result<()> {
        self.server.parent_of_callers.store(true, Ordering::Release);
        self.slots.push(Slot::Child(sys::pidfd_open(pid)?, pid));
        Ok(())
    }

    /// Serves until no process is left to serve; the watched child's status, if any.
    pub fn run(mut self) -> io::Result<Option<nix::sys::wait::WaitStatus>> {
        loop {
            self.take_pending();
            self.take_handed_over();
            self.run_retries();
            if self.slots.is_empty() && self.retries.is_empty() && self.served.is_empty() {
                return Ok(self.child_status);
            }
            let (ready, accept_ready) = self.wait(self.timeout())?;
            if accept_ready
                && let Some(l) = &self.accept
                && let Ok(conn) = accept4(l.as_raw_fd(), SockFlag::SOCK_CLOEXEC)
            {
                self.slots.push(Slot::Conn(sys::adopt([conn]).remove(0)));
            }
            // Back to front, so that removing a slot keeps the other indices valid.
            for i in ready.into_iter().rev() {
                self.on_ready(i);
            }
        }
    }

    /// How long poll may sleep: a listener announced but not installed is looked at again
    /// soon, a retry when it is due, and callers kept waiting are checked now and then.
    fn timeout(&self) -> PollTimeout {
        let mut t: Option<Duration> = None;
        let mut at_most = |d: Duration| t = Some(t.map_or(d, |t| t.min(d)));
        if self.slots.iter().any(|s| matches!(s, Slot::Pending(_))) {
            at_most(Duration::from_millis(1));
        }
        if self.slots.iter().any(|s| matches!(s, Slot::Waiting(..))) {
            at_most(LIVENESS);
        }
        let now = Instant::now();
        for r in &self.retries {
            at_most(r.due.saturating_duration_since(now));
        }
        match t {
            None => PollTimeout::NONE,
            Some(d) => {
                PollTimeout::try_from(d.as_millis().max(1) as u64).unwrap_or(PollTimeout::MAX)
            }
        }
    }

    /// Keeps the calls the serving threads could not answer yet, and forgets the listeners
    /// whose threads are done.
    fn take_handed_over(&mut self) {
        self.handoff.quiet();
        for (listener, d) in self.handoff.take() {
            self.defer(listener, d, FIRST_RETRY);
        }
        self.served.retain(|r| !r.finished());
    }

    /// Serves again the calls whose retry is due.
    fn run_retries(&mut self) {
        let now = Instant::now();
        let (due, later): (Vec<Retry>, Vec<Retry>) = std::mem::take(&mut self.retries)
            .into_iter()
            .partition(|r| r.due <= now);
        self.retries = later;
        for r in due {
            if !sys::notif_id_valid(r.listener.as_fd(), r.n.id) {
                continue;
            }
            if let Served::Deferred(d) = self.server.serve(r.listener.as_fd(), r.n, None) {
                let backoff = (r.backoff * 2).min(MAX_RETRY);
                self.defer(r.listener, d, backoff);
            }
        }
        // Callers kept waiting for a FIFO's writer that have gone away.
        self.slots.retain(|s| match s {
            Slot::Waiting(l, d) => sys::notif_id_valid(l.as_fd(), d.n.id),
            _ => true,
        });
    }

    /// Keeps a deferred call of `listener`.
    fn defer(&mut self, listener: OwnedFd, d: Deferred, backoff: Duration) {
        let kept = self.retries.len()
            + self
                .slots
                .iter()
                .filter(|s| matches!(s, Slot::Waiting(..)))
                .count();
        if kept >= MAX_DEFERRED {
            let _ = self
                .server
                .reply(listener.as_fd(), &d.n, Reply::Error(libc::EAGAIN));
            return;
        }
        match d.wait {
            Wait::Retry => self.retries.push(Retry {
                listener,
                n: d.n,
                due: Instant::now() + backoff,
                backoff,
            }),
            Wait::Readable(..) => self.slots.push(Slot::Waiting(listener, d)),
        }
    }

    fn wait(&self, timeout: PollTimeout) -> io::Result<(Vec<usize>, bool)> {
        let mut fds: Vec<PollFd<'_>> = self
            .slots
            .iter()
            .map(|s| {
                let fd = match s {
                    Slot::Conn(fd) | Slot::Child(fd, _) => fd.as_fd(),
                    Slot::Pending(p) => p.pidfd(),
                    Slot::Waiting(
                        _,
                        Deferred {
                            wait: Wait::Readable(fd, ..),
                            ..
                        },
                    ) => fd.as_fd(),
                    // Never kept in a slot; a listener stands in.
                    Slot::Waiting(l, _) => l.as_fd(),
                };
                PollFd::new(fd, PollFlags::POLLIN)
            })
            .collect();
        fds.push(PollFd::new(self.handoff.wake.as_fd(), PollFlags::POLLIN));
        if let Some(l) = &self.accept {
            fds.push(PollFd::new(l.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, timeout) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => return Ok((vec![], false)),
            Err(e) => return Err(e.into()),
        }
        let revents: Vec<PollFlags> = fds
            .iter()
            .map(|f| f.revents().unwrap_or(PollFlags::empty()))
            .collect();
        let accept_ready = self.accept.is_some() && !revents[self.slots.len() + 1].is_empty();
        let ready = revents
            .into_iter()
            .take(self.slots.len())
            .enumerate()
            .filter(|(_, r)| !r.is_empty())
            .map(|(i, _)| i)
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
                        if self.server.root.get().is_none()
                            && let Ok(root) = p.root()
                        {
                            let _ = self.server.root.set(root);
                        }
                        self.slots.remove(i);
                        match Receivers::start(&self.server, &self.handoff, listener) {
                            Ok(r) => self.served.push(r),
                            // Dropping the listener fails its calls (ENOSYS): closed, not open.
                            Err(e) => tracing::warn!("no thread to serve a listener: {e}"),
                        }
                        continue;
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

    fn on_ready(&mut self, i: usize) {
        match &self.slots[i] {
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
            Slot::Waiting(..) => {
                if let Slot::Waiting(l, d) = self.slots.remove(i)
                    && let Wait::Readable(fd, cloexec, event) = d.wait
                {
                    let _ = self.server.finish(l.as_fd(), &d.n, fd, cloexec, event);
                }
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
