//! `spec`: a starting `config.json`, like runc's (an interactive `sh` in a `rootfs` directory).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use liboci_cli::Spec as SpecArgs;
use nix::unistd::{getgid, getuid};
use oci_spec::runtime::Spec;

pub fn spec(args: &SpecArgs) -> Result<()> {
    let mut spec = if args.rootless {
        Spec::rootless(getuid().as_raw(), getgid().as_raw())
    } else {
        Spec::default()
    };
    // runc's starting point is an interactive shell.
    if let Some(process) = spec.process_mut() {
        process.set_terminal(Some(true));
    }
    let path = args
        .bundle
        .clone()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("config.json");
    // runc refuses to overwrite a config the user may have edited.
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .with_context(|| format!("write {}", path.display()))?;
    let mut text = serde_json::to_string_pretty(&spec)?;
    text.push('\n');
    file.write_all(text.as_bytes())
        .with_context(|| format!("write {}", path.display()))
}
