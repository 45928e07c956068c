//! The threads that serve one listener. They take turns waiting for its next call
//! (leader/follower): only the thread holding the turn polls and receives, so that a receive
//! never blocks on a call another thread took and the hang-up is always seen; it gives the
//! turn up before serving a call made on the caller's behalf. Several callers of a container are so served at
//! once, none waiting behind another's call, with one listener and no queue between
//! receiving and serving.

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use super::here::Here;
use super::serve::{Deferred, Served};
use super::supervisor::Server;
use super::sys;
use crate::syscalls::service::{self, Service};

/// Threads per listener, one per CPU (at least two, so that one caller's on-behalf call
/// never holds up the next; at most eight): more callers than this wait for a free one
/// (the kernel queues them), as they would for a CPU. More threads than CPUs only take
/// turns at the CPUs the helpers need (measured: 8 callers on 2 CPUs, 4 threads 130 µs per
/// open, 2 threads 108-117 µs, the single-threaded supervisor 88-123 µs).
fn threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8))
}
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
        let mut threads = Vec::with_capacity(self::threads());
        for i in 0..self::threads() {
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
    let mut here = Here::new()
        .inspect_err(|e| {
            tracing::warn!("a serving thread cannot act for callers ({e}): helpers do")
        })
        .ok();
    // The turn is kept from one call answered from its arguments to the next: giving it up
    // would wake a waiting thread for nothing.
    let mut kept = None;
    loop {
        let turn = match kept.take() {
            Some(t) => t,
            None => shared.turn.lock().unwrap_or_else(|p| p.into_inner()),
        };
        if shared.gone.load(Ordering::Acquire) {
            break;
        }
        let mut fds = [PollFd::new(listener, PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => {
                kept = Some(turn);
                continue;
            }
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
            kept = Some(turn);
            continue;
        }
        let n = match sys::notif_recv(listener) {
            Ok(n) => n,
            // The caller died between poll and receive.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                kept = Some(turn);
                continue;
            }
            Err(e) => {
                tracing::warn!("receiving a trapped call: {e}");
                kept = Some(turn);
                continue;
            }
        };
        // A call answered from its arguments takes a few microseconds: served with the turn
        // kept, it wakes no other thread. One made on the caller's behalf gives the turn up
        // first, so that the next caller is received while it is served.
        let name = server.arch.name(n.nr).unwrap_or("unknown");
        match service::seccomp(name) {
            Service::Open | Service::Names => drop(turn),
            _ => kept = Some(turn),
        }
        if let Served::Deferred(d) = server.serve(listener, n, here.as_mut()) {
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
