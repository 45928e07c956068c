//! A container without a mount namespace of its own (runc runs `"namespaces": []`) makes its
//! mounts (`/proc`, `/dev`, `/sys`, the cgroup hierarchies, a read-only rootfs) under its
//! rootfs in the host's mount namespace. runc leaves them there after `delete`; they belong to
//! the container, so rune-run takes them away with it: `create` records which mounts were at
//! or below the rootfs before the container existed, and `delete` (or a failed `create`)
//! detaches every mount there that is not in that record, deepest first.
//!
//! Names under the rootfs are the container's to change (it runs chrooted there, in the same
//! namespace), so a mount is never unmounted by its path: the path is opened beneath the
//! rootfs without following symlinks, the mount that descriptor lies on must be the one
//! mountinfo named, and the descriptor itself is what gets unmounted.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, umount2};
use oci_spec::runtime::{LinuxNamespaceType, Spec};
use serde::{Deserialize, Serialize};

/// Where the state directory keeps the record.
const RECORD: &str = "rune-host-mounts.json";

#[derive(Debug, thiserror::Error)]
pub enum HostMountError {
    #[error("read the host's mount table: {0}")]
    MountInfo(std::io::Error),
    #[error("rootfs {path}: {source}")]
    Rootfs {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("record the host mounts below the rootfs in {path}: {source}")]
    Save {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("unmount {path}, which the container mounted below its rootfs: {source}")]
    Unmount { path: PathBuf, source: nix::Error },
}

/// The mounts at or below a shared-namespace container's rootfs before it was created.
#[derive(Debug, Serialize, Deserialize)]
pub struct Record {
    rootfs: PathBuf,
    before: BTreeSet<u64>,
}

/// A mount of the current namespace at or below `rootfs`: its id and its point.
fn mounts_below(rootfs: &Path) -> Result<Vec<(u64, PathBuf)>, HostMountError> {
    let info = fs::read_to_string("/proc/self/mountinfo").map_err(HostMountError::MountInfo)?;
    Ok(info
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(' ');
            let id = fields.next()?.parse().ok()?;
            let point = crate::cgroup_mounts::unescape(fields.nth(3)?);
            point.starts_with(rootfs).then_some((id, point))
        })
        .collect())
}

fn shares_host_mount_namespace(spec: &Spec) -> bool {
    let namespaces = spec.linux().as_ref().and_then(|l| l.namespaces().as_ref());
    !namespaces
        .into_iter()
        .flatten()
        .any(|n| n.typ() == LinuxNamespaceType::Mount)
}

impl Record {
    /// Taken before `create` makes anything; `None` when the container gets a mount
    /// namespace of its own, whose mounts go with it.
    pub fn before_create(spec: &Spec, bundle: &Path) -> Result<Option<Record>, HostMountError> {
        if !shares_host_mount_namespace(spec) {
            return Ok(None);
        }
        let Some(root) = spec.root().as_ref() else {
            return Ok(None);
        };
        let path = bundle.join(root.path());
        let rootfs =
            fs::canonicalize(&path).map_err(|source| HostMountError::Rootfs { path, source })?;
        let before = mounts_below(&rootfs)?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        Ok(Some(Record { rootfs, before }))
    }

    /// The record `create` left in a state directory, if the container has one.
    pub fn load(state_dir: &Path) -> Option<Record> {
        let text = fs::read(state_dir.join(RECORD)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    pub fn save(&self, state_dir: &Path) -> Result<(), HostMountError> {
        let path = state_dir.join(RECORD);
        let text = serde_json::to_vec(self).expect("a record serializes");
        fs::write(&path, text).map_err(|source| HostMountError::Save { path, source })
    }

    /// Detaches what the container added below its rootfs.
    pub fn release(&self) -> Result<(), HostMountError> {
        let Ok(rootfs) = File::open(&self.rootfs) else {
            // The rootfs is gone, and with it anything mounted below it.
            return Ok(());
        };
        let mut added: Vec<(u64, PathBuf)> = mounts_below(&self.rootfs)?
            .into_iter()
            .filter(|(id, _)| !self.before.contains(id))
            .collect();
        // Children before parents: a parent detached first would take the others' names.
        added.sort_by_key(|(_, point)| std::cmp::Reverse(point.components().count()));
        for (id, point) in added {
            let Some(fd) = open_beneath(&rootfs, &self.rootfs, &point) else {
                continue;
            };
            if crate::sys::mount_id(&fd).ok() != Some(id) {
                tracing::warn!(path = %point.display(), "left a mount whose name now leads elsewhere");
                continue;
            }
            let target = format!("/proc/self/fd/{}", fd.as_raw_fd());
            umount2(target.as_str(), MntFlags::MNT_DETACH).map_err(|source| {
                HostMountError::Unmount {
                    path: point,
                    source,
                }
            })?;
        }
        Ok(())
    }
}

fn open_beneath(rootfs: &File, rootfs_path: &Path, point: &Path) -> Option<OwnedFd> {
    let rel = point.strip_prefix(rootfs_path).ok()?;
    let rel = if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    };
    crate::sys::open_path_beneath(rootfs, rel).ok()
}
