use std::fs;
use std::path::Path;

use anyhow::Result;
use libcontainer::container::Container;

use crate::cli::List;
use crate::commands::state::RuncState;

pub fn list(args: &List, root: &Path) -> Result<()> {
    let mut states = Vec::new();
    if let Ok(entries) = fs::read_dir(root) {
        for entry in entries.flatten() {
            // Only state directories: not rune-run's own files (`private_bundle::RESERVED`,
            // create locks), nor a create that has not saved its state yet.
            if !entry.path().join("state.json").is_file() {
                continue;
            }
            // A state that cannot be read is a create that died; `delete` removes it.
            let Ok(mut container) = Container::load(entry.path()) else {
                continue;
            };
            states.push(RuncState::of(&mut container)?);
        }
    }
    states.sort_by(|a, b| a.id.cmp(&b.id));
    if args.quiet {
        for s in &states {
            println!("{}", s.id);
        }
        return Ok(());
    }
    if args.format == "json" {
        println!("{}", serde_json::to_string(&states)?);
        return Ok(());
    }
    let rows: Vec<[String; 6]> =
        std::iter::once(["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from))
            .chain(states.iter().map(|s| {
                [
                    s.id.clone(),
                    s.pid.to_string(),
                    s.status.clone(),
                    s.bundle.display().to_string(),
                    s.created
                        .map(|c| c.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true))
                        .unwrap_or_default(),
                    s.owner.clone(),
                ]
            }))
            .collect();
    let widths: Vec<usize> = (0..6)
        .map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0))
        .collect();
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        println!("{}", line.join("   ").trim_end());
    }
    Ok(())
}
