//! `state`: the OCI state, in runc's shape (also used by `list --format json`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use chrono::{DateTime, Utc};
use libcontainer::container::Container;
use serde::Serialize;

use crate::{commands, private_bundle};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuncState {
    pub oci_version: String,
    pub id: String,
    /// 0 once the container has stopped, as runc reports it.
    pub pid: i32,
    pub status: String,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<HashMap<String, String>>,
    pub owner: String,
}

impl RuncState {
    pub fn of(container: &mut Container) -> Result<Self> {
        container.refresh_status()?;
        let status = container.status();
        let pid = match status {
            libcontainer::container::ContainerStatus::Stopped => 0,
            _ => container.pid().map_or(0, |p| p.as_raw()),
        };
        let bundle = private_bundle::client_bundle(container);
        let state = &container.state;
        Ok(Self {
            oci_version: state.oci_version.clone(),
            id: state.id.clone(),
            pid,
            status: status.to_string().to_lowercase(),
            rootfs: rootfs_of(&bundle),
            bundle,
            created: state.created,
            annotations: state.annotations.clone().filter(|a| !a.is_empty()),
            owner: container
                .creator()
                .map(|c| c.to_string_lossy().into_owned())
                .unwrap_or_default(),
        })
    }
}

/// The rootfs as the bundle names it; the state file does not keep it.
fn rootfs_of(bundle: &Path) -> PathBuf {
    let root = std::fs::read(bundle.join("config.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v["root"]["path"].as_str().map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("rootfs"));
    bundle.join(root)
}

pub fn state(id: &str, root: &Path) -> Result<()> {
    let mut container = commands::load(id, root)?;
    println!(
        "{}",
        serde_json::to_string_pretty(&RuncState::of(&mut container)?)?
    );
    Ok(())
}
