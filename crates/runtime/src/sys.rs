//! The runtime's only unsafe code: running a closure in a forked child.

#![allow(unsafe_code)]

use std::io::{Read, Write};

use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork, pipe};

/// Runs `work` in a forked child and returns its error text, if any. A child is
/// single-threaded by construction, which `setns(CLONE_NEWNS)` requires, and whatever it
/// changes (its mount namespace, its root) dies with it instead of leaking into rune-run.
pub fn in_child(work: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    let (mut read_end, write_end) = pipe()
        .map(|(r, w)| (std::fs::File::from(r), w))
        .map_err(|e| format!("pipe: {e}"))?;
    // SAFETY: the child only runs `work` (plain system calls and allocation) and then leaves
    // with `_exit`, never returning into the caller's stack or running its destructors or
    // atexit handlers; rune-run holds no lock another thread could own across the fork (it
    // has no other threads when it creates a container, and a forked child has only one).
    match unsafe { fork() }.map_err(|e| format!("fork: {e}"))? {
        ForkResult::Child => {
            drop(read_end);
            let code = match work() {
                Ok(()) => 0,
                Err(msg) => {
                    let _ = std::fs::File::from(write_end).write_all(msg.as_bytes());
                    1
                }
            };
            // SAFETY: `_exit` ends the child at once, which is what a forked child must do.
            unsafe { nix::libc::_exit(code) }
        }
        ForkResult::Parent { child } => {
            drop(write_end);
            let mut msg = String::new();
            let _ = read_end.read_to_string(&mut msg);
            match waitpid(child, None).map_err(|e| format!("waitpid: {e}"))? {
                WaitStatus::Exited(_, 0) => Ok(()),
                WaitStatus::Exited(_, _) => Err(msg),
                other => Err(format!("helper ended abnormally: {other:?}")),
            }
        }
    }
}

/// Receives one file descriptor sent with SCM_RIGHTS on `stream` (a console socket).
pub fn recv_fd(stream: &std::os::unix::net::UnixStream) -> Result<std::os::fd::OwnedFd, String> {
    use std::io::IoSliceMut;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

    use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};

    let mut name = [0u8; 4096];
    let mut iov = [IoSliceMut::new(&mut name)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(
        stream.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(|e| format!("recvmsg on the console socket: {e}"))?;
    for cmsg in msg.cmsgs().map_err(|e| format!("console socket: {e}"))? {
        if let ControlMessageOwned::ScmRights(fds) = cmsg
            && let Some(&fd) = fds.first()
        {
            // SAFETY: the kernel installed this descriptor in our table for this message;
            // nothing else knows of it, so taking ownership cannot double-close.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
        }
    }
    Err("the console socket carried no descriptor".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_the_childs_error_and_success() {
        assert_eq!(in_child(|| Ok(())), Ok(()));
        assert_eq!(in_child(|| Err("nope".to_owned())), Err("nope".to_owned()));
    }
}
