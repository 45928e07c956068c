//! docker (dockerd 20.10 with its own containerd and containerd-shim-runc-v2) driving
//! rune-run as `--runtime rune`, side by side with runc, on a private daemon.

use std::path::PathBuf;
use std::process::{Command, Output};

use rune_integration::daemon::Daemon;
use rune_integration::image::{IMAGE, busybox_archive};
use rune_integration::{Runtime, host};
use serde_json::json;

struct Docker {
    daemon: Daemon,
    socket: PathBuf,
}

impl Docker {
    fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("rune-docker-")
            .tempdir()
            .unwrap();
        let d = dir.path();
        let socket = d.join("docker.sock");
        let config = json!({
            "data-root": d.join("data"),
            "exec-root": d.join("exec"),
            "pidfile": d.join("docker.pid"),
            "hosts": [format!("unix://{}", socket.display())],
            "runtimes": {"rune": {"path": Runtime::rune().bin, "runtimeArgs": []}},
        });
        std::fs::write(d.join("daemon.json"), config.to_string()).unwrap();
        let mut cmd = Command::new("dockerd");
        cmd.arg("--config-file").arg(d.join("daemon.json")).args([
            "--iptables=false",
            "--bridge=none",
            "--ip-forward=false",
        ]);
        let daemon = Daemon::start("dockerd", dir, cmd, &socket);
        let docker = Self { daemon, socket };
        docker.ok(&["load", "-i", busybox_archive().to_str().unwrap()]);
        docker
    }

    fn cmd(&self, args: &[&str]) -> Output {
        Command::new("docker")
            .arg("-H")
            .arg(format!("unix://{}", self.socket.display()))
            .args(args)
            .output()
            .expect("run docker")
    }

    #[track_caller]
    fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd(args);
        assert!(
            out.status.success(),
            "docker {args:?}: {}\n--- dockerd log ---\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.daemon.log()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// One scenario under both runtimes: output and exit code must agree.
fn both(docker: &Docker, args: &[&str]) -> [(Option<i32>, String); 2] {
    ["runc", "rune"].map(|rt| {
        let mut full = vec!["run", "--rm", "--network", "none", "--runtime", rt];
        full.extend_from_slice(args);
        let out = docker.cmd(&full);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    })
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn docker_drives_rune_run() {
    let docker = Docker::start();

    let [runc, rune] = both(&docker, &[IMAGE, "sh", "-c", "echo hi; exit 3"]);
    assert_eq!(rune, (Some(3), "hi\n".to_owned()));
    assert_eq!(runc, rune);

    // A tty container (-t): docker passes a console socket.
    let [runc, rune] = both(
        &docker,
        &["-t", IMAGE, "sh", "-c", "tty >/dev/null && echo tty"],
    );
    assert_eq!(rune.0, Some(0));
    assert_eq!(rune.1.trim(), "tty");
    assert_eq!(runc.1.trim(), rune.1.trim());

    // A long-running container: exec, top, pause/resume, update, logs, stop.
    let id = docker
        .ok(&[
            "run",
            "-d",
            "--network",
            "none",
            "--runtime",
            "rune",
            IMAGE,
            "sh",
            "-c",
            "echo started; trap 'echo bye; exit 0' TERM; while :; do sleep 0.1; done",
        ])
        .trim()
        .to_owned();
    assert_eq!(
        docker.ok(&["exec", &id, "sh", "-c", "echo in-exec"]),
        "in-exec\n"
    );
    let out = docker.cmd(&["exec", &id, "sh", "-c", "exit 5"]);
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(
        docker
            .ok(&["exec", "-t", &id, "sh", "-c", "tty >/dev/null && echo tty"])
            .trim(),
        "tty"
    );
    let top = docker.ok(&["top", &id]);
    assert!(top.contains("sleep") || top.contains("while"), "{top}");

    docker.ok(&["pause", &id]);
    assert_eq!(
        docker
            .ok(&["inspect", "-f", "{{.State.Status}}", &id])
            .trim(),
        "paused"
    );
    docker.ok(&["unpause", &id]);

    docker.ok(&[
        "update",
        "--memory",
        "64m",
        "--memory-swap",
        "128m",
        "--pids-limit",
        "50",
        &id,
    ]);
    let cgroup = format!(
        "/docker/{}",
        docker.ok(&["inspect", "-f", "{{.Id}}", &id]).trim()
    );
    assert_eq!(
        host::cgroup_file(&cgroup, "memory.limit_in_bytes").as_deref(),
        Some("67108864")
    );
    assert_eq!(
        host::cgroup_file(&cgroup, "pids.max").as_deref(),
        Some("50")
    );

    docker.ok(&["stop", "-t", "10", &id]);
    assert_eq!(
        docker
            .ok(&["inspect", "-f", "{{.State.ExitCode}}", &id])
            .trim(),
        "0"
    );
    let logs = docker.ok(&["logs", &id]);
    assert_eq!(logs, "started\nbye\n");

    // A container that ignores SIGTERM is killed after the grace period.
    let id2 = docker
        .ok(&[
            "run",
            "-d",
            "--network",
            "none",
            "--runtime",
            "rune",
            IMAGE,
            "sleep",
            "1000",
        ])
        .trim()
        .to_owned();
    docker.ok(&["stop", "-t", "1", &id2]);
    assert_eq!(
        docker
            .ok(&["inspect", "-f", "{{.State.ExitCode}}", &id2])
            .trim(),
        "137"
    );
    docker.ok(&["rm", &id, &id2]);
    assert!(
        host::cgroup_dirs(&cgroup).is_empty(),
        "cgroup left after docker rm"
    );
}
