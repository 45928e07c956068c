//! docker (dockerd 20.10 with its own containerd and containerd-shim-runc-v2) driving
//! rune-run as `--runtime rune`, side by side with runc, on a private daemon. dockerd always
//! adds its `libnetwork-setkey` prestart hook, so every container here runs an OCI hook.

use std::path::PathBuf;
use std::process::{Command, Output};

use rune_integration::daemon::Daemon;
use rune_integration::docker_cli::{DockerCli, Rt, exercise};
use rune_integration::image::busybox_archive;
use rune_integration::{Runtime, host};
use serde_json::json;

struct Docker {
    daemon: Daemon,
    socket: PathBuf,
    /// Dropped after the daemon has stopped.
    _cgroups: host::CgroupParents,
}

impl Docker {
    fn start() -> Self {
        let cgroups = host::CgroupParents::new(&["docker"]);
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
        let docker = Self {
            daemon,
            socket,
            _cgroups: cgroups,
        };
        docker.ok(
            Rt::Runc,
            &["load", "-i", busybox_archive().to_str().unwrap()],
        );
        docker
    }
}

impl DockerCli for Docker {
    const UPDATES_PIDS: bool = true;

    fn cmd(&self, rt: Rt, args: &[&str]) -> Output {
        let mut args = args.to_vec();
        if args.first() == Some(&"run") {
            let name = if rt == Rt::Rune { "rune" } else { "runc" };
            args.splice(1..1, ["--runtime", name]);
        }
        Command::new("docker")
            .arg("-H")
            .arg(format!("unix://{}", self.socket.display()))
            .args(&args)
            .output()
            .expect("run docker")
    }

    fn context(&self) -> String {
        format!("--- dockerd log ---\n{}", self.daemon.log())
    }

    fn cgroup_of(&self, id: &str) -> String {
        let full = self.ok(Rt::Rune, &["inspect", "-f", "{{.Id}}", id]);
        format!("/docker/{}", full.trim())
    }
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn docker_drives_rune_run() {
    exercise(&Docker::start());
}
