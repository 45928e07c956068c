//! Drives a runc-compatible runtime binary with its own private `--root`.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

#[derive(Debug)]
pub struct Runtime {
    pub name: &'static str,
    pub bin: PathBuf,
    root: TempDir,
}

/// The outcome of one runtime call, with everything a failed assertion should show.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

fn read_all(mut file: std::fs::File) -> String {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).expect("rewind output file");
    file.read_to_string(&mut text).expect("read output file");
    text
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("integration/ sits in the workspace")
        .to_owned()
}

impl Runtime {
    /// rune-run from `RUNE_RUN`, else the workspace's release build.
    pub fn rune() -> Self {
        let bin = std::env::var_os("RUNE_RUN")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace_root().join("target/release/rune-run"));
        assert!(
            bin.exists(),
            "{} missing: build it with `cargo build --release`",
            bin.display()
        );
        Self::new("rune-run", bin)
    }

    /// rune-run from another binary (a copy a test may let be attacked).
    pub fn rune_from(bin: PathBuf) -> Self {
        Self::new("rune-run", bin)
    }

    /// The reference runtime, from the host's PATH.
    pub fn runc() -> Self {
        let bin = PathBuf::from("/usr/sbin/runc");
        assert!(bin.exists(), "runc missing: apt-get install runc");
        Self::new("runc", bin)
    }

    fn new(name: &'static str, bin: PathBuf) -> Self {
        let root = tempfile::Builder::new()
            .prefix(&format!("{name}-root-"))
            .tempdir()
            .expect("temp state root");
        Self { name, bin, root }
    }

    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// Where rune-run keeps the private copy of a container's bundle, if it made one.
    pub fn private_copy(&self, id: &str) -> PathBuf {
        self.root.path().join(".rune").join(id)
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--root").arg(self.root.path()).args(args);
        cmd
    }

    /// Starts a long-running call (a foreground `run`) with stdin closed, without waiting.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        self.command(args)
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn runtime")
    }

    /// Runs with stdin closed (as a daemon would) and collects the output.
    pub fn call(&self, args: &[&str]) -> Run {
        self.call_with_stdin(args, None)
    }

    /// stdout and stderr go to files, not pipes: a detached container inherits them and would
    /// hold a pipe open long after the runtime itself has exited.
    pub fn call_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Run {
        let out = tempfile::tempfile().expect("stdout file");
        let err = tempfile::tempfile().expect("stderr file");
        let mut cmd = self.command(args);
        cmd.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(out.try_clone().expect("dup stdout file"))
        .stderr(err.try_clone().expect("dup stderr file"));
        let mut child = cmd.spawn().expect("spawn runtime");
        if let Some(input) = stdin {
            child
                .stdin
                .take()
                .expect("piped stdin")
                .write_all(input.as_bytes())
                .expect("write stdin");
        }
        let status = child.wait().expect("wait for runtime");
        Run {
            code: status.code().unwrap_or(-1),
            stdout: read_all(out),
            stderr: read_all(err),
        }
    }

    /// Like `call`, but the call must succeed; returns stdout.
    #[track_caller]
    pub fn ok(&self, args: &[&str]) -> String {
        let run = self.call(args);
        assert_eq!(
            run.code, 0,
            "{} {:?} failed:\nstdout: {}\nstderr: {}",
            self.name, args, run.stdout, run.stderr
        );
        run.stdout
    }

    /// The state JSON, or `None` when the runtime says the container does not exist.
    pub fn state(&self, id: &str) -> Option<Value> {
        let run = self.call(&["state", id]);
        (run.code == 0).then(|| serde_json::from_str(&run.stdout).expect("state is JSON"))
    }

    #[track_caller]
    pub fn status(&self, id: &str) -> String {
        let state = self
            .state(id)
            .unwrap_or_else(|| panic!("{}: no state for {id}", self.name));
        state["status"].as_str().expect("status").to_owned()
    }

    /// Waits (bounded) for a container to reach `status`; returns whether it did.
    pub fn wait_status(&self, id: &str, status: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.state(id).is_some_and(|s| s["status"] == status) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Waits (bounded) until the container has at least `n` processes; a shell's `trap` is
    /// in place once its loop has started a child.
    pub fn wait_processes(&self, id: &str, n: usize) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let out = self.call(&["ps", "--format", "json", id]).stdout;
            let pids: Vec<i64> = serde_json::from_str(&out).unwrap_or_default();
            if pids.len() >= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    /// Deletes whatever a test left, so that a failed assertion does not leak containers.
    pub fn force_delete(&self, id: &str) {
        let _ = self.call(&["delete", "--force", id]);
    }
}
