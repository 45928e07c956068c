//! Opening the object found (`walk::find`) with the caller's flags: an existing object is
//! reopened through our own descriptor of it (exactly the object decided on), a name is
//! created in exactly the directory found, never through a symlink (one appearing there
//! since the decision means deciding again).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, OpenHow, ResolveFlag, fcntl, openat, openat2};
use nix::sys::stat::Mode;

use super::decide::Failure;
use super::kind::{Kind, kind};
use super::walk::Found;

/// A descriptor opened for a caller.
#[derive(Debug)]
pub struct Opening {
    pub fd: OwnedFd,
    /// A blocking read-only open of a FIFO: the caller gets it once a writer is there (the
    /// seccomp supervisor waits for that, not its helper).
    pub wait_for_writer: bool,
    /// Whether the object is procfs's (of kind `Proc`), as decided before it was opened:
    /// a reopen of the same descriptor is the same object.
    pub on_proc: bool,
}

/// What the process opening for a caller may do.
#[derive(Debug, Clone, Copy)]
pub struct Reopen {
    /// Whether an open may block (a FIFO waiting for its peer, a file under a lease): the
    /// VS handler is the caller's own thread; the seccomp helper serves everyone and must not.
    pub may_block: bool,
    /// Whether device nodes beyond the OCI default ones may be opened: by the caller's own
    /// process, in its device cgroup, yes; by the seccomp helper, outside it, no.
    pub devices: bool,
    /// Whether an `O_PATH` descriptor can be handed over (in-process, yes; through
    /// SECCOMP_IOCTL_NOTIF_ADDFD, which takes only open files, no: a rewritten `O_PATH` open
    /// then gets a read-only descriptor, opened without side effects).
    pub o_path: bool,
}

fn errno(e: Errno) -> i32 {
    e as i32
}

/// Opens `found` as `flags` and `mode` ask, through `fd_dir` (our own `/proc/self/fd`).
pub fn reopen(
    fd_dir: BorrowedFd<'_>,
    found: Found,
    flags: i32,
    mode: u32,
    how: Reopen,
) -> Result<Opening, Failure> {
    let oflags = OFlag::from_bits_truncate(flags);
    let failed = |e: Errno| Failure::Failed(errno(e));
    let fd = match found {
        Found::Object(fd) => fd,
        Found::Create { parent, name } => {
            let how = OpenHow::new()
                .flags(oflags | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
                .mode(Mode::from_bits_truncate(mode))
                .resolve(
                    ResolveFlag::RESOLVE_BENEATH
                        | ResolveFlag::RESOLVE_NO_SYMLINKS
                        | ResolveFlag::RESOLVE_NO_MAGICLINKS,
                );
            return match openat2(parent.as_raw_fd(), name.as_c_str(), how) {
                Ok(n) => {
                    let fd = crate::seccomp::sys::adopt([n]).remove(0);
                    let on_proc = kind(fd.as_fd()) == Ok(Kind::Proc);
                    Ok(Opening {
                        fd,
                        wait_for_writer: false,
                        on_proc,
                    })
                }
                // Something appeared at the name since the decision: decide again.
                Err(Errno::ELOOP) => Err(Failure::Retry),
                Err(e) => Err(failed(e)),
            };
        }
    };
    if oflags.contains(OFlag::O_PATH) && how.o_path {
        // The lookup's own descriptor is what O_PATH asks for.
        let on_proc = kind(fd.as_fd()) == Ok(Kind::Proc);
        return Ok(Opening {
            fd,
            wait_for_writer: false,
            on_proc,
        });
    }
    if oflags.contains(OFlag::O_CREAT | OFlag::O_EXCL) {
        return Err(Failure::Failed(libc::EEXIST));
    }
    let what = kind(fd.as_fd()).map_err(failed)?;
    if oflags.contains(OFlag::O_CREAT) && what == Kind::Dir {
        return Err(Failure::Failed(libc::EISDIR));
    }
    // O_PATH ignores every other flag and touches nothing: its read-only stand-in keeps only
    // those that do not act (no O_TRUNC, no waiting for a FIFO's peer).
    let oflags = if oflags.contains(OFlag::O_PATH) {
        OFlag::O_RDONLY
            | OFlag::O_NONBLOCK
            | (oflags & (OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC))
    } else {
        oflags
    };
    match what {
        Kind::Symlink => return Err(Failure::Failed(libc::ELOOP)),
        Kind::Socket => return Err(Failure::Failed(libc::ENXIO)),
        Kind::Device if !how.devices => return Err(Failure::Failed(libc::EPERM)),
        _ => {}
    }
    // Where the caller may not block here: a FIFO is opened without waiting for its peer,
    // and a file under a lease without waiting for the break; either is tried again later
    // (`Failure::Later`) or handed over once ready.
    let asked_nonblock = oflags.contains(OFlag::O_NONBLOCK);
    let probe = !how.may_block && !asked_nonblock && matches!(what, Kind::Fifo | Kind::File);
    // Reopening our own descriptor reopens exactly the object decided on.
    let mut reopen = (oflags - (OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW))
        | OFlag::O_NOCTTY
        | OFlag::O_CLOEXEC;
    if probe {
        reopen |= OFlag::O_NONBLOCK;
    }
    let opened = openat(
        Some(fd_dir.as_raw_fd()),
        fd.as_raw_fd().to_string().as_str(),
        reopen,
        Mode::empty(),
    );
    let n = match opened {
        Ok(n) => crate::seccomp::sys::adopt([n]).remove(0),
        // A FIFO with no reader yet, a file under a lease: try again later.
        Err(Errno::ENXIO) if probe && what == Kind::Fifo => return Err(Failure::Later),
        Err(Errno::EWOULDBLOCK) if probe => return Err(Failure::Later),
        Err(e) => return Err(failed(e)),
    };
    let on_proc = what == Kind::Proc;
    if !probe {
        return Ok(Opening {
            fd: n,
            wait_for_writer: false,
            on_proc,
        });
    }
    // F_SETFL changes only the status flags (O_APPEND, O_DIRECT, O_NOATIME, O_NONBLOCK):
    // those of the open, less the probe's O_NONBLOCK.
    fcntl(n.as_raw_fd(), FcntlArg::F_SETFL(reopen - OFlag::O_NONBLOCK)).map_err(failed)?;
    // A blocking read-only open of a FIFO returns once a writer is there.
    let wait_for_writer = what == Kind::Fifo && oflags & OFlag::O_ACCMODE == OFlag::O_RDONLY;
    Ok(Opening {
        fd: n,
        wait_for_writer,
        on_proc,
    })
}
