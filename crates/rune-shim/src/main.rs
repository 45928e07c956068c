//! `rune-shim`: the sandbox runner and the policy tools.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use rune_shim::events::Sink;
use rune_shim::handler::Policies;
use rune_shim::oci_seccomp::OciProfile;
use rune_shim::policy::{self, Backend};
use rune_shim::vsmode;

#[derive(Parser, Debug)]
#[command(
    name = "rune-shim",
    about = "the Rune shim: a system-call sandbox and its policy tools"
)]
struct Opts {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run PROGRAM under a Rune policy, printing events as JSON lines.
    Run {
        #[arg(long)]
        policy: PathBuf,
        /// Where events go (default: standard error).
        #[arg(long)]
        events: Option<PathBuf>,
        /// auto: vsmode where /dev/rune answers with the H extension, else seccomp.
        #[arg(long, value_enum, default_value = "auto")]
        backend: RunBackend,
        /// The container's OCI seccomp profile (a config.json, or its linux.seccomp object):
        /// installed under Rune's policy, and never loosened by an emulation or a rewrite.
        #[arg(long, value_name = "FILE")]
        oci_seccomp: Option<PathBuf>,
        #[arg(required = true, last = true)]
        argv: Vec<String>,
    },
    /// Work with Rune policy files.
    #[command(subcommand)]
    Policy(PolicyCommand),
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum RunBackend {
    Auto,
    Seccomp,
    Vsmode,
}

#[derive(Subcommand, Debug)]
enum PolicyCommand {
    /// Validate a policy, for one backend or for the policy alone.
    Check {
        file: PathBuf,
        #[arg(long, value_enum)]
        backend: Option<Backend>,
    },
    /// Say, per rule and backend, what enforces it and whether it produces events, and
    /// (with --root) what its paths resolve to in a container's root file system.
    Explain {
        file: PathBuf,
        /// A root file system (a bundle's rootfs) to resolve the rules' paths in.
        #[arg(long, value_name = "DIR")]
        root: Option<PathBuf>,
    },
}

fn load(file: &Path, backend: Option<Backend>) -> Result<policy::Policy, String> {
    let name = file.display().to_string();
    let text = std::fs::read_to_string(file).map_err(|e| format!("{name}: {e}"))?;
    policy::parse(&name, &text, backend).map_err(|e| e.to_string())
}

fn run(
    policy: &Path,
    events: Option<&Path>,
    backend: RunBackend,
    oci_seccomp: Option<&Path>,
    argv: &[String],
) -> Result<i32, String> {
    let backend = match backend {
        RunBackend::Seccomp => Backend::Seccomp,
        RunBackend::Vsmode => Backend::Vsmode,
        RunBackend::Auto if vsmode::available() => Backend::Vsmode,
        RunBackend::Auto => Backend::Seccomp,
    };
    let mut admin = load(policy, Some(backend))?;
    // Outside a container, the paths are the host's own.
    let host = std::fs::File::open("/").map_err(|e| format!("/: {e}"))?;
    admin
        .resolve_paths(&policy.display().to_string(), host.as_fd())
        .map_err(|e| e.to_string())?;
    let oci = oci_seccomp
        .map(OciProfile::load)
        .transpose()
        .map_err(|e| e.to_string())?;
    let sink = match events {
        Some(path) => Sink::File(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("{}: {e}", path.display()))?,
        ),
        None => Sink::Stderr,
    };
    let policies = Policies {
        admin: Some(admin),
        creator: None,
    };
    match backend {
        Backend::Seccomp => {
            rune_shim::run::run(policies, oci.as_ref(), argv, sink).map_err(|e| e.to_string())
        }
        Backend::Vsmode => vsmode::run(policies, oci, argv, sink).map_err(|e| e.to_string()),
    }
}

fn main() -> ExitCode {
    let result = match Opts::parse().command {
        Command::Run {
            policy,
            events,
            backend,
            oci_seccomp,
            argv,
        } => {
            return match run(
                &policy,
                events.as_deref(),
                backend,
                oci_seccomp.as_deref(),
                &argv,
            ) {
                Ok(code) => ExitCode::from(code as u8),
                Err(msg) => {
                    eprintln!("rune-shim: {msg}");
                    ExitCode::from(125)
                }
            };
        }
        Command::Policy(PolicyCommand::Check { file, backend }) => load(&file, backend).map(|p| {
            for w in policy::lint::warnings(&p) {
                eprintln!("rune-shim: {}: warning: {w}", file.display());
            }
            format!("{}: ok ({} rules)\n", file.display(), p.rules.len())
        }),
        Command::Policy(PolicyCommand::Explain { file, root }) => {
            load(&file, None).and_then(|mut p| {
                if let Some(root) = root {
                    let dir = std::fs::File::open(&root)
                        .map_err(|e| format!("--root {}: {e}", root.display()))?;
                    p.resolve_paths(&file.display().to_string(), dir.as_fd())
                        .map_err(|e| e.to_string())?;
                }
                Ok(policy::explain::explain(&p))
            })
        }
    };
    match result {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(msg) => {
            // A policy error has one problem per line; each keeps the prefix so that every
            // line reads on its own (in a log, after grep).
            for line in msg.lines() {
                eprintln!("rune-shim: {line}");
            }
            ExitCode::FAILURE
        }
    }
}
