//! A system call made by the shim for the program: the program's own call, forwarded after
//! the handler checked it (the container's seccomp filter still applies: same process).
#![allow(unsafe_code)]

/// The kernel's answer: a value, or a negative errno.
pub fn syscall(nr: u64, a: [u64; 6]) -> i64 {
    // SAFETY: the caller checked every pointer argument against the program's own mappings
    // (or replaced it with a copy of its own) and refuses calls that would change the shim's
    // memory or descriptors, so the kernel only touches what the program could.
    let r = unsafe { libc::syscall(nr as libc::c_long, a[0], a[1], a[2], a[3], a[4], a[5]) };
    if r == -1 {
        -i64::from(
            std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO),
        )
    } else {
        r
    }
}

/// Ends the process the way the program's fault or the policy's kill would have: by the
/// signal's default action.
pub fn die_by(signal: i32) -> ! {
    // SAFETY: resetting a disposition and raising a signal at ourselves.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        libc::raise(signal);
        libc::_exit(128 + signal)
    }
}

pub fn exit_group(code: i32) -> ! {
    // SAFETY: ends the process.
    unsafe { libc::_exit(code) }
}

/// Takes ownership of a descriptor the kernel just returned.
pub fn own_fd(fd: std::os::fd::RawFd) -> std::os::fd::OwnedFd {
    use std::os::fd::FromRawFd as _;
    // SAFETY: `fd` is a fresh descriptor from a successful call; nothing else owns it.
    unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) }
}
