use std::path::Path;

use anyhow::{Context, Result, bail};
use libcontainer::signal::Signal;

use crate::cli::Kill;
use crate::commands;

pub fn kill(args: &Kill, root: &Path) -> Result<()> {
    let signal = Signal::try_from(args.signal.as_str())
        .map_err(|_| anyhow::anyhow!("unknown signal {:?}", args.signal))?;
    let mut container = commands::load(&args.container_id, root)?;
    container.refresh_status()?;
    if !container.can_kill() && !args.all {
        bail!("container {} is not running", args.container_id);
    }
    match container.kill(signal, args.all) {
        // libcontainer saves the state after signalling; a foreground `run` whose init the
        // signal ended may already have deleted the container by then: the kill happened.
        Err(_) if !container.root.exists() => Ok(()),
        other => other.with_context(|| format!("kill container {}", args.container_id)),
    }
}
