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

pub fn trace(args: &Trace, root: &Path, events_dir: Option<&Path>) -> Result<()> {
    let dir = commands::container_dir(root, &args.container_id)?;
    if !dir.join("state.json").exists() {
        // Gone: what the administrator kept (--events-dir), older file first.
        let kept = events_dir.map(|d| d.join(format!("{}.jsonl", args.container_id)));
        let Some(kept) = kept.filter(|k| k.exists()) else {
            bail!("container {} does not exist", args.container_id);
        };
        let mut out = io::stdout().lock();
        let mut older = kept.clone().into_os_string();
        older.push(".1");
        for p in [std::path::PathBuf::from(older), kept] {
            match std::fs::read(&p) {
                Ok(bytes) => out.write_all(&bytes)?,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("read {}", p.display())),
            }
        }
        return Ok(());
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
