use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use libcgroups::common::CgroupManager;
use liboci_cli::Ps;

use crate::commands;

pub fn ps(args: &Ps, root: &Path) -> Result<()> {
    let container = commands::load(&args.container_id, root)?;
    let pids: Vec<i32> = commands::cgroup(&container)?
        .manager
        .get_all_pids()?
        .iter()
        .map(|p| p.as_raw())
        .collect();
    match args.format.as_str() {
        "json" => println!("{}", serde_json::to_string(&pids)?),
        "table" => print_table(&pids, &args.ps_options)?,
        other => bail!("ps: invalid format {other:?} (table or json)"),
    }
    Ok(())
}

/// Like runc: run the host's `ps` and keep the header and the container's lines.
fn print_table(pids: &[i32], options: &[String]) -> Result<()> {
    let options = if options.is_empty() {
        vec!["-ef".to_owned()]
    } else {
        options.to_vec()
    };
    let out = Command::new("ps")
        .args(&options)
        .output()
        .context("run ps")?;
    if !out.status.success() {
        bail!(
            "ps {}: {}",
            options.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let column = header
        .split_whitespace()
        .position(|h| h == "PID")
        .context("ps output has no PID column")?;
    println!("{header}");
    for line in lines {
        let pid = line
            .split_whitespace()
            .nth(column)
            .and_then(|p| p.parse().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            println!("{line}");
        }
    }
    Ok(())
}
