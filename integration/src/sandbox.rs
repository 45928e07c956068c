//! Drives `rune-shim run`: one program under a policy, outside any container.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use tempfile::TempDir;

/// rune-shim from `RUNE_SHIM`, else the workspace's release build.
pub fn rune_shim() -> PathBuf {
    let bin = std::env::var_os("RUNE_SHIM")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/rune-shim")
        });
    assert!(
        bin.exists(),
        "{} missing: cargo build --release",
        bin.display()
    );
    bin
}

/// What a sandboxed program did: its exit code and output, and the events it caused.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub events: Vec<Value>,
}

/// A scratch directory with a policy in it.
#[derive(Debug)]
pub struct Sandbox {
    pub dir: TempDir,
}

impl Sandbox {
    pub fn new(policy: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("rune-sandbox-")
            .tempdir()
            .expect("temp dir");
        std::fs::write(dir.path().join("policy.json"), policy).expect("write policy");
        Self { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).expect("write file");
        p
    }

    /// The command, ready to spawn: output goes to files (a pipe would be held open by
    /// anything the program leaves behind).
    pub fn command(&self, argv: &[&str]) -> Command {
        self.command_with(&[], argv)
    }

    /// As `command`, with more options for `rune-shim run`.
    pub fn command_with(&self, options: &[&str], argv: &[&str]) -> Command {
        // Each run's events alone.
        let _ = std::fs::remove_file(self.path("events.jsonl"));
        let mut cmd = Command::new(rune_shim());
        cmd.arg("run")
            .arg("--policy")
            .arg(self.path("policy.json"))
            .arg("--events")
            .arg(self.path("events.jsonl"))
            .args(options)
            .arg("--")
            .args(argv)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(self.path("stdout")).expect("stdout file"))
            .stderr(std::fs::File::create(self.path("stderr")).expect("stderr file"));
        cmd
    }

    pub fn outcome(&self, code: i32) -> Outcome {
        let read = |n: &str| std::fs::read_to_string(self.path(n)).unwrap_or_default();
        Outcome {
            code,
            stdout: read("stdout"),
            stderr: read("stderr"),
            events: read("events.jsonl")
                .lines()
                .map(|l| serde_json::from_str(l).expect("event is JSON"))
                .collect(),
        }
    }

    pub fn run(&self, argv: &[&str]) -> Outcome {
        self.run_with(&[], argv)
    }

    pub fn run_with(&self, options: &[&str], argv: &[&str]) -> Outcome {
        let status = self
            .command_with(options, argv)
            .status()
            .expect("run rune-shim");
        self.outcome(status.code().unwrap_or(-1))
    }
}

/// The same program without any policy, for positive controls.
pub fn native(argv: &[&str]) -> String {
    let out = Command::new(argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .output()
        .expect("run natively");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
