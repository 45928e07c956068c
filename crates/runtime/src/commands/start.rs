use std::path::Path;

use anyhow::{Context, Result};

use crate::commands;

pub fn start(id: &str, root: &Path) -> Result<()> {
    let mut container = commands::load(id, root)?;
    container
        .start()
        .with_context(|| format!("start container {id}"))
}
