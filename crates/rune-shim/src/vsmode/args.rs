//! Which memory a system call makes the kernel read or write, by argument. The kernel runs a
//! forwarded call with the shim's whole address space in reach, so every buffer, string and
//! vector a call names is checked against the program's own pages first; a call whose
//! memory use is not described here is refused rather than forwarded unchecked.

use super::memory::ProgramMemory;

/// How long a buffer is.
#[derive(Debug, Clone, Copy)]
enum Len {
    Fixed(u64),
    Arg(usize),
    /// `arg * size`
    Times(usize, u64),
}

#[derive(Debug, Clone, Copy)]
enum Use {
    Read(usize, Len),
    Write(usize, Len),
    /// A NUL-terminated path.
    Path(usize),
    /// An iovec array (pointer arg, count arg) whose buffers are read or written.
    Iov(usize, usize, bool),
}

use Len::*;
use Use::*;

const STAT: u64 = 128;
const TIMESPEC: u64 = 16;

/// The memory `name` uses, or `None` when it is not known here.
fn uses(name: &str, a: &[u64; 6]) -> Option<Vec<Use>> {
    Some(match name {
        "getpid"
        | "getppid"
        | "gettid"
        | "getuid"
        | "geteuid"
        | "getgid"
        | "getegid"
        | "close"
        | "dup"
        | "dup3"
        | "lseek"
        | "fsync"
        | "fdatasync"
        | "ftruncate"
        | "fchmod"
        | "fchown"
        | "fchdir"
        | "sched_yield"
        | "tgkill"
        | "tkill"
        | "kill"
        | "umask"
        | "setsid"
        | "setpgid"
        | "getpgid"
        | "getsid"
        | "flock"
        | "sync"
        | "syncfs"
        | "getpriority"
        | "setpriority"
        | "socket"
        | "listen"
        | "shutdown"
        | "setuid"
        | "setgid"
        | "setreuid"
        | "setregid"
        | "setresuid"
        | "setresgid"
        | "setfsuid"
        | "setfsgid"
        | "eventfd2"
        | "epoll_create1"
        | "inotify_init1"
        | "timerfd_create"
        | "membarrier"
        | "fadvise64"
        | "fallocate"
        | "sync_file_range"
        | "inotify_rm_watch"
        | "sched_getscheduler"
        | "sched_get_priority_max"
        | "sched_get_priority_min"
        | "personality"
        | "msync"
        | "mlock"
        | "munlock"
        | "mlockall"
        | "munlockall" => vec![],
        "fcntl" => match a[1] as i32 {
            libc::F_GETFD
            | libc::F_SETFD
            | libc::F_GETFL
            | libc::F_SETFL
            | libc::F_DUPFD
            | libc::F_DUPFD_CLOEXEC => vec![],
            _ => return None,
        },
        "ioctl" => match a[1] {
            0x5401 => vec![Write(2, Fixed(60))], // TCGETS
            0x5413 => vec![Write(2, Fixed(8))],  // TIOCGWINSZ
            0x541b => vec![Write(2, Fixed(4))],  // FIONREAD
            _ => return None,
        },
        "read" | "pread64" | "getdents64" => vec![Write(1, Arg(2))],
        "write" | "pwrite64" => vec![Read(1, Arg(2))],
        "readv" | "preadv" => vec![Iov(1, 2, true)],
        "writev" | "pwritev" => vec![Iov(1, 2, false)],
        "getrandom" | "getcwd" => vec![Write(0, Arg(1))],
        "readlinkat" => vec![Path(1), Write(2, Arg(3))],
        "fstat" => vec![Write(1, Fixed(STAT))],
        "newfstatat" => vec![Path(1), Write(2, Fixed(STAT))],
        "statx" => vec![Path(1), Write(4, Fixed(256))],
        "statfs" => vec![Path(0), Write(1, Fixed(120))],
        "fstatfs" => vec![Write(1, Fixed(120))],
        "faccessat" | "faccessat2" | "mkdirat" | "unlinkat" | "fchmodat" | "fchownat"
        | "mknodat" | "inotify_add_watch" => vec![Path(1)],
        "chdir" | "chroot" | "truncate" | "memfd_create" | "acct" => vec![Path(0)],
        "renameat" | "renameat2" | "linkat" => vec![Path(1), Path(3)],
        "symlinkat" => vec![Path(0), Path(2)],
        "utimensat" => vec![Path(1), Read(2, Fixed(2 * TIMESPEC))],
        "uname" => vec![Write(0, Fixed(390))],
        "clock_gettime" | "clock_getres" => vec![Write(1, Fixed(TIMESPEC))],
        "gettimeofday" => vec![Write(0, Fixed(16)), Write(1, Fixed(8))],
        "nanosleep" => vec![Read(0, Fixed(TIMESPEC)), Write(1, Fixed(TIMESPEC))],
        "clock_nanosleep" => vec![Read(2, Fixed(TIMESPEC)), Write(3, Fixed(TIMESPEC))],
        "pipe2" => vec![Write(0, Fixed(8))],
        "socketpair" => vec![Write(3, Fixed(8))],
        "wait4" => vec![Write(1, Fixed(4)), Write(3, Fixed(144))],
        "sysinfo" => vec![Write(0, Fixed(112))],
        "times" => vec![Write(0, Fixed(32))],
        "getrusage" => vec![Write(1, Fixed(144))],
        "prlimit64" => vec![Read(2, Fixed(16)), Write(3, Fixed(16))],
        "getrlimit" => vec![Write(1, Fixed(16))],
        "setrlimit" => vec![Read(1, Fixed(16))],
        "sched_getaffinity" => vec![Write(2, Arg(1))],
        "sched_setaffinity" => vec![Read(2, Arg(1))],
        "sched_getparam" => vec![Write(1, Fixed(4))],
        "getgroups" => vec![Write(1, Times(0, 4))],
        "setgroups" => vec![Read(1, Times(0, 4))],
        "getresuid" | "getresgid" => {
            vec![Write(0, Fixed(4)), Write(1, Fixed(4)), Write(2, Fixed(4))]
        }
        "futex" => match a[1] & 0x7f {
            // FUTEX_WAIT, FUTEX_WAKE (and their _PRIVATE forms)
            0 => vec![Write(0, Fixed(4)), Read(3, Fixed(TIMESPEC))],
            1 => vec![Write(0, Fixed(4))],
            _ => return None,
        },
        "ppoll" => vec![
            Write(0, Times(1, 8)),
            Read(2, Fixed(TIMESPEC)),
            Read(3, Fixed(8)),
        ],
        "rt_sigprocmask" => vec![Read(1, Fixed(8)), Write(2, Fixed(8))],
        "rt_sigsuspend" => vec![Read(0, Fixed(8))],
        "rt_sigpending" => vec![Write(0, Fixed(8))],
        "rt_sigtimedwait" => vec![
            Read(0, Fixed(8)),
            Write(1, Fixed(128)),
            Read(2, Fixed(TIMESPEC)),
        ],
        "rt_sigqueueinfo" => vec![Read(2, Fixed(128))],
        "rt_tgsigqueueinfo" => vec![Read(3, Fixed(128))],
        // struct itimerval: two timevals
        "setitimer" => vec![Read(1, Fixed(32)), Write(2, Fixed(32))],
        "getitimer" => vec![Write(1, Fixed(32))],
        "epoll_ctl" => vec![Read(3, Fixed(12))],
        "epoll_pwait" => vec![Write(1, Times(2, 12)), Read(4, Fixed(8))],
        "timerfd_settime" => vec![Read(2, Fixed(32)), Write(3, Fixed(32))],
        "timerfd_gettime" => vec![Write(1, Fixed(32))],
        // pairs (16 bytes each), then a cpu set
        "riscv_hwprobe" => vec![Write(0, Times(1, 16)), Read(3, Arg(2))],
        "connect" | "bind" => vec![Read(1, Arg(2))],
        "sendto" => vec![Read(1, Arg(2)), Read(4, Arg(5))],
        "setsockopt" => vec![Read(3, Arg(4))],
        "sendfile" => vec![Write(2, Fixed(8))],
        "copy_file_range" | "splice" => vec![Write(1, Fixed(8)), Write(3, Fixed(8))],
        _ => return None,
    })
}

/// Whether every piece of memory the call names is the program's, with the access the
/// kernel will make; `None` when the call's memory use is unknown.
pub fn check(mem: &dyn ProgramMemory, name: &str, a: &[u64; 6]) -> Option<bool> {
    let ok = uses(name, a)?.into_iter().all(|u| match u {
        Read(i, len) | Write(i, len) => {
            let n = match len {
                Fixed(n) => n,
                Arg(j) => a[j],
                Times(j, size) => a[j].saturating_mul(size),
            };
            // NULL (or nothing) is for the kernel to refuse or to skip, never the shim's.
            a[i] == 0 || n == 0 || mem.readable(a[i], n, matches!(u, Write(..)))
        }
        Path(i) => a[i] == 0 || mem.read_cstr(a[i], 4096).is_some(),
        Iov(p, n, write) => {
            (0..a[n].min(1024)).all(|k| {
                let (base, len) = (mem.read_u64(a[p] + 16 * k), mem.read_u64(a[p] + 16 * k + 8));
                match (base, len) {
                    (Some(b), Some(l)) => b == 0 || l == 0 || mem.readable(b, l, write),
                    _ => false,
                }
            }) && a[n] <= 1024
        }
    });
    Some(ok)
}
