//! How a listener reaches the supervisor without the installing process making a system call
//! after its filter is in force (any such call could be trapped before anyone serves the
//! listener). Before installing, the process sends its own pidfd and the descriptor number the
//! listener will get; the supervisor then takes the listener with `pidfd_getfd`. The process
//! goes straight on to `execve`, which Rune's filter always traps, so it waits there until the
//! supervisor serves it; the exec then closes the process's own copy (close-on-exec) and the
//! supervisor holds the only one (ARCHITECTURE.md §5, fail closed).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use serde::{Deserialize, Serialize};

use super::{channel, sys};

#[derive(Debug, Serialize, Deserialize)]
struct Announce {
    listener_fd: RawFd,
}

/// In the process about to install Rune's filter: announce it, install it, and return the
/// listener (which must stay open until exec).
pub fn install_and_announce(
    sock: BorrowedFd<'_>,
    prog: &[libc::sock_filter],
) -> io::Result<OwnedFd> {
    let me = sys::pidfd_open(std::process::id() as libc::pid_t)?;
    // The pidfd took the lowest free descriptor; once it is closed, seccomp(2) gets that one
    // (nothing else runs in this process meanwhile).
    let expected = me.as_raw_fd();
    channel::send(
        sock,
        &Announce {
            listener_fd: expected,
        },
        &[me.as_fd()],
    )?;
    drop(me);
    let listener = sys::install_filter(prog)?;
    if listener.as_raw_fd() != expected {
        // Unreachable while this process is single-threaded; fail rather than run unserved.
        return Err(io::Error::other(format!(
            "seccomp listener got descriptor {} instead of the announced {expected}",
            listener.as_raw_fd()
        )));
    }
    Ok(listener)
}

/// A listener announced but not yet taken.
#[derive(Debug)]
pub struct Pending {
    pidfd: OwnedFd,
    fd: RawFd,
}

impl Pending {
    /// Reads an announcement; `None` when the peer closed the socket without one.
    pub fn receive(sock: BorrowedFd<'_>) -> io::Result<Option<Pending>> {
        let Some((msg, mut fds)) = channel::recv::<Announce>(sock)? else {
            return Ok(None);
        };
        let pidfd = fds
            .pop()
            .ok_or_else(|| io::Error::other("listener announcement without a pidfd"))?;
        Ok(Some(Pending {
            pidfd,
            fd: msg.listener_fd,
        }))
    }

    /// The listener once it exists; `Ok(None)` while the filter is not installed yet (the
    /// number may still hold the pidfd the announcement was sent with), an error when the
    /// process died first.
    pub fn take(&self) -> io::Result<Option<OwnedFd>> {
        match sys::pidfd_getfd(self.pidfd.as_fd(), self.fd) {
            Ok(fd) => {
                let what = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))?;
                Ok((what.as_os_str() == "anon_inode:seccomp notify").then_some(fd))
            }
            Err(e) if e.raw_os_error() == Some(libc::EBADF) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The announcing process's root directory. Its pid is read from the pidfd, and the
    /// pidfd confirmed live afterwards, so the directory cannot be another process's.
    pub fn root(&self) -> io::Result<OwnedFd> {
        let info =
            std::fs::read_to_string(format!("/proc/self/fdinfo/{}", self.pidfd.as_raw_fd()))?;
        let pid: i32 = info
            .lines()
            .find_map(|l| l.strip_prefix("Pid:"))
            .and_then(|v| v.trim().parse().ok())
            .filter(|p| *p > 0)
            .ok_or_else(|| io::Error::other("pidfd of a process that is gone"))?;
        let root = super::caller::proc_fd(pid as u32, "root")?;
        sys::pidfd_kill(self.pidfd.as_fd(), 0)?;
        Ok(root)
    }

    pub fn pidfd(&self) -> BorrowedFd<'_> {
        self.pidfd.as_fd()
    }
}
