//! `rune-run`: an OCI runtime with runc's command line, built on youki's libcontainer.
// Unsafe code is confined to `sys`, which says why at each block.
#![deny(unsafe_code)]

mod bundle;
mod cgroup_mounts;
mod claim;
mod cleanup;
mod cli;
mod commands;
mod console;
mod container_mounts;
mod devices;
mod executor;
mod exit_status;
mod hooks;
mod host_mounts;
mod loopback;
mod observability;
mod private_bundle;
mod sealed_exe;
mod shim;
mod sys;

use std::process::ExitCode;

use clap::Parser;
use tracing::Level;

use crate::cli::Opts;
use crate::observability::Format;

fn main() -> ExitCode {
    let opts = Opts::parse();
    if opts.version {
        println!("rune-run version {}", env!("CARGO_PKG_VERSION"));
        println!("spec: {}", commands::OCI_VERSION);
        return ExitCode::SUCCESS;
    }
    let Some(command) = opts.command else {
        eprintln!("rune-run: no command given (see rune-run --help)");
        return ExitCode::FAILURE;
    };

    let format = match opts.global.log_format.as_str() {
        "json" => Format::Json,
        _ => Format::Text,
    };
    let log = match observability::init(opts.global.log.as_deref(), format, opts.global.debug) {
        Ok(log) => log,
        Err(err) => {
            let path = opts.global.log.as_deref().unwrap_or("stderr".as_ref());
            eprintln!("rune-run: cannot open log file {}: {err}", path.display());
            return ExitCode::FAILURE;
        }
    };

    // CVE-2019-5736: the verbs that fork into a container run from a sealed image of this
    // binary, so a container process that opens /proc/PID/exe cannot rewrite rune-run.
    if command.enters_container()
        && let Err(err) = sealed_exe::ensure(&opts.global.root)
    {
        log.write(Level::ERROR, &format!("seal /proc/self/exe: {err}"));
        return ExitCode::FAILURE;
    }

    match commands::dispatch(command, &opts.global) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            // `{:#}` joins the context chain: "create abc: bundle /x: config.json line 3 …".
            let msg = format!("{err:#}");
            log.write(Level::ERROR, &msg);
            if !log.is_stderr() {
                eprintln!("rune-run: {msg}");
            }
            ExitCode::FAILURE
        }
    }
}
