//! A system call made by the shim for the program: the program's own call, forwarded after
//! the handler checked it (the container's seccomp filter still applies: same process).
#![allow(unsafe_code)]

use std::sync::atomic::{AtomicU64, Ordering};

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
    // The program may have blocked it (its rt_sigprocmask is the thread's).
    set_mask(mask() & !(1 << (signal - 1)));
    // SAFETY: resetting a disposition and sending a signal to this thread, by the kernel's
    // ids (glibc's `raise` names the thread by the id it cached, which a child made by
    // `clone_process` still holds from its parent).
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        let tid = libc::syscall(libc::SYS_gettid);
        libc::syscall(libc::SYS_tgkill, libc::getpid(), tid, signal);
        libc::_exit(128 + signal)
    }
}

pub fn exit_group(code: i32) -> ! {
    // SAFETY: ends the process.
    unsafe { libc::_exit(code) }
}

/// The most descriptors the reserved range sits below: it starts just under the soft
/// RLIMIT_NOFILE, but never higher than this (a huge limit would grow the table to match).
const RESERVED_CEILING: u64 = 1024;
/// How far below that the range starts.
const RESERVED_SPAN: u64 = 8;

/// Where the shim's own descriptors go: high above the small numbers programs and shells name
/// themselves (`exec 3>file`), so only a program that names them on purpose meets them (and
/// gets EBADF: every descriptor argument is checked against them).
fn reserved_floor() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one struct rlimit, which `lim` is.
    let soft = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 {
        lim.rlim_cur
    } else {
        RESERVED_CEILING
    };
    soft.min(RESERVED_CEILING)
        .saturating_sub(RESERVED_SPAN)
        .max(64)
}

/// Moves a descriptor of the shim's into the reserved range (close-on-exec).
pub fn reserve_fd<T: From<std::os::fd::OwnedFd> + Into<std::os::fd::OwnedFd>>(
    fd: T,
) -> std::io::Result<T> {
    use std::os::fd::AsRawFd as _;
    let old: std::os::fd::OwnedFd = fd.into();
    let new = syscall(
        libc::SYS_fcntl as u64,
        [
            old.as_raw_fd() as u64,
            libc::F_DUPFD_CLOEXEC as u64,
            reserved_floor(),
            0,
            0,
            0,
        ],
    );
    if new < 0 {
        return Err(std::io::Error::from_raw_os_error(-new as i32));
    }
    // `old` closes as it drops.
    Ok(T::from(own_fd(new as std::os::fd::RawFd)))
}

/// Takes ownership of a descriptor the kernel just returned.
pub fn own_fd(fd: std::os::fd::RawFd) -> std::os::fd::OwnedFd {
    use std::os::fd::FromRawFd as _;
    // SAFETY: `fd` is a fresh descriptor from a successful call; nothing else owns it.
    unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) }
}

use super::signal::{KernelSigaction, SignalHost};

/// Sets (with `new`) and returns the process's own disposition of `sig`, unchanged: what the
/// kernel keeps for the signals the program leaves to it (default and ignore).
pub fn host_sigaction(sig: i32, new: Option<KernelSigaction>) -> Result<KernelSigaction, i32> {
    let mut old: KernelSigaction = [0; 3];
    let new_ptr = new.as_ref().map_or(0, |n| n.as_ptr() as u64);
    // rt_sigaction(sig, new, old, sizeof(sigset_t))
    let r = syscall(134, [sig as u64, new_ptr, old.as_mut_ptr() as u64, 8, 0, 0]);
    if r < 0 { Err(-r as i32) } else { Ok(old) }
}

/// The signals a program handler caught and the shim has not delivered yet: a bit per
/// signal and its siginfo, written by `note` (async-signal-safe: atomics only).
static PENDING: AtomicU64 = AtomicU64::new(0);
static INFO: [[AtomicU64; 16]; 64] = [const { [const { AtomicU64::new(0) }; 16] }; 64];

extern "C" fn note(sig: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    let Some(i) = usize::try_from(sig - 1).ok().filter(|&i| i < 64) else {
        return;
    };
    // SAFETY: the kernel hands an SA_SIGINFO handler a valid 128-byte siginfo.
    let words = unsafe { std::slice::from_raw_parts(info as *const u64, 16) };
    for (slot, w) in INFO[i].iter().zip(words) {
        slot.store(*w, Ordering::Relaxed);
    }
    PENDING.fetch_or(1 << i, Ordering::Release);
}

/// Makes the process catch `sig` into the pending set (no SA_RESTART: a forwarded call the
/// signal interrupts comes back with EINTR, and the program's own SA_RESTART decides).
pub fn catch(sig: i32) -> Result<(), i32> {
    host_sigaction(
        sig,
        Some([note as *const () as u64, libc::SA_SIGINFO as u64, 0]),
    )
    .map(|_| ())
}

pub fn any_pending() -> bool {
    PENDING.load(Ordering::Acquire) != 0
}

/// Where the pending set lives: the module reads it at every entry (RUNE_IOC_SET_KICK).
pub fn pending_word() -> u64 {
    PENDING.as_ptr() as u64
}

/// rt_sigprocmask(how, set, &old) on the thread; returns the old mask.
fn sigprocmask(how: i32, set: Option<u64>) -> u64 {
    let mut old = 0u64;
    let set_ptr = set.as_ref().map_or(0, |m| m as *const u64 as u64);
    syscall(
        135,
        [how as u64, set_ptr, &mut old as *mut u64 as u64, 8, 0, 0],
    );
    old
}

/// Takes the lowest pending signal and its siginfo (with every signal blocked, so that a new
/// instance cannot rewrite the siginfo while it is read).
pub fn take_pending() -> Option<(i32, [u64; 16])> {
    if PENDING.load(Ordering::Acquire) == 0 {
        return None;
    }
    let old = sigprocmask(libc::SIG_SETMASK, Some(u64::MAX));
    let bits = PENDING.load(Ordering::Acquire);
    let taken = (bits != 0).then(|| {
        let i = bits.trailing_zeros() as usize;
        PENDING.fetch_and(!(1 << i), Ordering::AcqRel);
        (
            i as i32 + 1,
            std::array::from_fn(|w| INFO[i][w].load(Ordering::Relaxed)),
        )
    });
    sigprocmask(libc::SIG_SETMASK, Some(old));
    taken
}

/// Makes a taken signal pending again in the set.
pub fn repend(sig: i32, info: &[u64; 16]) {
    let i = sig as usize - 1;
    for (slot, w) in INFO[i].iter().zip(info) {
        slot.store(*w, Ordering::Relaxed);
    }
    PENDING.fetch_or(1 << i, Ordering::Release);
}

/// A new process, as the program's `clone` asked for it (`flags` with neither `CLONE_VM` nor
/// a new stack: the child goes on in the shim, on this stack, as after `fork`); `ptid` and
/// `ctid` are program addresses the kernel writes the child's id to (and clears at the
/// child's exit). 0 in the child, the child's pid in the parent.
pub fn clone_process(flags: u64, ptid: u64, ctid: u64) -> i64 {
    // clone(flags, newsp, parent_tid, tls, child_tid), the order of riscv64 (and x86_64).
    syscall(libc::SYS_clone as u64, [flags, 0, ptid, 0, ctid, 0])
}

/// Forgets the signals caught for the program and not yet delivered: in a new child they
/// were its parent's (the kernel starts a child with none pending).
pub fn forget_pending() {
    PENDING.store(0, Ordering::Release);
}

/// The thread's signal mask (the program's: its rt_sigprocmask calls are forwarded).
pub fn mask() -> u64 {
    sigprocmask(libc::SIG_BLOCK, None)
}

pub fn set_mask(mask: u64) {
    let unblockable = (1u64 << (libc::SIGKILL - 1)) | (1 << (libc::SIGSTOP - 1));
    sigprocmask(libc::SIG_SETMASK, Some(mask & !unblockable));
}

/// Hands a caught signal back to the kernel as pending (it was blocked by the time the shim
/// could deliver it): the kernel delivers it again once the program unblocks it.
pub fn requeue(sig: i32, info: &[u64; 16]) {
    let (pid, tid) = (std::process::id(), nix::unistd::gettid().as_raw());
    // rt_tgsigqueueinfo(tgid, tid, sig, info)
    syscall(
        240,
        [
            u64::from(pid),
            tid as u64,
            sig as u64,
            info.as_ptr() as u64,
            0,
            0,
        ],
    );
}

/// The process's own signal state, for the signal machinery.
#[derive(Debug, Clone, Copy)]
pub struct Kernel;

impl SignalHost for Kernel {
    fn mask(&self) -> u64 {
        mask()
    }
    fn set_mask(&self, m: u64) {
        set_mask(m)
    }
    fn take_pending(&self) -> Option<(i32, [u64; 16])> {
        take_pending()
    }
    fn repend(&self, sig: i32, info: &[u64; 16]) {
        repend(sig, info)
    }
    fn requeue(&self, sig: i32, info: &[u64; 16]) {
        requeue(sig, info)
    }
    fn sigaction(&self, sig: i32, new: Option<KernelSigaction>) -> Result<KernelSigaction, i32> {
        host_sigaction(sig, new)
    }
    fn catch(&self, sig: i32) -> Result<(), i32> {
        catch(sig)
    }
}
