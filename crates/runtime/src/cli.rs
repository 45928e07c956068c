//! The runc command line. Argument structs come from youki's `liboci-cli` where they match
//! runc; where runc differs (an optional `kill` signal, `list --format json`), Rune has its own.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use liboci_cli::{
    Create, Delete, Events, Exec, Features, Pause, Ps, Resume, Run, Spec, Start, State, Update,
};

/// Default state root, as runc's `/run/runc`.
pub const DEFAULT_ROOT: &str = "/run/rune";

#[derive(Parser, Debug)]
#[command(
    name = "rune-run",
    about = "an OCI container runtime with the runc command line"
)]
#[command(disable_version_flag = true)]
pub struct Opts {
    #[command(flatten)]
    pub global: GlobalOpts,

    /// print the version
    #[arg(short = 'v', long)]
    pub version: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Args, Debug)]
pub struct GlobalOpts {
    /// root directory for storage of container state
    #[arg(long, global = true, default_value = DEFAULT_ROOT)]
    pub root: PathBuf,
    /// file to write log lines to (default: stderr)
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    /// log format: text or json
    #[arg(long, global = true, default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
    /// enable debug logging
    #[arg(long, global = true)]
    pub debug: bool,
    /// use the systemd cgroup driver
    #[arg(long, global = true)]
    pub systemd_cgroup: bool,
    /// accepted for runc compatibility; rune-run has no criu support
    #[arg(long, global = true, hide = true)]
    pub criu: Option<PathBuf>,
    /// Rune policy applied to every container (the administrator's)
    #[arg(long, global = true)]
    pub policy: Option<PathBuf>,
    /// where the run.rune.policy annotation's NAME.json is looked up
    #[arg(long, global = true, default_value = "/etc/rune/policies")]
    pub policy_dir: PathBuf,
    /// backend that enforces Rune policies
    #[arg(long, global = true, value_enum, default_value = "auto")]
    pub backend: BackendChoice,
    /// keep each container's Rune events in DIR/ID.jsonl, after delete too (rotated to
    /// ID.jsonl.1 at 16 MiB); `trace ID` reads them there
    #[arg(long, global = true, value_name = "DIR")]
    pub events_dir: Option<PathBuf>,
    /// backends the run.rune.backend annotation may pick (comma-separated)
    #[arg(long, global = true, default_value = "seccomp,vsmode")]
    pub allow_backends: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendChoice {
    Auto,
    Seccomp,
    Vsmode,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    Create(Create),
    Start(Start),
    Run(Run),
    State(State),
    Kill(Kill),
    Delete(Delete),
    Exec(Exec),
    Ps(Ps),
    List(List),
    Pause(Pause),
    Resume(Resume),
    Update(Update),
    Events(Events),
    Features(Features),
    Spec(Spec),
    /// Print the Rune events of a container (JSON lines)
    Trace(Trace),
    /// Run an OCI hook with the client's bundle in its state (what rune-run's hooks run as)
    #[command(hide = true)]
    Hook(HookExec),
}

#[derive(Args, Debug)]
pub struct HookExec {
    /// the bundle the client passed
    #[arg(long)]
    pub bundle: PathBuf,
    /// the hook's path, then its argv (argv[0] first)
    #[arg(last = true, required = true)]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Args, Debug)]
pub struct Trace {
    pub container_id: String,
    /// keep printing events as they come, until the container is deleted
    #[arg(short, long)]
    pub follow: bool,
}

impl Command {
    /// Verbs whose child processes join the container before they exec its program.
    pub fn enters_container(&self) -> bool {
        matches!(self, Self::Create(_) | Self::Run(_) | Self::Exec(_))
    }
}

/// Send a signal to the container's init (or to every process with `--all`).
#[derive(Args, Debug)]
pub struct Kill {
    /// send the signal to all processes in the container
    #[arg(short, long)]
    pub all: bool,
    /// container id
    pub container_id: String,
    /// signal name (KILL, SIGKILL) or number (default SIGTERM)
    #[arg(default_value = "SIGTERM")]
    pub signal: String,
}

/// List containers started by rune-run with the given root.
#[derive(Args, Debug)]
pub struct List {
    /// table or json
    #[arg(short, long, default_value = "table", value_parser = ["table", "json"])]
    pub format: String,
    /// print only the container ids
    #[arg(short, long)]
    pub quiet: bool,
}
