//! The container's view of its cgroups must carry the flags its `config.json` asks for.
//!
//! libcontainer 0.7 bind-mounts each cgroup v1 hierarchy into the container `rw` (and mounts
//! a namespaced cgroupfs without `ro`), whatever the spec's `/sys/fs/cgroup` mount says. With
//! docker's and podman's `ro,nosuid,nodev,noexec` that leaves a container root free to rewrite
//! its own limits (`memory.limit_in_bytes`, `pids.max`): runc honours the flags, so must we.
//! After `create` has built the mount namespace, and before the program runs, a forked child
//! (single-threaded, as `setns(CLONE_NEWNS)` requires) enters the init's mount namespace and
//! remounts each hierarchy with the spec's flags.

use std::fs::File;
use std::path::{Path, PathBuf};

use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, setns};
use nix::unistd::Pid;
use oci_spec::runtime::Spec;

use crate::sys;

#[derive(Debug, thiserror::Error)]
pub enum CgroupMountError {
    #[error("read mounts of the container init {pid}: {source}")]
    MountInfo { pid: i32, source: std::io::Error },
    #[error("enter the mount namespace of the container init: {source}")]
    Setns { source: nix::Error },
    #[error("remount {path} with the flags of config.json: {source}")]
    Remount { path: PathBuf, source: nix::Error },
    #[error("remount cgroups in the container: {0}")]
    Helper(String),
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

/// Mount points below `dest` (as the init sees them) of type cgroup that lack `flags`.
fn weaker_mounts(mountinfo: &str, dest: &Path, flags: MsFlags) -> Vec<PathBuf> {
    mountinfo
        .lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let fields: Vec<&str> = left.split_whitespace().collect();
            let (point, opts) = (Path::new(fields.get(4)?), *fields.get(5)?);
            let fstype = right.split_whitespace().next()?;
            let is_cgroup = fstype == "cgroup" || fstype == "cgroup2";
            // On v1 the hierarchies sit below `dest`; on v2 cgroup2 is mounted at `dest`.
            let inside = point.starts_with(dest) && (point != dest || fstype == "cgroup2");
            if !is_cgroup || !inside {
                return None;
            }
            let has = |name: &str| opts.split(',').any(|o| o == name);
            let missing = (flags.contains(MsFlags::MS_RDONLY) && !has("ro"))
                || (flags.contains(MsFlags::MS_NOSUID) && !has("nosuid"))
                || (flags.contains(MsFlags::MS_NODEV) && !has("nodev"))
                || (flags.contains(MsFlags::MS_NOEXEC) && !has("noexec"));
            missing.then(|| point.to_owned())
        })
        .collect()
}

/// Called by `create` once the init waits for `start`: if any hierarchy is weaker than the
/// spec asks, a forked child enters the init's mount namespace (its root becomes the
/// container's) and remounts each in place.
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
    let ns = File::open(format!("/proc/{pid}/ns/mnt"))
        .map_err(|source| CgroupMountError::MountInfo { pid, source })?;
    sys::in_child(|| remount_all(ns, &weak, flags).map_err(|e| e.to_string()))
        .map_err(CgroupMountError::Helper)
}

fn remount_all(ns: File, points: &[PathBuf], flags: MsFlags) -> Result<(), CgroupMountError> {
    setns(ns, CloneFlags::CLONE_NEWNS).map_err(|source| CgroupMountError::Setns { source })?;
    for point in points {
        mount(
            None::<&str>,
            point,
            None::<&str>,
            MsFlags::MS_REMOUNT | MsFlags::MS_BIND | flags,
            None::<&str>,
        )
        .map_err(|source| CgroupMountError::Remount {
            path: point.clone(),
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
        assert_eq!(
            weak,
            vec![
                PathBuf::from("/sys/fs/cgroup/memory"),
                PathBuf::from("/sys/fs/cgroup/unified")
            ]
        );
    }
}
