//! `trace ID [--follow]`: the container's Rune events, one JSON object per line, as the
//! supervisor wrote them; `--follow` keeps printing until the container is deleted.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::cli::Trace;
use crate::commands;
use crate::shim::supervisor;

pub fn trace(args: &Trace, root: &Path) -> Result<()> {
    let dir = commands::container_dir(root, &args.container_id)?;
    if !dir.join("state.json").exists() {
        bail!("container {} does not exist", args.container_id);
    }
    let path = supervisor::events_path(&dir);
    let mut file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            bail!(
                "container {} runs without a Rune policy: it has no events",
                args.container_id
            )
        }
        Err(e) => return Err(e).with_context(|| format!("open {}", path.display())),
    };
    let mut out = io::stdout().lock();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        file.read_to_end(&mut buf).context("read events")?;
        out.write_all(&buf)?;
        out.flush()?;
        if !args.follow || !dir.exists() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
