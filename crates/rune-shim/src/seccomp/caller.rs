//! What the supervisor learns about a trapped caller from outside: its memory (copied once,
//! then decided on, so the caller cannot change it under the decision), its ids and
//! namespaces. Every lookup under /proc/PID is confirmed afterwards with
//! `SECCOMP_IOCTL_NOTIF_ID_VALID` by the caller of these functions.

use std::io::{self, IoSliceMut, Read};
use std::os::fd::{AsRawFd, OwnedFd};

use nix::fcntl::{OFlag, readlinkat};
use nix::sys::stat::Mode;

use nix::sys::uio::{RemoteIoVec, process_vm_readv};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

const PAGE: usize = 4096;
const PATH_MAX: usize = 4096;

/// Copies `len` bytes at `addr` out of process `tid`.
pub fn read_bytes(tid: u32, addr: u64, len: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let n = process_vm_readv(
        Pid::from_raw(tid as i32),
        &mut [IoSliceMut::new(&mut buf)],
        &[RemoteIoVec {
            base: addr as usize,
            len,
        }],
    )?;
    if n != len {
        return Err(io::Error::from_raw_os_error(libc::EFAULT));
    }
    Ok(buf)
}

/// Copies the NUL-terminated string at `addr`, page by page (a string may end just before
/// an unmapped page).
pub fn read_path(tid: u32, addr: u64) -> io::Result<Vec<u8>> {
    if addr == 0 {
        return Err(io::Error::from_raw_os_error(libc::EFAULT));
    }
    let mut out = Vec::new();
    let mut at = addr;
    while out.len() <= PATH_MAX {
        let chunk = PAGE - (at as usize % PAGE);
        let bytes = read_bytes(tid, at, chunk)?;
        if let Some(end) = bytes.iter().position(|b| *b == 0) {
            out.extend_from_slice(&bytes[..end]);
            return Ok(out);
        }
        out.extend_from_slice(&bytes);
        at += chunk as u64;
    }
    Err(io::Error::from_raw_os_error(libc::ENAMETOOLONG))
}

/// The caller's file-system identity, in its own user namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Creds {
    pub fsuid: u32,
    pub fsgid: u32,
    pub groups: Vec<u32>,
    pub cap_eff: u64,
    pub umask: u32,
}

#[derive(Debug, Clone)]
pub struct Caller {
    /// The caller's process id, as the supervisor sees it.
    pub tgid: u32,
    /// The caller's pid and tid in its own pid namespace (for /proc/self).
    pub ns_pid: u32,
    pub ns_tid: u32,
    pub creds: Creds,
}

fn field<'a>(status: &'a str, key: &str) -> io::Result<&'a str> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(':')))
        .map(str::trim)
        .ok_or_else(|| io::Error::other(format!("/proc status without {key}")))
}

fn numbers(s: &str) -> Vec<u64> {
    s.split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect()
}

/// Maps a host id into the namespace whose map (as this process reads it) is `map`.
fn map_id(map: &str, id: u32) -> u32 {
    for line in map.lines() {
        if let [inside, outside, count] = numbers(line)[..]
            && u64::from(id) >= outside
            && u64::from(id) < outside + count
        {
            return (inside + (u64::from(id) - outside)) as u32;
        }
    }
    65534
}

/// A caller's `/proc/TID`, opened once per call: what the supervisor learns about the caller
/// is read relative to it (each walk through `/proc/TID` costs about as much as the read),
/// and it stays this task's even if the number is reused (the directory is of the task).
#[derive(Debug)]
pub struct ProcDir {
    dir: OwnedFd,
}

impl ProcDir {
    /// `/proc/WHO` (a thread id, `thread-self`).
    pub fn open(who: impl std::fmt::Display) -> io::Result<ProcDir> {
        let fd = nix::fcntl::open(
            format!("/proc/{who}").as_str(),
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        Ok(ProcDir {
            dir: super::sys::adopt([fd]).remove(0),
        })
    }

    /// `WHAT` below the task's directory, opened with `flags`.
    fn open_at(&self, what: &str, flags: OFlag) -> io::Result<OwnedFd> {
        let fd = nix::fcntl::openat(
            Some(self.dir.as_raw_fd()),
            what,
            flags | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        Ok(super::sys::adopt([fd]).remove(0))
    }

    fn read(&self, what: &str) -> io::Result<String> {
        // In page-sized reads: procfs files say they are empty, and reading up to a size
        // hint would take many small reads.
        let mut file = std::fs::File::from(self.open_at(what, OFlag::O_RDONLY)?);
        let mut bytes = Vec::with_capacity(PAGE);
        loop {
            let at = bytes.len();
            bytes.resize(at + PAGE, 0);
            let n = file.read(&mut bytes[at..])?;
            bytes.truncate(at + n);
            if n == 0 {
                break;
            }
        }
        String::from_utf8(bytes).map_err(io::Error::other)
    }

    /// `root`, `cwd` (or `fd/N`) as an `O_PATH` descriptor: the caller's own directory.
    pub fn fd(&self, what: &str) -> io::Result<OwnedFd> {
        self.open_at(what, OFlag::O_PATH)
    }

    /// The task's namespace `name` (`net`, ...), by number. Read from the link's text
    /// (`net:[4026531840]`): following it costs three times as much.
    pub fn namespace(&self, name: &str) -> io::Result<u64> {
        let link = readlinkat(Some(self.dir.as_raw_fd()), format!("ns/{name}").as_str())?;
        let text = link.to_string_lossy();
        text.rsplit_once('[')
            .and_then(|(_, n)| n.strip_suffix(']'))
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| io::Error::other(format!("/proc ns/{name}: {text}")))
    }

    /// The task's namespace `name` itself, to join.
    pub fn namespace_fd(&self, name: &str) -> io::Result<OwnedFd> {
        self.open_at(&format!("ns/{name}"), OFlag::O_RDONLY)
    }

    /// Identifies the task's namespaces (in `NAMESPACES` order): a helper serves callers
    /// with the same key.
    pub fn namespace_key(&self) -> io::Result<Vec<u64>> {
        NAMESPACES
            .iter()
            .map(|(name, _)| self.namespace(name))
            .collect()
    }

    /// Whether the task is in this process's user namespace.
    pub fn in_our_user_namespace(&self) -> io::Result<bool> {
        Ok(Some(self.namespace("user")?) == own_user_ns())
    }
}

/// The user namespace of this process, by number.
fn own_user_ns() -> Option<u64> {
    static OWN: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *OWN.get_or_init(|| ProcDir::open("self").and_then(|p| p.namespace("user")).ok())
}

impl Caller {
    /// The caller whose `/proc` directory is `proc`, in our user namespace or not (`ours`).
    /// Its ids are as its own user namespace numbers them: as ours when it shares ours, else
    /// mapped.
    pub fn read(proc: &ProcDir, ours: bool) -> io::Result<Caller> {
        let status = proc.read("status")?;
        let (uid_map, gid_map) = if ours {
            (None, None)
        } else {
            (Some(proc.read("uid_map")?), Some(proc.read("gid_map")?))
        };
        let uid = |id| uid_map.as_deref().map_or(id, |m| map_id(m, id));
        let gid = |id| gid_map.as_deref().map_or(id, |m| map_id(m, id));
        let last = |key| -> io::Result<u64> {
            numbers(field(&status, key)?)
                .last()
                .copied()
                .ok_or_else(|| io::Error::other(format!("/proc status: bad {key}")))
        };
        let first = |key| -> io::Result<u64> {
            numbers(field(&status, key)?)
                .first()
                .copied()
                .ok_or_else(|| io::Error::other(format!("/proc status: bad {key}")))
        };
        let fs = |key| -> io::Result<u32> {
            numbers(field(&status, key)?)
                .get(3)
                .map(|v| *v as u32)
                .ok_or_else(|| io::Error::other(format!("/proc status: bad {key}")))
        };
        let creds = Creds {
            fsuid: uid(fs("Uid")?),
            fsgid: gid(fs("Gid")?),
            groups: numbers(field(&status, "Groups")?)
                .into_iter()
                .map(|g| gid(g as u32))
                .collect(),
            cap_eff: u64::from_str_radix(field(&status, "CapEff")?, 16)
                .map_err(io::Error::other)?,
            umask: u32::from_str_radix(field(&status, "Umask")?, 8).map_err(io::Error::other)?,
        };
        Ok(Caller {
            tgid: first("Tgid")? as u32,
            ns_pid: last("NStgid")? as u32,
            ns_tid: last("NSpid")? as u32,
            creds,
        })
    }
}

/// `/proc/TID/WHAT` (`root`, `cwd`) as an `O_PATH` descriptor: the caller's own directory.
pub fn proc_fd(tid: u32, what: &str) -> io::Result<OwnedFd> {
    ProcDir::open(tid)?.fd(what)
}

/// The directory a path relative to `dirfd` starts from: the caller's cwd for `AT_FDCWD`,
/// else a duplicate of the caller's descriptor.
pub fn base_dir(proc: &ProcDir, who: &Caller, dirfd: i32) -> io::Result<OwnedFd> {
    if dirfd == libc::AT_FDCWD {
        return proc.fd("cwd");
    }
    let pidfd = super::sys::pidfd_open(who.tgid as libc::pid_t)?;
    super::sys::pidfd_getfd(std::os::fd::AsFd::as_fd(&pidfd), dirfd)
}

/// The namespaces a helper joins, in the order it joins them (the user namespace first, so
/// that the others are joined with the rights it gives).
pub const NAMESPACES: [(&str, nix::sched::CloneFlags); 7] = [
    ("user", nix::sched::CloneFlags::CLONE_NEWUSER),
    ("mnt", nix::sched::CloneFlags::CLONE_NEWNS),
    ("pid", nix::sched::CloneFlags::CLONE_NEWPID),
    ("net", nix::sched::CloneFlags::CLONE_NEWNET),
    ("ipc", nix::sched::CloneFlags::CLONE_NEWIPC),
    ("uts", nix::sched::CloneFlags::CLONE_NEWUTS),
    ("cgroup", nix::sched::CloneFlags::CLONE_NEWCGROUP),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_itself() {
        let me = std::process::id();
        let proc = ProcDir::open(me).unwrap();
        let c = Caller::read(&proc, proc.in_our_user_namespace().unwrap()).unwrap();
        assert_eq!((c.tgid, c.ns_pid), (me, me));
        assert_eq!(c.creds.fsuid, nix::unistd::geteuid().as_raw());
        let text = b"/etc/hostname\0";
        let got = read_path(me, text.as_ptr() as u64).unwrap();
        assert_eq!(got, b"/etc/hostname");
        assert_eq!(map_id("0 100000 65536", 100_005), 5);
        assert_eq!(map_id("0 0 4294967295", 1000), 1000);
    }
}
