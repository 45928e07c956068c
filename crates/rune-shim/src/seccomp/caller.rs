//! What the supervisor learns about a trapped caller from outside: its memory (copied once,
//! then decided on, so the caller cannot change it under the decision), its ids and
//! namespaces. Every lookup under /proc/PID is confirmed afterwards with
//! `SECCOMP_IOCTL_NOTIF_ID_VALID` by the caller of these functions.

use std::io::{self, IoSliceMut};
use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt;

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

impl Caller {
    pub fn read(tid: u32) -> io::Result<Caller> {
        let dir = format!("/proc/{tid}");
        let status = std::fs::read_to_string(format!("{dir}/status"))?;
        let uid_map = std::fs::read_to_string(format!("{dir}/uid_map"))?;
        let gid_map = std::fs::read_to_string(format!("{dir}/gid_map"))?;
        let last = |key| -> io::Result<u64> {
            numbers(field(&status, key)?)
                .last()
                .copied()
                .ok_or_else(|| io::Error::other(format!("/proc status: bad {key}")))
        };
        let fs = |key| -> io::Result<u32> {
            numbers(field(&status, key)?)
                .get(3)
                .map(|v| *v as u32)
                .ok_or_else(|| io::Error::other(format!("/proc status: bad {key}")))
        };
        let tgid = numbers(field(&status, "Tgid")?)
            .first()
            .copied()
            .unwrap_or(0) as u32;
        let ns_tid = last("NSpid")? as u32;
        let ns_pid = if tgid == tid {
            ns_tid
        } else {
            let leader = std::fs::read_to_string(format!("/proc/{tgid}/status"))?;
            numbers(field(&leader, "NSpid")?)
                .last()
                .copied()
                .unwrap_or(0) as u32
        };
        let creds = Creds {
            fsuid: map_id(&uid_map, fs("Uid")?),
            fsgid: map_id(&gid_map, fs("Gid")?),
            groups: numbers(field(&status, "Groups")?)
                .into_iter()
                .map(|g| map_id(&gid_map, g as u32))
                .collect(),
            cap_eff: u64::from_str_radix(field(&status, "CapEff")?, 16)
                .map_err(io::Error::other)?,
            umask: u32::from_str_radix(field(&status, "Umask")?, 8).map_err(io::Error::other)?,
        };
        Ok(Caller {
            ns_pid,
            ns_tid,
            creds,
        })
    }
}

/// `/proc/TID/WHAT` (`root`, `cwd`) as an `O_PATH` descriptor: the caller's own directory.
pub fn proc_fd(tid: u32, what: &str) -> io::Result<OwnedFd> {
    let fd = nix::fcntl::open(
        format!("/proc/{tid}/{what}").as_str(),
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )?;
    Ok(super::sys::adopt([fd]).remove(0))
}

/// The directory a path relative to `dirfd` starts from: the caller's cwd for `AT_FDCWD`,
/// else a duplicate of the caller's descriptor.
pub fn base_dir(tid: u32, dirfd: i32) -> io::Result<OwnedFd> {
    if dirfd == libc::AT_FDCWD {
        return proc_fd(tid, "cwd");
    }
    let pidfd = super::sys::pidfd_open(super::serve::tgid_of(tid) as libc::pid_t)?;
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

/// Identifies the namespaces of `tid`: a helper serves callers with the same key.
pub fn namespace_key(tid: u32) -> io::Result<Vec<u64>> {
    NAMESPACES
        .iter()
        .map(|(name, _)| Ok(std::fs::metadata(format!("/proc/{tid}/ns/{name}"))?.ino()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_itself() {
        let me = std::process::id();
        let c = Caller::read(me).unwrap();
        assert_eq!(c.ns_pid, me);
        assert_eq!(c.creds.fsuid, nix::unistd::geteuid().as_raw());
        let text = b"/etc/hostname\0";
        let got = read_path(me, text.as_ptr() as u64).unwrap();
        assert_eq!(got, b"/etc/hostname");
        assert_eq!(map_id("0 100000 65536", 100_005), 5);
        assert_eq!(map_id("0 0 4294967295", 1000), 1000);
    }
}
