//! The threads that serve one listener. They take turns waiting for its next call
//! (leader/follower): only the thread holding the turn polls and receives, so that a receive
//! never blocks on a call another thread took and the hang-up is always seen; it gives the
//! turn up before serving what it took. Several callers of a container are so served at
//! once, none waiting behind another's call, with one listener and no queue between
//! receiving and serving.

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use super::serve::{Deferred, Served};
use super::supervisor::Server;
use super::sys;

/// Threads per listener: more callers than this wait for a free one (the kernel queues
/// them), as they would for a CPU on a small machine.
const THREADS: usize = 4;
/// Each thread's stack: serving a call needs little, and every thread counts against the
/// supervisor's memory.
const STACK: usize = 256 * 1024;

/// Calls that could not be answered without blocking, handed to the supervisor's loop,
/// which is woken through `wake` (an eventfd).
#[derive(Debug)]
pub(super) struct Handoff {
    calls: Mutex<Vec<(OwnedFd, Deferred)>>,
    pub(super) wake: OwnedFd,
}

impl Handoff {
    pub(super) fn new() -> io::Result<Handoff> {
        Ok(Handoff {
            calls: Mutex::new(Vec::new()),
            wake: sys::eventfd()?,
        })
    }

    fn keep(&self, listener: OwnedFd, d: Deferred) {
        // A thread that panicked holding the lock left the list whole: push anyway, so that
        // the call still gets its answer.
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        calls.push((listener, d));
    }

    /// Takes every call handed over.
    pub(super) fn take(&self) -> Vec<(OwnedFd, Deferred)> {
        std::mem::take(&mut *self.calls.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn ring(&self) {
        let one = 1u64.to_ne_bytes();
        let _ = nix::unistd::write(self.wake.as_fd(), &one);
    }

    /// Clears the wake-up (the loop then looks at everything handed over).
    pub(super) fn quiet(&self) {
        let mut buf = [0u8; 8];
        let _ = nix::unistd::read(self.wake.as_raw_fd(), &mut buf);
    }
}

#[derive(Debug)]
struct Shared {
    listener: OwnedFd,
    turn: Mutex<()>,
    /// The listener hung up: no process uses its filter any more.
    gone: AtomicBool,
}

#[derive(Debug)]
pub(super) struct Receivers {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl Receivers {
    pub(super) fn start(
        server: &Arc<Server>,
        handoff: &Arc<Handoff>,
        listener: OwnedFd,
    ) -> io::Result<Receivers> {
        let shared = Arc::new(Shared {
            listener,
            turn: Mutex::new(()),
            gone: AtomicBool::new(false),
        });
        let mut threads = Vec::with_capacity(THREADS);
        for i in 0..THREADS {
            let (server, handoff, shared) = (server.clone(), handoff.clone(), shared.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("rune-serve-{i}"))
                .stack_size(STACK)
                .spawn(move || serve(&server, &handoff, &shared));
            match spawned {
                Ok(t) => threads.push(t),
                // One thread serves as well as many, only slower.
                Err(e) if !threads.is_empty() => {
                    tracing::warn!("a serving thread could not start: {e}");
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(Receivers { shared, threads })
    }

    /// Whether the listener hung up (its threads are then leaving: dropping this waits for
    /// them).
    pub(super) fn finished(&self) -> bool {
        self.shared.gone.load(Ordering::Acquire)
    }
}

impl Drop for Receivers {
    fn drop(&mut self) {
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn serve(server: &Server, handoff: &Handoff, shared: &Shared) {
    let listener = shared.listener.as_fd();
    loop {
        let n = {
            let _turn = shared.turn.lock().unwrap_or_else(|p| p.into_inner());
            if shared.gone.load(Ordering::Acquire) {
                break;
            }
            let mut fds = [PollFd::new(listener, PollFlags::POLLIN)];
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => {
                    tracing::warn!("waiting for a trapped call: {e}");
                    shared.gone.store(true, Ordering::Release);
                    break;
                }
            }
            let revents = fds[0].revents().unwrap_or(PollFlags::empty());
            if !revents.contains(PollFlags::POLLIN) {
                if revents.intersects(PollFlags::POLLHUP | PollFlags::POLLERR) {
                    shared.gone.store(true, Ordering::Release);
                    break;
                }
                continue;
            }
            match sys::notif_recv(listener) {
                Ok(n) => n,
                // The caller died between poll and receive.
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
                Err(e) => {
                    tracing::warn!("receiving a trapped call: {e}");
                    continue;
                }
            }
        };
        if let Served::Deferred(d) = server.serve(listener, n) {
            match shared.listener.try_clone() {
                Ok(l) => handoff.keep(l, d),
                Err(_) => {
                    let _ = server.reply(listener, &d.n, super::serve::Reply::Error(libc::EAGAIN));
                }
            }
            handoff.ring();
        }
    }
    // The loop learns that this listener is done.
    handoff.ring();
}
