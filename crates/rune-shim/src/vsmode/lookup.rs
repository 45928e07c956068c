//! Opening for the program, in-process (`object::decide_open` with this module's `Finder`):
//! the shim is the program's own process, with its root, cwd and descriptors, so a path is
//! looked up as the program's own open would (`object::find`), the policies decide on the
//! real path of the object found, a rewrite target is looked up and decided again, and
//! exactly the object decided on is reopened (or the name created in exactly that
//! directory). Objects that would hand the program the shim itself are refused by what they
//! are (the `/dev/rune` device by its number, this process's `mem`, `map_files` and
//! `pagemap` on any procfs), not by the path they were reached by.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::OnceLock;

use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::sys::stat::fstat;

use crate::object::decide::{Failure, Finder};
use crate::object::{self, Found, Kind, Reopen, Whose};

/// `/dev/rune`'s device number, taken when the shim opened it.
static RUNE_DEVICE: OnceLock<u64> = OnceLock::new();

/// Records the device number of the `/dev/rune` the shim holds.
pub fn set_device(fd: BorrowedFd<'_>) {
    if let Ok(st) = fstat(fd.as_raw_fd()) {
        let _ = RUNE_DEVICE.set(st.st_rdev);
    }
}

/// The VS handler's way of finding and opening.
pub struct InProcess {
    /// The call's directory descriptor (the program's descriptors are this process's).
    dirfd: i32,
    /// The shim's own descriptors, from this number up: never reached through /proc.
    reserved: i32,
    found: Option<Found>,
    /// Set when the program reached for the shim itself: the caller kills it.
    pub attack: bool,
}

impl InProcess {
    pub fn new(dirfd: i32, reserved: i32) -> Self {
        InProcess {
            dirfd,
            reserved,
            found: None,
            attack: false,
        }
    }

    fn refused(&self, fd: BorrowedFd<'_>, real: &str) -> bool {
        match object::kind(fd) {
            Ok(Kind::Device | Kind::HarmlessDevice) => fstat(fd.as_raw_fd())
                .ok()
                .zip(RUNE_DEVICE.get())
                .is_some_and(|(st, rune)| st.st_rdev == *rune),
            Ok(Kind::Proc) => object::kind::proc_entry(real).is_some_and(|e| {
                e.is_own()
                    && e.below
                        .iter()
                        .any(|c| matches!(c.as_str(), "mem" | "map_files" | "pagemap"))
            }),
            _ => false,
        }
    }
}

fn real_path(fd: BorrowedFd<'_>) -> Result<String, i32> {
    std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
        .map(|p| p.to_string_lossy().into_owned())
        .map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))
}

impl Finder for InProcess {
    type Fd = OwnedFd;

    fn find(
        &mut self,
        path: &[u8],
        flags: i32,
        resolve: u64,
        from_root: bool,
    ) -> Result<String, i32> {
        self.found = None;
        let dirfd = if from_root {
            libc::AT_FDCWD
        } else {
            self.dirfd
        };
        if dirfd == -1 {
            return Err(libc::EBADF);
        }
        let base = crate::seccomp::sys::dirfd(dirfd);
        let whose = Whose {
            pid: std::process::id(),
            tid: nix::unistd::gettid().as_raw() as u32,
            own: object::Own::DescriptorsBelow(self.reserved),
        };
        let found = object::find(base, path, flags, resolve, whose).map_err(|e| e as i32)?;
        let real = match &found {
            Found::Object(fd) => {
                let real = object::kind::decided_path(fd.as_fd(), real_path(fd.as_fd())?);
                if self.refused(fd.as_fd(), &real) {
                    self.attack = true;
                    return Err(libc::EACCES);
                }
                real
            }
            Found::Create { parent, name } => format!(
                "{}/{}",
                real_path(parent.as_fd())?.trim_end_matches('/'),
                String::from_utf8_lossy(name.as_bytes())
            ),
        };
        self.found = Some(found);
        Ok(real)
    }

    fn hands_o_path(&self) -> bool {
        true
    }

    fn open(&mut self, flags: i32, mode: u32) -> Result<(OwnedFd, bool), Failure> {
        let found = self.found.take().ok_or(Failure::Failed(libc::EINVAL))?;
        let fd_dir = nix::fcntl::open(
            "/proc/self/fd",
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .map_err(|e| Failure::Failed(e as i32))?;
        let fd_dir = crate::seccomp::sys::adopt([fd_dir]).remove(0);
        // The program's own thread: it may block as in the kernel, and it is in its device
        // cgroup.
        let how = Reopen {
            may_block: true,
            devices: true,
            o_path: true,
        };
        let opened = object::reopen(fd_dir.as_fd(), found, flags, mode, how)?;
        drop(fd_dir);
        // open(2) returns the lowest free descriptor (a program that closed 0 expects its next
        // open to be its stdin): the lookup's own descriptors are gone now.
        let cloexec = flags & libc::O_CLOEXEC != 0;
        let arg = if cloexec {
            FcntlArg::F_DUPFD_CLOEXEC(0)
        } else {
            FcntlArg::F_DUPFD(0)
        };
        let low = fcntl(opened.fd.as_raw_fd(), arg).map_err(|e| Failure::Failed(e as i32))?;
        Ok((crate::seccomp::sys::adopt([low]).remove(0), false))
    }
}
