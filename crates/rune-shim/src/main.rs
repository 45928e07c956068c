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
}

fn main() -> ExitCode {
    match Opts::parse().command {
        Command::Policy(PolicyCommand::Check { file, backend }) => {
            let name = file.display().to_string();
            let result = std::fs::read_to_string(&file)
                .map_err(|e| format!("{name}: {e}"))
                .and_then(|text| policy::parse(&name, &text, backend).map_err(|e| e.to_string()));
            match result {
                Ok(p) => {
                    println!("{name}: ok ({} rules)", p.rules.len());
                    ExitCode::SUCCESS
                }
                Err(msg) => {
                    eprintln!("rune-shim: {msg}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
