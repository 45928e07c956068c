//! The suite's guard against tests that damage the machine: a snapshot of the host's mount
//! table (every mount with its options) and of every cgroup directory, taken before a test
//! file runs and compared after it (`hack/test-e2e.sh` wraps every file of `integration/tests`
//! in it). Anything that changed outside the paths tests own fails the file.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Where tests keep what they make: temporary directories (bundles, rootfs, state roots,
/// daemons' roots) and the cgroup parent their bundles name (`Bundle::unique_cgroup`).
const OWNED_MOUNT_PREFIXES: &[&str] = &["/tmp/rune-", "/tmp/.tmp", "/tmp/runc-root-"];
const OWNED_CGROUP_PREFIXES: &[&str] = &["rune-it"];

/// One mount as it matters to the host: what is mounted where, with which options. Mount
/// ids and peer-group numbers are left out: they are allocated, not chosen.
fn mount_key(line: &str) -> Option<(String, String)> {
    let (left, right) = line.split_once(" - ")?;
    let f: Vec<&str> = left.split(' ').collect();
    let (root, point, opts) = (f.get(3)?, f.get(4)?, f.get(5)?);
    Some((
        (*point).to_owned(),
        format!("{point} root={root} opts={opts} {right}"),
    ))
}

fn owned_mount(point: &str) -> bool {
    OWNED_MOUNT_PREFIXES.iter().any(|p| point.starts_with(p))
}

fn owned_cgroup(rel: &Path) -> bool {
    OWNED_CGROUP_PREFIXES.iter().any(|p| rel.starts_with(p))
}

/// What the guard compares; each list is sorted, with a count per entry.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub mounts: BTreeMap<String, usize>,
    pub cgroups: BTreeMap<String, usize>,
}

impl Snapshot {
    pub fn from_parts(mountinfo: &str, cgroup_dirs: &[PathBuf]) -> Snapshot {
        let mut snap = Snapshot::default();
        for (point, key) in mountinfo.lines().filter_map(mount_key) {
            if !owned_mount(&point) {
                *snap.mounts.entry(key).or_default() += 1;
            }
        }
        for dir in cgroup_dirs {
            *snap.cgroups.entry(dir.display().to_string()).or_default() += 1;
        }
        snap
    }

    /// The host as it is now.
    pub fn take() -> std::io::Result<Snapshot> {
        let mountinfo = fs::read_to_string("/proc/self/mountinfo")?;
        let mut dirs = Vec::new();
        walk_cgroups(Path::new("/sys/fs/cgroup"), Path::new(""), &mut dirs);
        Ok(Snapshot::from_parts(&mountinfo, &dirs))
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for (section, map) in [("mount", &self.mounts), ("cgroup", &self.cgroups)] {
            for (key, n) in map {
                out.push_str(&format!("{section}\t{n}\t{key}\n"));
            }
        }
        out
    }

    pub fn from_text(text: &str) -> Snapshot {
        let mut snap = Snapshot::default();
        for line in text.lines() {
            let mut f = line.splitn(3, '\t');
            let (Some(section), Some(n), Some(key)) = (f.next(), f.next(), f.next()) else {
                continue;
            };
            let n = n.parse().unwrap_or(0);
            match section {
                "mount" => snap.mounts.insert(key.to_owned(), n),
                _ => snap.cgroups.insert(key.to_owned(), n),
            };
        }
        snap
    }

    /// Every difference from `before`, one line each (`-` gone, `+` new).
    pub fn changes_since(&self, before: &Snapshot) -> Vec<String> {
        let mut out = Vec::new();
        for (what, old, new) in [
            ("mount", &before.mounts, &self.mounts),
            ("cgroup", &before.cgroups, &self.cgroups),
        ] {
            for (key, n) in old {
                let now = new.get(key).copied().unwrap_or(0);
                if now < *n {
                    out.push(format!("- {what} {key}"));
                }
            }
            for (key, n) in new {
                let then = old.get(key).copied().unwrap_or(0);
                if then < *n {
                    out.push(format!("+ {what} {key}"));
                }
            }
        }
        out
    }
}

/// Every cgroup directory below `base` (each v1 hierarchy and the v2 tree), as
/// `HIERARCHY/PATH`, leaving out the trees tests own.
fn walk_cgroups(base: &Path, rel: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(base.join(rel)) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if !kind.is_dir() {
            continue;
        }
        let child = rel.join(entry.file_name());
        // The first component names the hierarchy (`memory`, `unified`) on v1.
        let inside: PathBuf = child.components().skip(1).collect();
        if owned_cgroup(&inside) || owned_cgroup(&child) {
            continue;
        }
        out.push(child.clone());
        walk_cgroups(base, &child, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str = "\
22 1 0:21 / /sys/fs/cgroup rw,nosuid - tmpfs tmpfs rw
23 22 0:22 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,pids
40 1 0:30 / /tmp/rune-bundle-x/rootfs rw - ext4 /dev/vda rw";

    #[test]
    fn a_remount_of_a_host_cgroup_is_caught_and_test_paths_are_not() {
        let dirs = [PathBuf::from("pids"), PathBuf::from("pids/system")];
        let before = Snapshot::from_parts(BEFORE, &dirs);
        // What the no-mount-namespace bug did: the host's hierarchy remounted read-only,
        // with a new peer group; and the test's own mount gone, which is fine.
        let after_text = "\
22 1 0:21 / /sys/fs/cgroup rw,nosuid - tmpfs tmpfs rw
51 22 0:22 / /sys/fs/cgroup/pids ro,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,pids";
        let after = Snapshot::from_parts(after_text, &dirs);
        let changes = after.changes_since(&before);
        assert_eq!(changes.len(), 2, "{changes:?}");
        assert!(changes[0].starts_with("- mount /sys/fs/cgroup/pids root=/ opts=rw,"));
        assert!(changes[1].starts_with("+ mount /sys/fs/cgroup/pids root=/ opts=ro,"));
        // Renumbered ids alone are no change.
        let renumbered = BEFORE.replace("22 1 0:21", "99 1 0:21");
        assert!(
            Snapshot::from_parts(&renumbered, &dirs)
                .changes_since(&before)
                .is_empty()
        );
    }

    #[test]
    fn a_stray_cgroup_is_caught_and_survives_the_file_format() {
        let before = Snapshot::from_parts("", &[PathBuf::from("pids")]);
        let after = Snapshot::from_parts("", &[PathBuf::from("pids"), PathBuf::from("pids/x")]);
        let back = Snapshot::from_text(&after.to_text());
        assert_eq!(back, after);
        assert_eq!(back.changes_since(&before), ["+ cgroup pids/x"]);
    }
}
