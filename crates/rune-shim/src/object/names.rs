//! Links and renames while a policy denies opening some path, for both backends: a file must
//! not be reachable by a new name the policy allows (ARCHITECTURE.md §3). Each name is found
//! as the caller's lookup would (its directory, and what is at the name now), the policies
//! are asked whether that object (or anything below it) is denied, and only then is exactly
//! that name linked or renamed, by descriptor of the directory found.

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, RenameFlags, renameat2};
use nix::unistd::linkat;

use super::walk::{self, Found, Whose};
use crate::syscalls::table;

/// (dirfd, path) of the old and the new name, whether a final symlink of the old one is
/// followed, and the `renameat2` flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Names {
    pub old: (i32, u64),
    pub new: (i32, u64),
    pub follow: bool,
    pub flags: u32,
}

/// The names of a link or rename, from the system-call table: the two paths with their
/// dirfds and the flags argument (linkat's AT_* flags, renameat2's RENAME_*).
pub fn names(name: &str, a: [u64; 6]) -> Option<Names> {
    let entry = table::entry(name)?;
    let [old, new] = entry.paths()[..] else {
        return None;
    };
    let flags = entry
        .args
        .iter()
        .position(|k| *k == table::Arg::Flags)
        .map_or(0, |i| a[i]);
    let at = |p: table::PathArg| (p.dirfd.map_or(libc::AT_FDCWD, |i| a[i] as i32), a[p.path]);
    let linking = crate::syscalls::family("@link").is_some_and(|f| f.members.contains(&name));
    if linking {
        // A link by descriptor (AT_EMPTY_PATH) names no path to check: refused by the caller.
        if flags as i32 & libc::AT_EMPTY_PATH != 0 {
            return None;
        }
        return Some(Names {
            old: at(old),
            new: at(new),
            follow: flags as i32 & libc::AT_SYMLINK_FOLLOW != 0,
            flags: 0,
        });
    }
    Some(Names {
        old: at(old),
        new: at(new),
        follow: false,
        flags: flags as u32,
    })
}

/// A name found for a link or rename: its directory, the last component, what is at that
/// name now (never followed), and the object itself when a final symlink was followed.
#[derive(Debug)]
pub struct Named {
    pub parent: OwnedFd,
    pub name: CString,
    pub at: Option<OwnedFd>,
    pub followed: Option<OwnedFd>,
}

impl Named {
    /// The object the name stands for: what a followed symlink led to, else what is there.
    pub fn object(&self) -> Option<BorrowedFd<'_>> {
        self.followed.as_ref().or(self.at.as_ref()).map(AsFd::as_fd)
    }
}

/// Finds `path` from `base` as a link or rename names it (`follow`: through a final symlink,
/// as linkat's AT_SYMLINK_FOLLOW).
pub fn find(base: BorrowedFd<'_>, path: &[u8], follow: bool, whose: Whose) -> Result<Named, Errno> {
    let (parent, name, at) = walk::name(base, path, whose)?;
    let followed = match (&at, follow) {
        (Some(_), true) => match walk::find(base, path, 0, 0, whose) {
            Ok(Found::Object(fd)) => Some(fd),
            Ok(Found::Create { .. }) | Err(Errno::ENOENT) => None,
            Err(e) => return Err(e),
        },
        _ => None,
    };
    Ok(Named {
        parent,
        name,
        at,
        followed,
    })
}

/// Links `old`'s object at `new`'s name; `fd_dir` is our own `/proc/self/fd`, through which a
/// followed object is linked exactly.
pub fn link(fd_dir: BorrowedFd<'_>, old: &Named, new: &Named) -> Result<(), Errno> {
    match &old.followed {
        Some(fd) => linkat(
            Some(fd_dir.as_raw_fd()),
            CString::new(fd.as_raw_fd().to_string())
                .unwrap_or_default()
                .as_c_str(),
            Some(new.parent.as_raw_fd()),
            new.name.as_c_str(),
            AtFlags::AT_SYMLINK_FOLLOW,
        ),
        None => linkat(
            Some(old.parent.as_raw_fd()),
            old.name.as_c_str(),
            Some(new.parent.as_raw_fd()),
            new.name.as_c_str(),
            AtFlags::empty(),
        ),
    }
}

/// Renames `old`'s name to `new`'s (`renameat2` flags).
pub fn rename(old: &Named, new: &Named, flags: u32) -> Result<(), Errno> {
    renameat2(
        Some(old.parent.as_raw_fd()),
        old.name.as_c_str(),
        Some(new.parent.as_raw_fd()),
        new.name.as_c_str(),
        RenameFlags::from_bits_truncate(flags),
    )
}
