use std::path::Path;

use anyhow::{Context, Result};

use crate::commands;

pub fn pause(id: &str, root: &Path) -> Result<()> {
    let mut container = commands::load(id, root)?;
    container
        .pause()
        .with_context(|| format!("pause container {id}"))
}

pub fn resume(id: &str, root: &Path) -> Result<()> {
    let mut container = commands::load(id, root)?;
    container
        .resume()
        .with_context(|| format!("resume container {id}"))
}
