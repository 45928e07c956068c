//! The container's view of its cgroups must carry the flags its `config.json` asks for.
//!
//! libcontainer 0.7 bind-mounts each cgroup v1 hierarchy into the container `rw` (and mounts
//! a namespaced cgroupfs without `ro`), whatever the spec's `/sys/fs/cgroup` mount says. With
//! docker's and podman's `ro,nosuid,nodev,noexec` that leaves a container root free to rewrite
//! its own limits (`memory.limit_in_bytes`, `pids.max`): runc honours the flags, so must we.
//! After `create` has built the mounts, and before the program runs, each hierarchy is
//! remounted with the spec's flags from inside the container (`container_mounts::inside`).

use std::fs::File;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use nix::mount::{MsFlags, mount};
use nix::unistd::Pid;
use oci_spec::runtime::Spec;

use crate::container_mounts::{self, ContainerMountError};

#[derive(Debug, thiserror::Error)]
pub enum CgroupMountError {
    #[error("read mounts of the container init {pid}: {source}")]
    MountInfo { pid: i32, source: std::io::Error },
    #[error("remount {path} with the flags of config.json: {source}")]
    Remount { path: PathBuf, source: nix::Error },
    #[error("remount cgroups in the container: {0}")]
    Inside(#[from] ContainerMountError),
}

/// Flags the spec's cgroup mount asks for that a plain bind mount drops.
fn wanted_flags(spec: &Spec) -> Option<(PathBuf, MsFlags)> {
    let m = spec
        .mounts()
        .as_ref()?
        .iter()
        .find(|m| m.typ().as_deref() == Some("cgroup"))?;
    let mut flags = MsFlags::empty();
    for opt in m.options().iter().flatten() {
        flags |= match opt.as_str() {
            "ro" => MsFlags::MS_RDONLY,
            "nosuid" => MsFlags::MS_NOSUID,
            "nodev" => MsFlags::MS_NODEV,
            "noexec" => MsFlags::MS_NOEXEC,
            _ => MsFlags::empty(),
        };
    }
    (!flags.is_empty()).then(|| (m.destination().clone(), flags))
}

/// A cgroup mount below `dest` (as the init sees it) that lacks some of the wanted flags, with
/// the flags it has, which a bind remount must keep (a user namespace locks them).
#[derive(Debug, PartialEq, Eq)]
struct Weak {
    id: u64,
    point: PathBuf,
    has: MsFlags,
}

fn mount_flags(opts: &str) -> MsFlags {
    opts.split(',')
        .map(|o| match o {
            "ro" => MsFlags::MS_RDONLY,
            "nosuid" => MsFlags::MS_NOSUID,
            "nodev" => MsFlags::MS_NODEV,
            "noexec" => MsFlags::MS_NOEXEC,
            "noatime" => MsFlags::MS_NOATIME,
            "nodiratime" => MsFlags::MS_NODIRATIME,
            "relatime" => MsFlags::MS_RELATIME,
            "strictatime" => MsFlags::MS_STRICTATIME,
            _ => MsFlags::empty(),
        })
        .fold(MsFlags::empty(), |a, b| a | b)
}

/// mountinfo escapes space, tab, newline and backslash in paths as octal (`\040`).
pub fn unescape(field: &str) -> PathBuf {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) => {
                out.push(d.iter().fold(0u8, |v, c| v.wrapping_mul(8) + (c - b'0')));
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    PathBuf::from(std::ffi::OsString::from_vec(out))
}

fn weaker_mounts(mountinfo: &str, dest: &Path, flags: MsFlags) -> Vec<Weak> {
    mountinfo
        .lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let fields: Vec<&str> = left.split_whitespace().collect();
            let id = fields.first()?.parse().ok()?;
            let (point, opts) = (unescape(fields.get(4)?), *fields.get(5)?);
            let fstype = right.split_whitespace().next()?;
            let is_cgroup = fstype == "cgroup" || fstype == "cgroup2";
            // On v1 the hierarchies sit below `dest`; on v2 cgroup2 is mounted at `dest`.
            let inside = point.starts_with(dest) && (point != dest || fstype == "cgroup2");
            let has = mount_flags(opts);
            (is_cgroup && inside && !has.contains(flags)).then_some(Weak { id, point, has })
        })
        .collect()
}

/// Called by `create` once the init waits for `start`: if any hierarchy is weaker than the
/// spec asks, a forked child enters the init's mount namespace and root and remounts each in
/// place.
pub fn harden(spec: &Spec, init: Pid) -> Result<(), CgroupMountError> {
    let Some((dest, flags)) = wanted_flags(spec) else {
        return Ok(());
    };
    let pid = init.as_raw();
    let info = std::fs::read_to_string(format!("/proc/{pid}/mountinfo"))
        .map_err(|source| CgroupMountError::MountInfo { pid, source })?;
    let weak = weaker_mounts(&info, &dest, flags);
    if weak.is_empty() {
        return Ok(());
    }
    container_mounts::inside(init, || {
        remount_all(&weak, flags).map_err(|e| e.to_string())
    })?;
    Ok(())
}

fn remount_all(weak: &[Weak], flags: MsFlags) -> Result<(), CgroupMountError> {
    for w in weak {
        // A mount covered by a later one (docker's `/sys` rbind under a fresh cgroup tmpfs)
        // has no name in the container: nothing reaches it, and there is nothing to remount.
        let reached = File::open(&w.point)
            .and_then(|f| crate::sys::mount_id(&f).map_err(std::io::Error::from));
        if reached.ok() != Some(w.id) {
            continue;
        }
        mount(
            None::<&str>,
            &w.point,
            None::<&str>,
            MsFlags::MS_REMOUNT | MsFlags::MS_BIND | w.has | flags,
            None::<&str>,
        )
        .map_err(|source| CgroupMountError::Remount {
            path: w.point.clone(),
            source,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &str = "\
1 0 0:1 / / ro,relatime - overlay overlay rw
2 1 0:2 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - tmpfs tmpfs rw
3 2 0:3 /x /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
4 2 0:4 /x /sys/fs/cgroup/pids ro,nosuid,nodev,noexec,relatime - cgroup cgroup rw,pids
5 1 0:5 / /proc/sys ro,relatime - proc proc rw
6 1 0:6 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw";

    #[test]
    fn finds_only_cgroup_mounts_missing_flags() {
        let all = MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
        let weak = weaker_mounts(INFO, Path::new("/sys/fs/cgroup"), all);
        let points: Vec<&Path> = weak.iter().map(|w| w.point.as_path()).collect();
        assert_eq!(
            points,
            [
                Path::new("/sys/fs/cgroup/memory"),
                Path::new("/sys/fs/cgroup/unified")
            ]
        );
        assert_eq!(
            weak[1].has,
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC | MsFlags::MS_RELATIME
        );
    }

    #[test]
    fn mountinfo_escapes_are_undone() {
        assert_eq!(unescape(r"/a\040b\134c"), PathBuf::from("/a b\\c"));
        assert_eq!(unescape(r"/plain"), PathBuf::from("/plain"));
    }
}
