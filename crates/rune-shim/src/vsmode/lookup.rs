//! Opening on the program's behalf: the object a path names is looked up once (an `O_PATH`
//! descriptor, no magic links), its real path is what the policy decides on, and exactly that
//! object is opened, so neither a swapped buffer nor a swapped symlink changes what was
//! decided.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use super::sys;

/// What an open names: an existing object (held by an O_PATH descriptor), or a name to
/// create in a directory (held likewise).
pub enum Found {
    Object(OwnedFd),
    Create(OwnedFd, CString),
}

pub fn openat(dirfd: RawFd, path: &CString, flags: i32, mode: u32) -> i64 {
    sys::syscall(
        56,
        [
            dirfd as u64,
            path.as_ptr() as u64,
            flags as u64,
            u64::from(mode),
            0,
            0,
        ],
    )
}

/// The real path of what a descriptor holds.
fn real_path(fd: &OwnedFd) -> Result<String, i32> {
    std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
        .map(|p| p.to_string_lossy().into_owned())
        .map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))
}

fn path_fd(dirfd: RawFd, path: &CString, extra: i32) -> Result<OwnedFd, i32> {
    // struct open_how: flags, mode, resolve
    let how: [u64; 3] = [
        (libc::O_PATH | libc::O_CLOEXEC | extra) as u64,
        0,
        libc::RESOLVE_NO_MAGICLINKS,
    ];
    let fd = sys::syscall(
        437,
        [
            dirfd as u64,
            path.as_ptr() as u64,
            how.as_ptr() as u64,
            std::mem::size_of_val(&how) as u64,
            0,
            0,
        ],
    );
    if fd < 0 {
        return Err(-fd as i32);
    }
    Ok(sys::own_fd(fd as RawFd))
}

pub fn lookup(dirfd: RawFd, path: &CString, flags: i32) -> Result<(Found, String), i32> {
    let nofollow = if flags & libc::O_NOFOLLOW != 0 {
        libc::O_NOFOLLOW
    } else {
        0
    };
    match path_fd(dirfd, path, nofollow) {
        Ok(fd) => {
            if flags & libc::O_CREAT != 0 && flags & libc::O_EXCL != 0 {
                return Err(libc::EEXIST);
            }
            let real = real_path(&fd)?;
            Ok((Found::Object(fd), real))
        }
        Err(libc::ENOENT) if flags & libc::O_CREAT != 0 => {
            let bytes = path.as_bytes();
            let (dir, leaf) = match bytes.iter().rposition(|&b| b == b'/') {
                Some(0) => (&b"/"[..], &bytes[1..]),
                Some(i) => (&bytes[..i], &bytes[i + 1..]),
                None => (&b"."[..], bytes),
            };
            if leaf.is_empty() || leaf == b"." || leaf == b".." {
                return Err(libc::EISDIR);
            }
            let dir = CString::new(dir).map_err(|_| libc::EINVAL)?;
            let leaf = CString::new(leaf).map_err(|_| libc::EINVAL)?;
            let dfd = path_fd(dirfd, &dir, libc::O_DIRECTORY)?;
            let real = format!(
                "{}/{}",
                real_path(&dfd)?.trim_end_matches('/'),
                leaf.to_string_lossy()
            );
            Ok((Found::Create(dfd, leaf), real))
        }
        Err(e) => Err(e),
    }
}

/// Objects that would hand the program the shim's memory or the VS machinery.
pub fn refused_object(real: &str) -> bool {
    real == "/dev/rune"
        || (real.starts_with("/proc/") && (real.ends_with("/mem") || real.contains("/map_files")))
}
