//! The raw system calls of the seccomp backend that nix does not wrap: installing a filter
//! with a listener, the notify ioctls, pidfds. Every `unsafe` block of the shim lives here.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

fn check(ret: libc::c_long) -> io::Result<libc::c_long> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn owned(ret: libc::c_long) -> io::Result<OwnedFd> {
    let fd = RawFd::try_from(check(ret)?).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    // SAFETY: the kernel just returned this descriptor to us and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn set_filter(prog: &[libc::sock_filter], flags: libc::c_ulong) -> io::Result<libc::c_long> {
    let len = u16::try_from(prog.len()).map_err(|_| io::Error::from_raw_os_error(libc::E2BIG))?;
    let fprog = libc::sock_fprog {
        len,
        filter: prog.as_ptr().cast_mut(),
    };
    // SAFETY: `fprog` points at `prog`, which outlives the call; the kernel copies the program.
    check(unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags,
            &fprog as *const libc::sock_fprog,
        )
    })
}

/// Installs `prog` on the calling thread with `SECCOMP_FILTER_FLAG_NEW_LISTENER |
/// SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV` and returns the listener (close-on-exec).
pub fn install_filter(prog: &[libc::sock_filter]) -> io::Result<OwnedFd> {
    let flags =
        libc::SECCOMP_FILTER_FLAG_NEW_LISTENER | libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
    owned(set_filter(prog, flags)?)
}

/// Installs `prog` (a filter without a listener: the container's OCI profile).
pub fn install_plain(prog: &[libc::sock_filter]) -> io::Result<()> {
    set_filter(prog, 0).map(|_| ())
}

pub fn pidfd_open(pid: libc::pid_t) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes plain integers.
    owned(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) })
}

/// A duplicate of descriptor `fd` of the process behind `pidfd`.
pub fn pidfd_getfd(pidfd: BorrowedFd<'_>, fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_getfd takes plain integers and returns a new descriptor.
    owned(unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), fd, 0) })
}

pub fn pidfd_kill(pidfd: BorrowedFd<'_>, signal: i32) -> io::Result<()> {
    // SAFETY: plain integers; a null siginfo means "as kill(2) would".
    check(unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            signal,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    })
    .map(drop)
}

/// One trapped call, as `SECCOMP_IOCTL_NOTIF_RECV` reports it.
#[derive(Debug, Clone, Copy)]
pub struct Notif {
    pub id: u64,
    /// The calling thread, in the supervisor's pid namespace.
    pub tid: u32,
    pub nr: i32,
    pub args: [u64; 6],
}

pub fn notif_recv(listener: BorrowedFd<'_>) -> io::Result<Notif> {
    // SAFETY: an all-zero seccomp_notif is valid (and the kernel demands it zeroed).
    let mut n: libc::seccomp_notif = unsafe { std::mem::zeroed() };
    // SAFETY: RECV fills `n`, which is the size the ioctl number encodes.
    let ret = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_RECV as _,
            &mut n as *mut libc::seccomp_notif,
        )
    };
    check(ret.into())?;
    Ok(Notif {
        id: n.id,
        tid: n.pid,
        nr: n.data.nr,
        args: n.data.args,
    })
}

/// Answers a trapped call: `flags` may be `SECCOMP_USER_NOTIF_FLAG_CONTINUE`.
pub fn notif_send(
    listener: BorrowedFd<'_>,
    id: u64,
    val: i64,
    error: i32,
    flags: u32,
) -> io::Result<()> {
    let mut resp = libc::seccomp_notif_resp {
        id,
        val,
        error,
        flags,
    };
    // SAFETY: SEND reads `resp`, whose size the ioctl number encodes.
    let ret = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_SEND as _,
            &mut resp as *mut libc::seccomp_notif_resp,
        )
    };
    check(ret.into()).map(drop)
}

/// Whether the call `id` is still pending: its caller has not died (and its pid not been
/// reused) since it was received.
pub fn notif_id_valid(listener: BorrowedFd<'_>, id: u64) -> bool {
    let mut id = id;
    // SAFETY: ID_VALID reads one u64.
    let ret = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_ID_VALID as _,
            &mut id as *mut u64,
        )
    };
    ret == 0
}

/// Installs `fd` in the caller and, with `SECCOMP_ADDFD_FLAG_SEND`, answers the call with its
/// number in one step, so the caller never sees a half-done open.
pub fn notif_addfd_send(
    listener: BorrowedFd<'_>,
    id: u64,
    fd: BorrowedFd<'_>,
    cloexec: bool,
) -> io::Result<i64> {
    let mut add = libc::seccomp_notif_addfd {
        id,
        flags: libc::SECCOMP_ADDFD_FLAG_SEND as u32,
        srcfd: fd.as_raw_fd() as u32,
        newfd: 0,
        newfd_flags: if cloexec { libc::O_CLOEXEC as u32 } else { 0 },
    };
    // SAFETY: ADDFD reads `add`, whose size the ioctl number encodes.
    let ret = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_ADDFD as _,
            &mut add as *mut libc::seccomp_notif_addfd,
        )
    };
    check(ret.into())
}

/// Takes ownership of descriptors the kernel just delivered with `SCM_RIGHTS`.
pub fn adopt(fds: impl IntoIterator<Item = RawFd>) -> Vec<OwnedFd> {
    fds.into_iter()
        // SAFETY: each descriptor arrived in our own SCM_RIGHTS message and has no other owner.
        .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
        .collect()
}

/// Forks. In a process with other threads the child must not take a lock they might have
/// held (glibc's fork keeps malloc usable in the child; the helper takes no other lock).
pub fn fork() -> io::Result<Option<libc::pid_t>> {
    // SAFETY: the child runs only code that takes no lock but malloc's (see above).
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(None),
        pid => Ok(Some(pid)),
    }
}

/// Ends a forked child without running the parent's exit handlers or destructors.
pub fn exit_child(code: i32) -> ! {
    // SAFETY: _exit is always safe to call.
    unsafe { libc::_exit(code) }
}

/// Closes every descriptor from `first` up.
pub fn close_from(first: u32) -> io::Result<()> {
    // SAFETY: close_range takes plain integers; the caller owns nothing it still uses there.
    check(unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, 0) }).map(drop)
}

/// A descriptor this process keeps open for its whole life at a fixed number.
pub fn borrow(fd: RawFd) -> BorrowedFd<'static> {
    // SAFETY: only used for the helper's fixed descriptors, which are never closed.
    unsafe { BorrowedFd::borrow_raw(fd) }
}

/// Asks the kernel to hand the CPU straight from a trapped caller to the supervisor and back
/// (`SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP`, Linux 6.6): a round trip then costs two context
/// switches on one CPU instead of two cross-CPU wake-ups. Older kernels refuse; that only
/// costs speed.
pub fn notif_sync_wakeup(listener: BorrowedFd<'_>) -> io::Result<()> {
    const SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP: u64 = 1;
    // SAFETY: SET_FLAGS takes its flags by value.
    let ret = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_SET_FLAGS as _,
            SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP,
        )
    };
    check(ret.into()).map(drop)
}

/// One malloc arena for the whole process: glibc gives each thread its own (64 MiB of
/// address space, and pages that count against the supervisor's memory), which a few
/// serving threads that allocate little do not need. Call before the threads start.
pub fn one_malloc_arena() {
    // SAFETY: mallopt only tunes the allocator, under glibc's own lock.
    unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) };
}

/// A non-blocking eventfd, for waking a poll loop from another thread.
pub fn eventfd() -> io::Result<OwnedFd> {
    // SAFETY: eventfd takes plain integers and returns a new descriptor or -1.
    owned(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) }.into())
}

/// `memfd_create(name, flags)`: a new memory file.
pub fn memfd_create(name: &std::ffi::CStr, flags: u32) -> io::Result<OwnedFd> {
    // SAFETY: `name` is a NUL-terminated string that outlives the call.
    owned(unsafe { libc::syscall(libc::SYS_memfd_create, name.as_ptr(), flags) })
}

/// Sets `MOUNT_ATTR_NOEXEC` on the mount at `path` and every mount below it
/// (`mount_setattr(2)` with `AT_RECURSIVE`), leaving their other flags as they are.
pub fn mount_noexec_recursive(path: &std::ffi::CStr) -> io::Result<()> {
    #[repr(C)]
    struct MountAttr {
        attr_set: u64,
        attr_clr: u64,
        propagation: u64,
        userns_fd: u64,
    }
    const MOUNT_ATTR_NOEXEC: u64 = 0x8;
    const AT_RECURSIVE: libc::c_int = 0x8000;
    let nr = crate::syscalls::Arch::native()
        .and_then(|a| a.number("mount_setattr"))
        .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOSYS))?;
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_NOEXEC,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: `path` and `attr` outlive the call; the kernel reads `size` bytes of `attr`.
    check(unsafe {
        libc::syscall(
            libc::c_long::from(nr),
            libc::AT_FDCWD,
            path.as_ptr(),
            AT_RECURSIVE | libc::AT_SYMLINK_NOFOLLOW,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    })
    .map(drop)
}

/// A directory descriptor number as a call names it (`AT_FDCWD`, or one of this process's
/// descriptors that may or may not be open), to hand to the kernel as a lookup's start.
pub fn dirfd(raw: RawFd) -> BorrowedFd<'static> {
    // SAFETY: the value is never -1 here (callers pass AT_FDCWD or a call's argument, and
    // -1 is refused before); it is only ever passed to *at(2) calls, which check it
    // themselves and answer EBADF for a number that is not open, and nothing closes or
    // reads through it.
    unsafe { BorrowedFd::borrow_raw(raw) }
}

/// Gives this thread its own root, cwd and umask (`unshare(CLONE_FS)`): a serving thread
/// changes them for a caller's lookups without the rest of the supervisor seeing it.
pub fn unshare_fs() -> io::Result<()> {
    // SAFETY: unshare takes its flags by value and changes only this thread's state.
    check(unsafe { libc::unshare(libc::CLONE_FS) }.into()).map(drop)
}

/// This thread's real, effective and saved user ids (`u32::MAX` keeps one), by the system
/// call itself: glibc's `setresuid` changes every thread of the process, and a serving
/// thread takes a caller's ids for its own lookups only.
pub fn thread_setresuid(ids: [u32; 3]) -> io::Result<()> {
    // SAFETY: plain integers; the kernel changes this thread's credentials only.
    check(unsafe { libc::syscall(libc::SYS_setresuid, ids[0], ids[1], ids[2]) }).map(drop)
}

/// This thread's group ids, as `thread_setresuid`.
pub fn thread_setresgid(ids: [u32; 3]) -> io::Result<()> {
    // SAFETY: plain integers; the kernel changes this thread's credentials only.
    check(unsafe { libc::syscall(libc::SYS_setresgid, ids[0], ids[1], ids[2]) }).map(drop)
}

/// This thread's supplementary groups, as `thread_setresuid`.
pub fn thread_setgroups(groups: &[u32]) -> io::Result<()> {
    // SAFETY: `groups` outlives the call and holds `groups.len()` ids; the kernel copies them.
    check(unsafe { libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) }).map(drop)
}

/// Whether this thread's supplementary groups are `groups` (in that order, as the kernel
/// keeps what `setgroups` gave it). Not glibc's `getgroups` through nix, which reads
/// `/proc/sys/kernel/ngroups_max` for its buffer at every call.
pub fn thread_groups_are(groups: &[u32]) -> io::Result<bool> {
    // SAFETY: a size of 0 only asks for the count.
    let n = check(unsafe { libc::syscall(libc::SYS_getgroups, 0, std::ptr::null_mut::<u32>()) })?;
    if n as usize != groups.len() {
        return Ok(false);
    }
    if n == 0 {
        return Ok(true);
    }
    let mut ours = vec![0u32; groups.len()];
    // SAFETY: `ours` holds `groups.len()` ids, the size passed; the kernel writes no more.
    let got = check(unsafe { libc::syscall(libc::SYS_getgroups, ours.len(), ours.as_mut_ptr()) });
    // EINVAL: the groups grew in between (no other thread changes ours): not the same.
    Ok(got.is_ok_and(|m| m as usize == ours.len()) && ours == groups)
}

/// Whether two directory descriptors hold the same place, decided without trusting inode
/// numbers (a FUSE server chooses its own): both are the root of one mount (a mount has one
/// root dentry), as a container's root and a caller's that did not chroot are. Anything else
/// is "not known to be the same".
pub fn same_directory(a: BorrowedFd<'_>, b: BorrowedFd<'_>) -> bool {
    const STATX_ATTR_MOUNT_ROOT: u64 = 0x2000;
    let mount_of_root = |fd: BorrowedFd<'_>| {
        // SAFETY: an all-zero statx is a valid value of the plain C struct.
        let mut st: libc::statx = unsafe { std::mem::zeroed() };
        // SAFETY: the empty path with AT_EMPTY_PATH names `fd`; the kernel fills `st`, ours.
        let ret = unsafe {
            libc::statx(
                fd.as_raw_fd(),
                c"".as_ptr(),
                libc::AT_EMPTY_PATH,
                libc::STATX_MNT_ID,
                &mut st,
            )
        };
        let root = st.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT != 0
            && st.stx_attributes & STATX_ATTR_MOUNT_ROOT != 0;
        (ret == 0 && st.stx_mask & libc::STATX_MNT_ID != 0 && root).then_some(st.stx_mnt_id)
    };
    matches!((mount_of_root(a), mount_of_root(b)), (Some(x), Some(y)) if x == y)
}

/// `struct __user_cap_header_struct` and `__user_cap_data_struct` (linux/capability.h),
/// which libc does not define.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// This thread's capability sets as masks: effective, permitted, inheritable.
pub fn thread_caps() -> io::Result<[u64; 3]> {
    let mut head = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: version 3 takes a header and two data structs, both ours and of their C layout.
    check(unsafe { libc::syscall(libc::SYS_capget, &mut head, data.as_mut_ptr()) })?;
    let join = |f: fn(&CapData) -> u32| u64::from(f(&data[0])) | (u64::from(f(&data[1])) << 32);
    Ok([
        join(|d| d.effective),
        join(|d| d.permitted),
        join(|d| d.inheritable),
    ])
}

/// Sets this thread's capability sets (as `thread_caps` gives them), by the system call,
/// which changes one thread.
pub fn thread_set_caps(sets: [u64; 3]) -> io::Result<()> {
    let mut head = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    let half = |i: usize| CapData {
        effective: (sets[0] >> (32 * i)) as u32,
        permitted: (sets[1] >> (32 * i)) as u32,
        inheritable: (sets[2] >> (32 * i)) as u32,
    };
    let data = [half(0), half(1)];
    // SAFETY: as in `thread_caps`; the kernel only reads `data`.
    check(unsafe { libc::syscall(libc::SYS_capset, &mut head, data.as_ptr()) }).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    fn dir(path: &str) -> OwnedFd {
        std::fs::File::open(path).unwrap().into()
    }

    #[test]
    fn the_root_of_a_mount_is_the_same_by_any_descriptor_and_nothing_else_is() {
        assert!(same_directory(dir("/").as_fd(), dir("/.").as_fd()));
        assert!(same_directory(
            dir("/proc").as_fd(),
            dir("/proc/self/..").as_fd()
        ));
        assert!(!same_directory(dir("/").as_fd(), dir("/proc").as_fd()));
        // Not a mount's root: never taken as the same, not even as itself.
        let tmp = tempfile::tempdir().unwrap();
        let a = dir(tmp.path().to_str().unwrap());
        assert!(!same_directory(a.as_fd(), a.as_fd()));
    }

    #[test]
    fn the_threads_groups_are_compared_in_full() {
        let ours: Vec<u32> = nix::unistd::getgroups()
            .unwrap()
            .into_iter()
            .map(|g| g.as_raw())
            .collect();
        assert!(thread_groups_are(&ours).unwrap());
        let mut more = ours.clone();
        more.push(4_000_000);
        assert!(!thread_groups_are(&more).unwrap());
        if let Some(first) = ours.first() {
            let mut other = ours.clone();
            other[0] = first.wrapping_add(1);
            assert!(!thread_groups_are(&other).unwrap());
        }
    }
}
