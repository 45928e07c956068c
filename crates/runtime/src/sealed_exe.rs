//! CVE-2019-5736: the verbs that fork into a container (`create`, `run`, `exec`) run from
//! an image of this binary that nobody can write, so that a container process opening
//! `/proc/PID/exe` of rune-run cannot rewrite it on the host.
//!
//! The image is the binary itself seen through a detached overlayfs with two lower layers
//! and no upper one (the approach of runc 1.2): its superblock refuses every write, it is in
//! no mount table, and its pages are the binary's own page cache, shared by every rune-run
//! process and every supervisor forked from one. It costs a mount, not a copy of the binary
//! (and not that copy's memory, counted again in every container's supervisor). Where an
//! overlay cannot be made (no `CAP_SYS_ADMIN` over our mount namespace, a kernel before
//! 6.8, layers overlayfs refuses), a sealed memfd copy (`pentacle`) as before.

use std::ffi::{CString, OsString};
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

use nix::fcntl::OFlag;
use nix::sys::stat::fstat;
use nix::sys::statfs::{OVERLAYFS_SUPER_MAGIC, fstatfs};
use nix::sys::statvfs::{FsFlags, fstatvfs};

const EXE: &str = "/proc/self/exe";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{EXE}: {0}")]
    Exe(std::io::Error),
    #[error("overlay of {dir}: {err}")]
    Overlay { dir: String, err: nix::Error },
    #[error("{0} seen through the overlay is not the running binary")]
    NotSame(String),
    #[error("exec of the sealed image: {0}")]
    Exec(nix::Error),
    #[error("sealed memfd copy: {0}")]
    Memfd(std::io::Error),
}

/// Re-executes this process from a sealed image of its binary unless it already runs from
/// one. `spare` is a directory of ours in another place than the binary's (the state root:
/// overlayfs needs a second lower layer; nothing in it is ever opened through the overlay),
/// made if missing, as `create` would.
pub fn ensure(spare: &Path) -> Result<(), Error> {
    if pentacle::is_sealed() {
        return Ok(());
    }
    let exe = File::open(EXE).map_err(Error::Exe)?;
    match image_of(exe.as_fd()) {
        Image::Ours => return Ok(()),
        // Perhaps ours, perhaps not (the mount table cannot be read): never an overlay image
        // again, which could be taken for this one forever; the memfd copy is known by seals.
        Image::Unknown => return pentacle::ensure_sealed().map_err(Error::Memfd),
        Image::Other => {}
    }
    // As `create` makes it (0700: container state is no one else's to read).
    let _ = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(spare);
    match overlay_image(&exe, spare) {
        Ok(image) => exec(image.as_fd()),
        Err(e) => {
            tracing::debug!("no overlay image of rune-run ({e}): a sealed memfd copy instead");
            pentacle::ensure_sealed().map_err(Error::Memfd)
        }
    }
}

enum Image {
    Ours,
    Unknown,
    Other,
}

/// Whether `fd` lies on an image made by `overlay_image` (this process was exec'd from one
/// by its own earlier self): an overlayfs, read-only, on a mount in no mount table. A
/// read-only mount of an overlay that has an upper layer (a `--read-only` container's, a
/// read-only bind) is in a mount table: its superblock stays writable and the mount can be
/// made writable again under a descriptor held on the binary.
fn image_of(fd: std::os::fd::BorrowedFd<'_>) -> Image {
    let overlay = fstatfs(fd).is_ok_and(|s| s.filesystem_type() == OVERLAYFS_SUPER_MAGIC);
    let read_only = fstatvfs(fd).is_ok_and(|s| s.flags().contains(FsFlags::ST_RDONLY));
    if !(overlay && read_only) {
        return Image::Other;
    }
    let (Ok(id), Ok(table)) = (
        crate::sys::mount_id(&fd),
        std::fs::read_to_string("/proc/self/mountinfo"),
    ) else {
        return Image::Unknown;
    };
    let id = id.to_string();
    if table
        .lines()
        .any(|l| l.split_whitespace().next() == Some(id.as_str()))
    {
        Image::Other
    } else {
        Image::Ours
    }
}

/// The running binary opened through a new lower-only overlay of its directory.
fn overlay_image(exe: &File, spare: &Path) -> Result<OwnedFd, Error> {
    let path = std::fs::read_link(EXE).map_err(Error::Exe)?;
    let shown = path.display().to_string();
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(Error::NotSame(shown));
    };
    let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).unwrap_or_default();
    let overlay = |err| Error::Overlay {
        dir: dir.display().to_string(),
        err,
    };
    let mnt = crate::sys::detached_lower_only_overlay(&[&c(dir), &c(spare)]).map_err(overlay)?;
    let image = crate::sys::open_beneath(
        &mnt,
        Path::new(name),
        OFlag::O_RDONLY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW,
    )
    .map_err(overlay)?;
    // The name may have been replaced since this process started (an upgrade): only the
    // file that is running is run again.
    let id = |fd: std::os::fd::BorrowedFd<'_>| {
        fstat(fd.as_raw_fd()).map(|st| (st.st_ino, st.st_size, st.st_mtime, st.st_mtime_nsec))
    };
    match (id(exe.as_fd()), id(image.as_fd())) {
        (Ok(a), Ok(b)) if a == b => Ok(image),
        _ => Err(Error::NotSame(shown)),
    }
}

/// Runs this program again, with its arguments and environment, from `image`.
fn exec(image: std::os::fd::BorrowedFd<'_>) -> Result<(), Error> {
    let cstr = |s: OsString| CString::new(s.as_bytes()).unwrap_or_default();
    let args: Vec<CString> = std::env::args_os().map(cstr).collect();
    let env: Vec<CString> = std::env::vars_os()
        .map(|(k, v)| {
            let mut kv = k;
            kv.push("=");
            kv.push(v);
            cstr(kv)
        })
        .collect();
    let err = nix::unistd::fexecve(image.as_raw_fd(), &args, &env).unwrap_err();
    Err(Error::Exec(err))
}
