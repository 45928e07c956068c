use std::path::Path;

use anyhow::{Context, Result};

use libcontainer::container::Container;

use crate::{commands, hooks, private_bundle};

pub fn start(id: &str, root: &Path) -> Result<()> {
    let mut container = commands::load(id, root)?;
    start_container(&mut container)
}

/// Starts a created container, then runs its `poststart` hooks (whose failure is a warning).
pub fn start_container(container: &mut Container) -> Result<()> {
    container
        .start()
        .with_context(|| format!("start container {}", container.id()))?;
    hooks::Deferred::load(&container.root).poststart(&private_bundle::client_state(container));
    Ok(())
}
