//! What a container may leave on the host: cgroup directories, processes, state directories.

use std::fs;
use std::path::{Path, PathBuf};

/// Every existing cgroup directory for `cgroups_path`, across v1 controllers and the v2 tree.
pub fn cgroup_dirs(cgroups_path: &str) -> Vec<PathBuf> {
    let rel = cgroups_path.trim_start_matches('/');
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir("/sys/fs/cgroup") else {
        return found;
    };
    for entry in entries.flatten() {
        let base = entry.path();
        for candidate in [base.join(rel), base.join("unified").join(rel)] {
            if candidate.is_dir() && !found.contains(&candidate) {
                found.push(candidate);
            }
        }
    }
    // A pure v2 host mounts the tree itself at /sys/fs/cgroup.
    let v2 = Path::new("/sys/fs/cgroup").join(rel);
    if v2.join("cgroup.procs").exists() && !found.contains(&v2) {
        found.push(v2);
    }
    found
}

/// The v1 controller directory (or the v2 directory) holding `file` for `cgroups_path`.
pub fn cgroup_file(cgroups_path: &str, file: &str) -> Option<String> {
    cgroup_dirs(cgroups_path)
        .into_iter()
        .map(|d| d.join(file))
        .find(|p| p.exists())
        .and_then(|p| fs::read_to_string(p).ok())
        .map(|s| s.trim().to_owned())
}

/// Processes whose command line mentions `needle` (a container id or a bundle path).
pub fn processes_mentioning(needle: &str) -> Vec<(i32, String)> {
    let mut found = Vec::new();
    let me = std::process::id() as i32;
    for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(cmdline) = fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(needle) {
            found.push((pid, cmdline));
        }
    }
    found
}

/// Mount points under `dir` (a bundle or rootfs) that are still mounted in the host.
pub fn mounts_under(dir: &Path) -> Vec<String> {
    let dir = dir.to_string_lossy().into_owned();
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4))
        .filter(|m| m.starts_with(&dir))
        .map(str::to_owned)
        .collect()
}

/// Processes (other than zombies) holding a descriptor to something under `dir`.
pub fn processes_with_files_under(dir: &Path) -> Vec<i32> {
    let mut found = Vec::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return found;
    };
    for p in procs.flatten() {
        let Ok(pid) = p.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else {
            continue;
        };
        if fds
            .flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|t| t.starts_with(dir)))
        {
            found.push(pid);
        }
    }
    found
}

/// Cgroup parents that a daemon a test starts makes and never removes (dockerd's `/docker`,
/// podman's `libpod_parent`, a containerd namespace's `/NAME`): the ones absent when the test
/// began are removed, with their empty children, when it ends, so the host is left as found
/// (`hack/test-e2e.sh` checks). A cgroup that still holds a process cannot be removed, so
/// nothing in use is touched.
#[derive(Debug)]
pub struct CgroupParents(Vec<String>);

impl CgroupParents {
    pub fn new(names: &[&str]) -> Self {
        Self(
            names
                .iter()
                .filter(|n| cgroup_dirs(n).is_empty())
                .map(|n| (*n).to_owned())
                .collect(),
        )
    }
}

fn remove_cgroup_tree(dir: &Path) {
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_cgroup_tree(&entry.path());
        }
    }
    let _ = fs::remove_dir(dir);
}

impl Drop for CgroupParents {
    fn drop(&mut self) {
        for name in &self.0 {
            for dir in cgroup_dirs(name) {
                remove_cgroup_tree(&dir);
            }
        }
    }
}

/// The children of process `pid`, whichever of its threads forked them.
pub fn children_of(pid: u32) -> Vec<u32> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten();
    tasks
        .flatten()
        .flat_map(|t| {
            let kids = std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
            kids.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}
