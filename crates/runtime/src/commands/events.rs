//! `events`: resource statistics in runc's envelope, `{"type":"stats","id":…,"data":…}`,
//! once with `--stats`, otherwise every `--interval` seconds until the container stops.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use libcgroups::common::CgroupManager;
use libcontainer::container::ContainerStatus;
use liboci_cli::Events;
use serde_json::json;

use crate::commands;

pub fn events(args: &Events, root: &Path) -> Result<()> {
    let id = &args.container_id;
    let mut container = commands::load(id, root)?;
    let cgroup = commands::cgroup(&container)?.manager;
    loop {
        container.refresh_status()?;
        if container.status() == ContainerStatus::Stopped {
            anyhow::bail!("container {id} is not running");
        }
        let stats = cgroup
            .stats()
            .with_context(|| format!("read statistics of container {id}"))?;
        println!("{}", json!({"type": "stats", "id": id, "data": stats}));
        if args.stats {
            return Ok(());
        }
        std::thread::sleep(Duration::from_secs(u64::from(args.interval.max(1))));
    }
}
