use std::path::Path;

use anyhow::{Context, Result};
use liboci_cli::Events;

use crate::commands;

pub fn events(args: &Events, root: &Path) -> Result<()> {
    let mut container = commands::load(&args.container_id, root)?;
    container
        .events(args.interval, args.stats)
        .with_context(|| format!("events of container {}", args.container_id))
}
