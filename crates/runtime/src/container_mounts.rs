//! Acting on a container's own mounts from rune-run, after `create` has built them and before
//! the program runs: a forked child (single-threaded, as `setns(CLONE_NEWNS)` requires)
//! enters the init's mount namespace and then takes the init's root.
//!
//! Taking the init's root is what keeps this inside the container. A bundle without a mount
//! namespace (runc runs `"namespaces": []`) shares the host's: its mounts are under the
//! rootfs, and the init's `mountinfo` names them relative to its chroot. Entering the
//! namespace alone would put the child at the host's root, where the same names are the
//! host's own.

use std::fs::File;
use std::os::fd::AsRawFd;

use nix::sched::{CloneFlags, setns};
use nix::unistd::{Pid, chroot, fchdir};

use crate::sys;

#[derive(Debug, thiserror::Error)]
pub enum ContainerMountError {
    #[error("the container init {pid}: {source}")]
    Init { pid: i32, source: std::io::Error },
    #[error("enter the mount namespace of the container init: {source}")]
    Setns { source: nix::Error },
    #[error("take the root of the container init: {source}")]
    Root { source: nix::Error },
    #[error("{0}")]
    Work(String),
}

/// Whether the container has a mount namespace of its own (not rune-run's).
pub fn has_own_namespace(init: Pid) -> Result<bool, ContainerMountError> {
    let pid = init.as_raw();
    let ns = |p: String| {
        std::fs::read_link(p).map_err(|source| ContainerMountError::Init { pid, source })
    };
    Ok(ns(format!("/proc/{pid}/ns/mnt"))? != ns("/proc/self/ns/mnt".into())?)
}

/// Runs `work` inside the container's mount namespace, with its root as `/`.
pub fn inside(
    init: Pid,
    work: impl FnOnce() -> Result<(), String>,
) -> Result<(), ContainerMountError> {
    let pid = init.as_raw();
    let open = |what: &str| {
        File::open(format!("/proc/{pid}/{what}"))
            .map_err(|source| ContainerMountError::Init { pid, source })
    };
    let (ns, root) = (open("ns/mnt")?, open("root")?);
    let entered = sys::in_child(|| {
        setns(ns, CloneFlags::CLONE_NEWNS)
            .map_err(|source| ContainerMountError::Setns { source }.to_string())?;
        // The init's root was opened before the switch; it lies in the namespace just entered.
        fchdir(root.as_raw_fd())
            .and_then(|()| chroot("."))
            .map_err(|source| ContainerMountError::Root { source }.to_string())?;
        work()
    });
    entered.map_err(ContainerMountError::Work)
}
