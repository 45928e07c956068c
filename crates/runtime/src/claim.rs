//! One `create` per container id at a time. libcontainer checks that the state directory is
//! absent and then creates it, which two concurrent creates can both pass; the loser then
//! fails half-way and its clean-up would remove the winner's state. A lock file per id, held
//! for the whole create, settles the race before anything is made. The lock is a POSIX
//! record lock: it belongs to this process only (the container processes libcontainer forks
//! do not inherit it), so a `create` killed with SIGKILL releases it at once.

use std::fs::{self, File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{FcntlArg, fcntl};

use crate::bundle::BundleError;

#[derive(Debug)]
pub struct Claim {
    path: PathBuf,
    _file: File,
}

fn lock_path(root: &Path, id: &str) -> PathBuf {
    root.join(format!(".rune-create-{id}.lock"))
}

/// Takes the write lock on the whole file without waiting.
fn try_lock(file: &File) -> nix::Result<()> {
    let whole = libc::flock {
        l_type: libc::F_WRLCK as libc::c_short,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    };
    fcntl(file.as_raw_fd(), FcntlArg::F_SETLK(&whole)).map(drop)
}

impl Claim {
    pub fn take(root: &Path, id: &str) -> anyhow::Result<Claim> {
        let path = lock_path(root, id);
        loop {
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)?;
            match try_lock(&file) {
                Ok(()) => {}
                Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EACCES) => {
                    return Err(BundleError::Exists(id.to_owned()).into());
                }
                Err(e) => return Err(e.into()),
            }
            // The previous holder may have removed the file between our open and our lock:
            // then the lock is on a name nobody else will find; take it again.
            let same = fs::metadata(&path)
                .is_ok_and(|m| file.metadata().is_ok_and(|l| l.ino() == m.ino()));
            if same {
                return Ok(Claim { path, _file: file });
            }
        }
    }
}

/// Whether no `create` of `id` is running; removes the lock file a `create` killed with
/// SIGKILL left.
pub fn no_create_running(root: &Path, id: &str) -> bool {
    let path = lock_path(root, id);
    let Ok(file) = OpenOptions::new().write(true).open(&path) else {
        return true;
    };
    if try_lock(&file).is_ok() {
        let _ = fs::remove_file(&path);
        return true;
    }
    false
}

/// The processes libcontainer forked for a `create` of `id` whose rune-run is dead: they still
/// carry its command line, and the init among them waits for a `start` that cannot come.
/// Only called when no create of `id` runs.
pub fn orphans_of_create(root: &Path, id: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    let Ok(procs) = fs::read_dir("/proc") else {
        return vec![];
    };
    procs
        .flatten()
        .filter_map(|p| p.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| *pid != me)
        .filter(|pid| {
            let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
                return false;
            };
            let argv: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
            let has = |s: &[u8]| argv.contains(&s);
            let root_arg = argv
                .windows(2)
                .find(|w| w[0] == b"--root")
                .map(|w| w[1].to_vec());
            let same_root = match root_arg {
                Some(r) => Path::new(std::ffi::OsStr::from_bytes(&r)) == root,
                None => root == Path::new(crate::cli::DEFAULT_ROOT),
            };
            let runtime = argv.first().is_some_and(|a0| a0.ends_with(b"rune-run"));
            runtime && same_root && has(id.as_bytes()) && has(b"create")
        })
        .collect()
}

impl Drop for Claim {
    fn drop(&mut self) {
        // Removed while still locked, so no one can lock this inode after us.
        let _ = fs::remove_file(&self.path);
    }
}
