//! The runtime's only unsafe code: running a closure in a forked child, and taking
//! ownership of descriptors the kernel hands over.

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

/// A resource limit of this process, by the kernel's number (`RLIMIT_*`): (soft, hard).
pub fn getrlimit(resource: u32) -> nix::Result<(u64, u64)> {
    let mut lim = nix::libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit for the call to fill.
    let res = unsafe { nix::libc::getrlimit(resource, &mut lim) };
    nix::errno::Errno::result(res).map(|_| (lim.rlim_cur, lim.rlim_max))
}

/// Sets a resource limit of this process, by the kernel's number.
pub fn setrlimit(resource: u32, soft: u64, hard: u64) -> nix::Result<()> {
    let lim = nix::libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: `lim` is a valid rlimit the kernel only reads.
    let res = unsafe { nix::libc::setrlimit(resource, &lim) };
    nix::errno::Errno::result(res).map(drop)
}

/// The id of the mount `fd` lies on (`statx`'s `STATX_MNT_ID`, as mountinfo numbers mounts).
pub fn mount_id(fd: &impl std::os::fd::AsFd) -> nix::Result<u64> {
    use std::os::fd::AsRawFd;

    // SAFETY: all-zero bytes are a valid `statx` (plain integers).
    let mut stx: nix::libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: an empty path with AT_EMPTY_PATH names `fd` itself; `stx` is writable.
    let res = unsafe {
        nix::libc::statx(
            fd.as_fd().as_raw_fd(),
            c"".as_ptr(),
            nix::libc::AT_EMPTY_PATH,
            nix::libc::STATX_MNT_ID,
            &mut stx,
        )
    };
    nix::errno::Errno::result(res)?;
    if stx.stx_mask & nix::libc::STATX_MNT_ID == 0 {
        return Err(nix::errno::Errno::ENOSYS);
    }
    Ok(stx.stx_mnt_id)
}

/// Opens `rel` below `dir` as an `O_PATH` descriptor, refusing symlinks and `..` out of it
/// (`RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`): for names a container may have changed.
pub fn open_path_beneath(
    dir: &std::fs::File,
    rel: &std::path::Path,
) -> nix::Result<std::os::fd::OwnedFd> {
    use nix::fcntl::OFlag;
    open_beneath(
        dir,
        rel,
        OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
    )
}

/// Opens `rel` below `dir` with `flags`, refusing symlinks and `..` out of it.
pub fn open_beneath(
    dir: &impl std::os::fd::AsFd,
    rel: &std::path::Path,
    flags: nix::fcntl::OFlag,
) -> nix::Result<std::os::fd::OwnedFd> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    use nix::fcntl::{OpenHow, ResolveFlag, openat2};

    let how = OpenHow::new()
        .flags(flags)
        .resolve(ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_SYMLINKS);
    let fd = openat2(dir.as_fd().as_raw_fd(), rel, how)?;
    // SAFETY: openat2 just returned this descriptor; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
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

/// Sets network interface `name` up (`SIOCGIFFLAGS`, then `SIOCSIFFLAGS` with `IFF_UP`),
/// through `sock`, a socket of its network namespace.
pub fn set_link_up(sock: &impl std::os::fd::AsRawFd, name: &str) -> nix::Result<()> {
    // SAFETY: an all-zero ifreq is valid (an empty name, zero flags).
    let mut req: nix::libc::ifreq = unsafe { std::mem::zeroed() };
    if name.len() >= req.ifr_name.len() {
        return Err(nix::errno::Errno::EINVAL);
    }
    for (to, from) in req.ifr_name.iter_mut().zip(name.bytes()) {
        *to = from as nix::libc::c_char;
    }
    let fd = sock.as_raw_fd();
    // SAFETY: SIOCGIFFLAGS reads the name and writes the flags of `req`, which is an ifreq.
    nix::errno::Errno::result(unsafe { nix::libc::ioctl(fd, nix::libc::SIOCGIFFLAGS, &mut req) })?;
    // SAFETY: the flags member is the one SIOCGIFFLAGS just filled in.
    unsafe { req.ifr_ifru.ifru_flags |= nix::libc::IFF_UP as nix::libc::c_short };
    // SAFETY: SIOCSIFFLAGS only reads `req`.
    nix::errno::Errno::result(unsafe { nix::libc::ioctl(fd, nix::libc::SIOCSIFFLAGS, &req) })
        .map(drop)
}

/// A new overlayfs of `lowers` (top first) with no upper layer, as a detached mount (in no
/// mount namespace: nothing appears in any mount table, and it goes when its last descriptor
/// or mapping does). Without an upper layer the kernel makes the superblock read-only: no
/// file of it can be opened for writing, by anyone, through any mount of it.
pub fn detached_lower_only_overlay(
    lowers: &[&std::ffi::CStr],
) -> nix::Result<std::os::fd::OwnedFd> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    const FSOPEN_CLOEXEC: u32 = 1;
    const FSCONFIG_SET_STRING: u32 = 1;
    const FSCONFIG_CMD_CREATE: u32 = 6;
    const FSMOUNT_CLOEXEC: u32 = 1;
    const MOUNT_ATTR_NOSUID: u32 = 0x2;
    const MOUNT_ATTR_NODEV: u32 = 0x4;
    let owned = |ret: nix::libc::c_long| {
        // SAFETY: a non-negative return of fsopen/fsmount is a new descriptor nobody owns.
        nix::errno::Errno::result(ret).map(|fd| unsafe { OwnedFd::from_raw_fd(fd as i32) })
    };
    let set = |fs: &OwnedFd, key: &std::ffi::CStr, value: &std::ffi::CStr| {
        // SAFETY: both strings are NUL-terminated and outlive the call, which only reads them.
        let ret = unsafe {
            nix::libc::syscall(
                nix::libc::SYS_fsconfig,
                fs.as_raw_fd(),
                FSCONFIG_SET_STRING,
                key.as_ptr(),
                value.as_ptr(),
                0,
            )
        };
        nix::errno::Errno::result(ret).map(drop)
    };
    // SAFETY: the file system's name is a NUL-terminated literal.
    let fs = owned(unsafe {
        nix::libc::syscall(nix::libc::SYS_fsopen, c"overlay".as_ptr(), FSOPEN_CLOEXEC)
    })?;
    // "lowerdir+" (Linux 6.8) takes one layer per call, so that no path needs escaping.
    for lower in lowers {
        set(&fs, c"lowerdir+", lower)?;
    }
    // Inode numbers across layers are not needed (and xino warns in dmesg on mixed file systems).
    let _ = set(&fs, c"xino", c"off");
    // SAFETY: CMD_CREATE takes no key or value.
    let ret = unsafe {
        nix::libc::syscall(
            nix::libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<u8>(),
            std::ptr::null::<u8>(),
            0,
        )
    };
    nix::errno::Errno::result(ret)?;
    // SAFETY: fsmount takes the configured context and two flag words by value.
    owned(unsafe {
        nix::libc::syscall(
            nix::libc::SYS_fsmount,
            fs.as_raw_fd(),
            FSMOUNT_CLOEXEC,
            MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
        )
    })
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
