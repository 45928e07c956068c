//! One table of system calls as data (gVisor's `linux64.go` is the model): per call name, what
//! each argument is (an integer, a descriptor, a path, memory the kernel reads or writes and how
//! long it is). Both backends read it: the VS-mode backend derives from it which memory a
//! forwarded call makes the kernel touch and which descriptors it names; the seccomp backend
//! which calls take a path, a dirfd and a path, or two paths. Struct sizes are per architecture
//! (the target's own definitions: `struct epoll_event` is packed to 12 bytes on x86_64 only),
//! and where the `libc` crate has the kernel's layout the native column is checked against it
//! at compile time on every target the shim is built for.

use super::Arch;

/// A structure whose size the kernel's ABI fixes per architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Struct {
    /// A `u32`, `int`, `gid_t` or `uid_t`.
    U32,
    /// A `u64`, `loff_t` or `long`.
    U64,
    /// `int[2]` of descriptors (pipe2, socketpair).
    FdPair,
    Stat,
    Statx,
    Statfs,
    Timespec,
    /// `struct timespec[2]` (utimensat).
    TimespecPair,
    Timeval,
    Timezone,
    Itimerval,
    Itimerspec,
    EpollEvent,
    Pollfd,
    Rlimit,
    Rusage,
    Sysinfo,
    Tms,
    Utsname,
    /// The kernel's `struct termios` (TCGETS), not the C library's larger one.
    Termios,
    Winsize,
    /// The kernel's `sigset_t`: 64 signals.
    Sigset,
    Siginfo,
    /// The kernel's `struct sigaction` (riscv64 has no sa_restorer).
    Sigaction,
    StackT,
    SchedParam,
    OpenHow,
    /// `struct riscv_hwprobe`: a key and a value.
    HwprobePair,
}

impl Struct {
    /// Its size in bytes on `arch`.
    pub const fn size(self, arch: Arch) -> u64 {
        use Struct::*;
        let x86 = matches!(arch, Arch::X86_64);
        match self {
            U32 => 4,
            U64 => 8,
            FdPair => 8,
            // x86_64 has its own `struct stat`; aarch64 and riscv64 the generic one.
            Stat if x86 => 144,
            Stat => 128,
            Statx => 256,
            Statfs => 120,
            Timespec | Timeval => 16,
            TimespecPair | Itimerval | Itimerspec => 32,
            Timezone => 8,
            // __attribute__((packed)) on x86_64 only (uapi/linux/eventpoll.h EPOLL_PACKED)
            EpollEvent if x86 => 12,
            EpollEvent => 16,
            Pollfd => 8,
            Rlimit => 16,
            Rusage => 144,
            Sysinfo => 112,
            Tms => 32,
            Utsname => 390,
            // four tcflag_t, c_line, c_cc[19] (asm-generic/termbits.h; x86 uses the same)
            Termios => 36,
            Winsize => 8,
            Sigset => 8,
            Siginfo => 128,
            // handler, flags, mask on riscv64; handler, flags, restorer, mask elsewhere
            Sigaction if matches!(arch, Arch::Riscv64) => 24,
            Sigaction => 32,
            StackT => 24,
            SchedParam => 4,
            OpenHow => 24,
            HwprobePair => 16,
        }
    }
}

// The native column against the target's own definitions (a build for riscv64 checks the
// riscv64 sizes, one for x86_64 the x86_64 ones).
const _: () = {
    use std::mem::size_of;
    if let Some(arch) = Arch::native() {
        assert!(Struct::Stat.size(arch) == size_of::<libc::stat>() as u64);
        assert!(Struct::Statfs.size(arch) == size_of::<libc::statfs>() as u64);
        assert!(Struct::Statx.size(arch) == size_of::<libc::statx>() as u64);
        assert!(Struct::EpollEvent.size(arch) == size_of::<libc::epoll_event>() as u64);
        assert!(Struct::Timespec.size(arch) == size_of::<libc::timespec>() as u64);
        assert!(Struct::Timeval.size(arch) == size_of::<libc::timeval>() as u64);
        assert!(Struct::Itimerval.size(arch) == size_of::<libc::itimerval>() as u64);
        assert!(Struct::Itimerspec.size(arch) == size_of::<libc::itimerspec>() as u64);
        assert!(Struct::Pollfd.size(arch) == size_of::<libc::pollfd>() as u64);
        assert!(Struct::Rlimit.size(arch) == size_of::<libc::rlimit>() as u64);
        assert!(Struct::Rusage.size(arch) == size_of::<libc::rusage>() as u64);
        assert!(Struct::Sysinfo.size(arch) == size_of::<libc::sysinfo>() as u64);
        assert!(Struct::Tms.size(arch) == size_of::<libc::tms>() as u64);
        assert!(Struct::Utsname.size(arch) == size_of::<libc::utsname>() as u64);
        assert!(Struct::Winsize.size(arch) == size_of::<libc::winsize>() as u64);
        assert!(Struct::Siginfo.size(arch) == size_of::<libc::siginfo_t>() as u64);
        assert!(Struct::StackT.size(arch) == size_of::<libc::stack_t>() as u64);
        assert!(Struct::SchedParam.size(arch) == size_of::<libc::sched_param>() as u64);
        assert!(Struct::OpenHow.size(arch) == size_of::<libc::open_how>() as u64);
    }
};

/// How long a piece of memory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Len {
    /// One structure.
    One(Struct),
    /// As many bytes as argument `i` says.
    Bytes(usize),
    /// Argument `i` structures.
    Count(usize, Struct),
}

impl Len {
    /// Its length in bytes for these arguments (saturating: an absurd count is refused by the
    /// check of the range, never wrapped).
    pub fn bytes(self, arch: Arch, a: &[u64; 6]) -> u64 {
        match self {
            Len::One(s) => s.size(arch),
            Len::Bytes(i) => a[i],
            Len::Count(i, s) => a[i].saturating_mul(s.size(arch)),
        }
    }
}

/// What one argument of a call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    /// A number, or an address the kernel does not dereference.
    Int,
    Flags,
    /// A file mode (the permissions a create gives).
    Mode,
    /// A descriptor.
    Fd,
    /// A directory descriptor a following path is relative to (or AT_FDCWD).
    DirFd,
    /// Descriptors from this one to argument `i` (close_range).
    FdRange(usize),
    /// A NUL-terminated path the kernel looks up.
    Path,
    /// A NUL-terminated string that is not looked up (memfd_create's name, an xattr's name).
    Str,
    /// A NULL-terminated array of string pointers (execve's argv, envp).
    StrArray,
    /// Data the kernel only reads, as bytes (write's buffer): its content cannot widen what
    /// the kernel touches.
    Data(usize),
    /// Memory the kernel reads and interprets (a struct, a sockaddr, a cpu set).
    In(Len),
    /// Memory the kernel writes.
    Out(Len),
    /// Memory the kernel reads and writes in place (a pollfd array, an offset).
    InOut(Len),
    /// A futex word: the kernel acts on its address, so it can be neither copied nor moved.
    Word,
    /// An iovec array with argument `count` entries; `write` when the kernel writes the
    /// buffers (readv).
    Iovec {
        count: usize,
        write: bool,
    },
    /// A command that says what the other arguments are: the first case whose value equals
    /// this argument masked with `mask` gives them as (index, kind); no case, unknown use.
    Cmd {
        mask: u64,
        cases: &'static [(u64, &'static [(usize, Arg)])],
    },
}

/// Calls with the same arguments: their names and their arguments' kinds, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub names: &'static [&'static str],
    pub args: &'static [Arg],
}

/// Where a call's path is: the path argument and the directory descriptor it is relative to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathArg {
    pub dirfd: Option<usize>,
    pub path: usize,
}

impl Entry {
    /// The kinds of the arguments for these argument values, commands resolved; `None` when
    /// a command is not described (the call's use of memory is unknown).
    pub fn resolve(&self, a: &[u64; 6]) -> Option<[Arg; 6]> {
        let mut out = [Arg::Int; 6];
        for (i, arg) in self.args.iter().enumerate() {
            out[i] = *arg;
        }
        for (i, arg) in self.args.iter().enumerate() {
            if let Arg::Cmd { mask, cases } = arg {
                let (_, rest) = cases.iter().find(|(v, _)| *v == a[i] & mask)?;
                for &(j, kind) in *rest {
                    out[j] = kind;
                }
                out[i] = Arg::Int;
            }
        }
        Some(out)
    }

    /// The paths the call looks up, each with its directory descriptor.
    pub fn paths(&self) -> Vec<PathArg> {
        self.args
            .iter()
            .enumerate()
            .filter(|(_, a)| matches!(a, Arg::Path))
            .map(|(i, _)| PathArg {
                dirfd: (i > 0 && self.args[i - 1] == Arg::DirFd).then(|| i - 1),
                path: i,
            })
            .collect()
    }
}

use Arg::*;
use Len::{Bytes, Count, One};
use Struct as S;

macro_rules! table {
    ($($($name:literal)|+ => $args:expr),* $(,)?) => {
        &[$(Entry { names: &[$($name),+], args: &$args }),*]
    };
}

const FCNTL: Arg = Cmd {
    mask: u64::MAX,
    cases: &[
        (libc::F_GETFD as u64, &[]),
        (libc::F_SETFD as u64, &[(2, Flags)]),
        (libc::F_GETFL as u64, &[]),
        (libc::F_SETFL as u64, &[(2, Flags)]),
        (libc::F_DUPFD as u64, &[(2, Int)]),
        (libc::F_DUPFD_CLOEXEC as u64, &[(2, Int)]),
    ],
};

// The generic terminal requests: the same numbers on x86_64, aarch64 and riscv64.
const IOCTL: Arg = Cmd {
    mask: 0xffff_ffff,
    cases: &[
        (libc::TCGETS, &[(2, Out(One(S::Termios)))]),
        (libc::TIOCGWINSZ, &[(2, Out(One(S::Winsize)))]),
        (libc::FIONREAD, &[(2, Out(One(S::U32)))]),
    ],
};

const FUTEX: Arg = Cmd {
    // the operation without FUTEX_PRIVATE_FLAG and FUTEX_CLOCK_REALTIME
    mask: 0x7f,
    cases: &[
        (0, &[(0, Word), (3, In(One(S::Timespec)))]), // FUTEX_WAIT
        (1, &[(0, Word)]),                            // FUTEX_WAKE
    ],
};

const TABLE: &[Entry] = table! {
    // no memory at all
    "getpid" | "getppid" | "gettid" | "getuid" | "geteuid" | "getgid" | "getegid"
        | "sched_yield" | "setsid" | "sync" | "munlockall" | "vfork" | "fork" => [],
    "close" | "fsync" | "fdatasync" | "fchdir" | "syncfs" | "dup" => [Fd],
    "dup2" => [Fd, Fd],
    "dup3" => [Fd, Fd, Flags],
    "close_range" => [FdRange(1), Fd, Flags],
    "lseek" => [Fd, Int, Int],
    "ftruncate" | "fchmod" | "listen" | "shutdown" | "inotify_rm_watch" => [Fd, Int],
    "flock" => [Fd, Flags],
    "fchown" => [Fd, Int, Int],
    "fadvise64" | "fallocate" | "sync_file_range" => [Fd, Int, Int, Int],
    "tgkill" => [Int, Int, Int],
    "tkill" | "kill" | "setpgid" | "getpriority" | "setreuid" | "setregid" => [Int, Int],
    "umask" | "getpgid" | "getsid" | "setuid" | "setgid" | "setfsuid" | "setfsgid"
        | "sched_getscheduler" | "sched_get_priority_max" | "sched_get_priority_min"
        | "personality" | "exit" | "exit_group" | "brk" => [Int],
    "setpriority" | "setresuid" | "setresgid" | "socket" => [Int, Int, Int],
    "eventfd2" | "timerfd_create" => [Int, Flags],
    "epoll_create1" | "inotify_init1" | "mlockall" => [Flags],
    "membarrier" => [Int, Flags, Int],
    // addresses of the program's own mappings (the VS-mode shim checks them itself)
    "msync" | "mlock" | "munlock" | "munmap" | "mprotect" | "madvise" => [Int, Int, Int],
    "mremap" => [Int, Int, Int, Flags, Int],
    "mmap" => [Int, Int, Flags, Flags, Fd, Int],
    "fcntl" => [Fd, FCNTL],
    "ioctl" => [Fd, IOCTL],
    "futex" => [Int, FUTEX],
    // buffers
    "read" | "pread64" | "getdents64" => [Fd, Out(Bytes(2)), Int, Int],
    "write" | "pwrite64" => [Fd, Data(2), Int, Int],
    "readv" | "preadv" => [Fd, Iovec { count: 2, write: true }, Int, Int, Int],
    "writev" | "pwritev" => [Fd, Iovec { count: 2, write: false }, Int, Int, Int],
    "getrandom" | "getcwd" => [Out(Bytes(1)), Int, Flags],
    "sendfile" => [Fd, Fd, InOut(One(S::U64)), Int],
    "copy_file_range" | "splice" => [Fd, InOut(One(S::U64)), Fd, InOut(One(S::U64)), Int, Flags],
    // paths
    "openat" => [DirFd, Path, Flags, Mode],
    "openat2" => [DirFd, Path, In(One(S::OpenHow)), Int],
    "open" => [Path, Flags, Mode],
    "creat" => [Path, Mode],
    "readlinkat" => [DirFd, Path, Out(Bytes(3)), Int],
    "readlink" => [Path, Out(Bytes(2)), Int],
    "newfstatat" => [DirFd, Path, Out(One(S::Stat)), Flags],
    "stat" | "lstat" => [Path, Out(One(S::Stat))],
    "fstat" => [Fd, Out(One(S::Stat))],
    "statx" => [DirFd, Path, Flags, Int, Out(One(S::Statx))],
    "statfs" => [Path, Out(One(S::Statfs))],
    "fstatfs" => [Fd, Out(One(S::Statfs))],
    "faccessat" | "fchmodat" | "mkdirat" => [DirFd, Path, Int],
    "faccessat2" | "fchmodat2" => [DirFd, Path, Int, Flags],
    "unlinkat" => [DirFd, Path, Flags],
    "fchownat" => [DirFd, Path, Int, Int, Flags],
    "mknodat" => [DirFd, Path, Int, Int],
    "access" | "chmod" | "mkdir" => [Path, Int],
    "mknod" => [Path, Int, Int],
    "chown" | "lchown" => [Path, Int, Int],
    "unlink" | "rmdir" | "chdir" | "chroot" | "acct" => [Path],
    "truncate" => [Path, Int],
    "inotify_add_watch" => [Fd, Path, Int],
    "memfd_create" => [Str, Flags],
    "renameat" => [DirFd, Path, DirFd, Path],
    "renameat2" | "linkat" => [DirFd, Path, DirFd, Path, Flags],
    "rename" | "link" | "symlink" => [Path, Path],
    "symlinkat" => [Path, DirFd, Path],
    "utimensat" => [DirFd, Path, In(One(S::TimespecPair)), Flags],
    "execve" => [Path, StrArray, StrArray],
    "execveat" => [DirFd, Path, StrArray, StrArray, Flags],
    "setxattr" | "lsetxattr" => [Path, Str, Data(3), Int, Flags],
    "getxattr" | "lgetxattr" => [Path, Str, Out(Bytes(3)), Int],
    "listxattr" | "llistxattr" => [Path, Out(Bytes(2)), Int],
    "removexattr" | "lremovexattr" => [Path, Str],
    // structures
    "uname" => [Out(One(S::Utsname))],
    "clock_gettime" | "clock_getres" => [Int, Out(One(S::Timespec))],
    "gettimeofday" => [Out(One(S::Timeval)), Out(One(S::Timezone))],
    "nanosleep" => [In(One(S::Timespec)), Out(One(S::Timespec))],
    "clock_nanosleep" => [Int, Flags, In(One(S::Timespec)), Out(One(S::Timespec))],
    "pipe2" => [Out(One(S::FdPair)), Flags],
    "socketpair" => [Int, Int, Int, Out(One(S::FdPair))],
    "wait4" => [Int, Out(One(S::U32)), Flags, Out(One(S::Rusage))],
    "sysinfo" => [Out(One(S::Sysinfo))],
    "times" => [Out(One(S::Tms))],
    "getrusage" => [Int, Out(One(S::Rusage))],
    "prlimit64" => [Int, Int, In(One(S::Rlimit)), Out(One(S::Rlimit))],
    "getrlimit" => [Int, Out(One(S::Rlimit))],
    "setrlimit" => [Int, In(One(S::Rlimit))],
    "sched_getaffinity" => [Int, Int, Out(Bytes(1))],
    "sched_setaffinity" => [Int, Int, In(Bytes(1))],
    "sched_getparam" => [Int, Out(One(S::SchedParam))],
    "getgroups" => [Int, Out(Count(0, S::U32))],
    "setgroups" => [Int, In(Count(0, S::U32))],
    "getresuid" | "getresgid" => [Out(One(S::U32)), Out(One(S::U32)), Out(One(S::U32))],
    "ppoll" => [InOut(Count(1, S::Pollfd)), Int, In(One(S::Timespec)), In(One(S::Sigset)), Int],
    "rt_sigaction" => [Int, In(One(S::Sigaction)), Out(One(S::Sigaction)), Int],
    "sigaltstack" => [In(One(S::StackT)), Out(One(S::StackT))],
    "rt_sigreturn" => [],
    "rt_sigprocmask" => [Int, In(One(S::Sigset)), Out(One(S::Sigset)), Int],
    "rt_sigsuspend" => [In(One(S::Sigset)), Int],
    "rt_sigpending" => [Out(One(S::Sigset)), Int],
    "rt_sigtimedwait" => [In(One(S::Sigset)), Out(One(S::Siginfo)), In(One(S::Timespec)), Int],
    "rt_sigqueueinfo" => [Int, Int, In(One(S::Siginfo))],
    "rt_tgsigqueueinfo" => [Int, Int, Int, In(One(S::Siginfo))],
    "setitimer" => [Int, In(One(S::Itimerval)), Out(One(S::Itimerval))],
    "getitimer" => [Int, Out(One(S::Itimerval))],
    "epoll_ctl" => [Fd, Int, Fd, In(One(S::EpollEvent))],
    "epoll_pwait" => [Fd, Out(Count(2, S::EpollEvent)), Int, Int, In(One(S::Sigset)), Int],
    "timerfd_settime" => [Fd, Flags, In(One(S::Itimerspec)), Out(One(S::Itimerspec))],
    "timerfd_gettime" => [Fd, Out(One(S::Itimerspec))],
    // pairs whose keys the kernel reads and whose values it writes, then a cpu set
    "riscv_hwprobe" => [InOut(Count(1, S::HwprobePair)), Int, Int, In(Bytes(2)), Flags],
    "connect" | "bind" => [Fd, In(Bytes(2)), Int],
    "sendto" => [Fd, Data(2), Int, Flags, In(Bytes(5)), Int],
    "setsockopt" => [Fd, Int, Int, In(Bytes(4)), Int],
    "set_tid_address" => [Word],
    "set_robust_list" | "rseq" => [Int, Int, Int, Int],
};

/// Where an open's arguments are: its path (and dirfd), its flags and mode, or the
/// `struct open_how` that holds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenArgs {
    pub path: PathArg,
    pub flags: Option<usize>,
    pub mode: Option<usize>,
    pub how: Option<usize>,
}

impl Entry {
    /// The arguments of an open-like call (one path, then flags and mode or an open_how).
    pub fn open_args(&self) -> Option<OpenArgs> {
        let path = *self.paths().first()?;
        let at = |want: Arg| self.args.iter().position(|a| *a == want);
        Some(OpenArgs {
            path,
            flags: at(Flags),
            mode: at(Mode),
            how: at(In(One(S::OpenHow))),
        })
    }
}

/// The entry of the call `name` (the kernel's name, on any architecture).
pub fn entry(name: &str) -> Option<&'static Entry> {
    TABLE.iter().find(|e| e.names.contains(&name))
}

/// Every entry.
pub fn entries() -> &'static [Entry] {
    TABLE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_is_a_real_call_and_listed_once() {
        let mut seen = std::collections::BTreeSet::new();
        for e in TABLE {
            for name in e.names {
                assert!(super::super::known(name), "{name} is not a system call");
                assert!(seen.insert(name), "{name} is listed twice");
            }
            assert!(e.args.len() <= 6, "{:?}", e.names);
        }
    }

    #[test]
    fn epoll_event_is_16_bytes_on_riscv64_and_12_on_x86_64() {
        assert_eq!(Struct::EpollEvent.size(Arch::Riscv64), 16);
        assert_eq!(Struct::EpollEvent.size(Arch::X86_64), 12);
        let pwait = entry("epoll_pwait").unwrap();
        let a = [3, 0x1000, 10, 0, 0, 8];
        let Arg::Out(len) = pwait.resolve(&a).unwrap()[1] else {
            panic!("epoll_pwait's events are memory the kernel writes")
        };
        assert_eq!(len.bytes(Arch::Riscv64, &a), 160);
        assert_eq!(len.bytes(Arch::X86_64, &a), 120);
    }

    #[test]
    fn other_sizes_that_differ_per_architecture() {
        assert_eq!(Struct::Stat.size(Arch::Riscv64), 128);
        assert_eq!(Struct::Stat.size(Arch::X86_64), 144);
        assert_eq!(Struct::Stat.size(Arch::Aarch64), 128);
        assert_eq!(Struct::Sigaction.size(Arch::Riscv64), 24);
        assert_eq!(Struct::Sigaction.size(Arch::X86_64), 32);
    }

    #[test]
    fn paths_with_their_directories() {
        let p = |n| entry(n).unwrap().paths();
        assert_eq!(
            p("openat"),
            [PathArg {
                dirfd: Some(0),
                path: 1
            }]
        );
        assert_eq!(
            p("open"),
            [PathArg {
                dirfd: None,
                path: 0
            }]
        );
        assert_eq!(
            p("renameat2"),
            [
                PathArg {
                    dirfd: Some(0),
                    path: 1
                },
                PathArg {
                    dirfd: Some(2),
                    path: 3
                }
            ]
        );
        assert_eq!(
            p("symlinkat"),
            [
                PathArg {
                    dirfd: None,
                    path: 0
                },
                PathArg {
                    dirfd: Some(1),
                    path: 2
                }
            ]
        );
        assert!(p("memfd_create").is_empty(), "a name, not a path");
        assert!(p("fstat").is_empty());
    }

    #[test]
    fn every_member_of_a_path_family_takes_a_path() {
        for f in [
            "@open", "@exec", "@stat", "@access", "@link", "@rename", "@unlink", "@mkdir",
            "@chmod", "@chown", "@xattr",
        ] {
            let fam = super::super::family(f).unwrap();
            for m in fam.members {
                let e = entry(m).unwrap_or_else(|| panic!("{m} ({f}) is not in the table"));
                let want = if fam.paths == Some(super::super::Paths::Two) {
                    2
                } else {
                    1
                };
                assert_eq!(e.paths().len(), want, "{m}");
            }
        }
    }

    #[test]
    fn where_an_open_keeps_its_flags() {
        let o = |n| entry(n).unwrap().open_args().unwrap();
        assert_eq!(
            (o("openat").flags, o("openat").mode, o("openat").path.path),
            (Some(2), Some(3), 1)
        );
        assert_eq!((o("open").flags, o("open").mode), (Some(1), Some(2)));
        assert_eq!((o("creat").flags, o("creat").mode), (None, Some(1)));
        assert_eq!((o("openat2").how, o("openat2").flags), (Some(2), None));
    }

    #[test]
    fn commands_say_what_the_other_arguments_are() {
        let ioctl = entry("ioctl").unwrap();
        let tcgets = ioctl.resolve(&[0, libc::TCGETS, 0x1000, 0, 0, 0]).unwrap();
        assert_eq!(tcgets[2], Out(One(S::Termios)));
        assert_eq!(ioctl.resolve(&[0, 0x4004_5401, 0, 0, 0, 0]), None);
        let futex = entry("futex").unwrap();
        // FUTEX_WAIT_PRIVATE
        assert_eq!(futex.resolve(&[0x1000, 128, 0, 0, 0, 0]).unwrap()[0], Word);
        // FUTEX_CMP_REQUEUE: not described
        assert_eq!(futex.resolve(&[0x1000, 4, 0, 0, 0, 0]), None);
    }
}
