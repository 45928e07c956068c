//! `rune-shim`: policy tools (and, in later work, the sandbox runner).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use rune_shim::policy::{self, Backend};

#[derive(Parser, Debug)]
#[command(name = "rune-shim", about = "the Rune shim: policy tools")]
struct Opts {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Work with Rune policy files.
    #[command(subcommand)]
    Policy(PolicyCommand),
}

#[derive(Subcommand, Debug)]
enum PolicyCommand {
    /// Validate a policy, for one backend or for the policy alone.
    Check {
        file: PathBuf,
        #[arg(long, value_enum)]
        backend: Option<Backend>,
    },
    /// Say, per rule and backend, what enforces it and whether it produces events.
    Explain { file: PathBuf },
}

fn load(file: &std::path::Path, backend: Option<Backend>) -> Result<policy::Policy, String> {
    let name = file.display().to_string();
    let text = std::fs::read_to_string(file).map_err(|e| format!("{name}: {e}"))?;
    policy::parse(&name, &text, backend).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let result = match Opts::parse().command {
        Command::Policy(PolicyCommand::Check { file, backend }) => load(&file, backend)
            .map(|p| format!("{}: ok ({} rules)\n", file.display(), p.rules.len())),
        Command::Policy(PolicyCommand::Explain { file }) => {
            load(&file, None).map(|p| policy::explain::explain(&p))
        }
    };
    match result {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(msg) => {
            eprintln!("rune-shim: {msg}");
            ExitCode::FAILURE
        }
    }
}
