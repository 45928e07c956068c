//! Device cgroup rules libcgroups 0.7 gets looser than runc.
//!
//! libcgroups adds `c 5:1 rwm` (the host's `/dev/console`) to every container's v1 allow
//! list, after the spec's own rules. runc dropped it long ago: a container's console is a pty
//! bind-mounted at `/dev/console`, and with CAP_MKNOD (docker's default) the allowance lets a
//! container create the host console's node and write to it. Unless the spec allows 5:1
//! itself, it is denied again after every write of the devices cgroup (`create`, `update`).

use std::path::Path;

use libcgroups::v1::ControllerType;
use oci_spec::runtime::{LinuxDeviceType, Spec};

const CONSOLE: &str = "c 5:1 rwm";

#[derive(Debug, thiserror::Error)]
#[error("deny {CONSOLE} in {path}: {source}")]
pub struct DevicesError {
    path: String,
    source: std::io::Error,
}

fn spec_allows_console(spec: &Spec) -> bool {
    let rules = spec
        .linux()
        .as_ref()
        .and_then(|l| l.resources().as_ref())
        .and_then(|r| r.devices().as_ref());
    rules.into_iter().flatten().any(|d| {
        d.allow()
            && matches!(
                d.typ(),
                Some(LinuxDeviceType::C) | Some(LinuxDeviceType::A) | None
            )
            && d.major().is_none_or(|m| m == 5)
            && d.minor().is_none_or(|m| m == 1)
    })
}

/// Revokes the console allowance in the container's v1 devices cgroup. On cgroup v2 the
/// device filter is an eBPF program libcgroups builds without it, so there is nothing to do.
pub fn revoke_console(spec: &Spec, cgroup_path: &Path) -> Result<(), DevicesError> {
    if spec_allows_console(spec) {
        return Ok(());
    }
    let Ok(mount) = libcgroups::v1::util::get_subsystem_mount_point(&ControllerType::Devices)
    else {
        return Ok(());
    };
    let rel = cgroup_path.strip_prefix("/").unwrap_or(cgroup_path);
    let deny = mount.join(rel).join("devices.deny");
    if !deny.exists() {
        return Ok(());
    }
    std::fs::write(&deny, CONSOLE).map_err(|source| DevicesError {
        path: deny.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_explicit_rule_keeps_the_console() {
        let mut spec: Spec = serde_json::from_value(serde_json::json!({
            "ociVersion": "1.0.2",
            "linux": {"resources": {"devices": [{"allow": false, "access": "rwm"}]}}
        }))
        .unwrap();
        assert!(!spec_allows_console(&spec));
        spec = serde_json::from_value(serde_json::json!({
            "ociVersion": "1.0.2",
            "linux": {"resources": {"devices": [
                {"allow": true, "type": "c", "major": 5, "minor": 1, "access": "rwm"}]}}
        }))
        .unwrap();
        assert!(spec_allows_console(&spec));
    }
}
