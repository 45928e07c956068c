//! containerd 1.6 with containerd-shim-runc-v2 driving rune-run as its `--runc-binary`
//! (what `ctr run --runc-binary` and a runtime handler's `BinaryName` do), beside runc.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use rune_integration::daemon::Daemon;
use rune_integration::image::{IMAGE, busybox_archive};
use rune_integration::{Runtime, host};

struct Containerd {
    daemon: Daemon,
    socket: PathBuf,
    /// Dropped after the daemon has stopped.
    _cgroups: host::CgroupParents,
}

impl Containerd {
    fn start() -> Self {
        let cgroups = host::CgroupParents::new(&["rune-test"]);
        let dir = tempfile::Builder::new()
            .prefix("rune-ctrd-")
            .tempdir()
            .unwrap();
        let d = dir.path();
        let socket = d.join("containerd.sock");
        let config = format!(
            "version = 2\nroot = \"{root}\"\nstate = \"{state}\"\n\
             disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
             [grpc]\n  address = \"{sock}\"\n[ttrpc]\n  address = \"{sock}.ttrpc\"\n",
            root = d.join("root").display(),
            state = d.join("state").display(),
            sock = socket.display(),
        );
        std::fs::write(d.join("config.toml"), config).unwrap();
        let mut cmd = Command::new("containerd");
        cmd.arg("--config").arg(d.join("config.toml"));
        let daemon = Daemon::start("containerd", dir, cmd, &socket);
        let ctrd = Self {
            daemon,
            socket,
            _cgroups: cgroups,
        };
        ctrd.ok(&["images", "import", busybox_archive().to_str().unwrap()]);
        ctrd
    }

    fn cmd(&self, args: &[&str]) -> Output {
        Command::new("ctr")
            .arg("--address")
            .arg(&self.socket)
            .args(["--namespace", "rune-test"])
            .args(args)
            .output()
            .expect("run ctr")
    }

    #[track_caller]
    fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd(args);
        assert!(
            out.status.success(),
            "ctr {args:?}: {}\n--- containerd log ---\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.daemon.log()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

fn binary(runtime: &str) -> String {
    match runtime {
        "runc" => "/usr/sbin/runc".to_owned(),
        _ => Runtime::rune().bin.display().to_string(),
    }
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn containerd_drives_rune_run() {
    let ctrd = Containerd::start();
    // `localhost/` names a registry host, so containerd keeps the reference as it is.
    assert!(ctrd.ok(&["images", "ls", "-q"]).lines().any(|l| l == IMAGE));
    let image = IMAGE;

    let results = ["runc", "rune"].map(|rt| {
        let bin = binary(rt);
        let id = format!("echo-{rt}");
        let out = ctrd.cmd(&[
            "run",
            "--rm",
            "--runtime",
            "io.containerd.runc.v2",
            "--runc-binary",
            &bin,
            image,
            &id,
            "sh",
            "-c",
            "echo hi; exit 3",
        ]);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    });
    assert_eq!(results[1], (Some(3), "hi\n".to_owned()));
    assert_eq!(results[0], results[1]);

    let bin = binary("rune");
    let id = "long";
    ctrd.ok(&[
        "run",
        "-d",
        "--runtime",
        "io.containerd.runc.v2",
        "--runc-binary",
        &bin,
        image,
        id,
        "sh",
        "-c",
        "trap 'exit 0' TERM; while :; do sleep 0.1; done",
    ]);
    let out = ctrd.ok(&[
        "task",
        "exec",
        "--exec-id",
        "e1",
        id,
        "sh",
        "-c",
        "echo in-exec",
    ]);
    assert_eq!(out, "in-exec\n");
    let out = ctrd.cmd(&["task", "exec", "--exec-id", "e2", id, "sh", "-c", "exit 5"]);
    assert_eq!(out.status.code(), Some(5));
    let ps = ctrd.ok(&["task", "ps", id]);
    assert!(ps.lines().count() >= 2, "{ps}");
    ctrd.ok(&["task", "pause", id]);
    assert!(ctrd.ok(&["task", "ls"]).contains("PAUSED"));
    ctrd.ok(&["task", "resume", id]);
    let cgroup = format!("/rune-test/{id}");
    assert!(
        !host::cgroup_dirs(&cgroup).is_empty(),
        "no cgroup at {cgroup}"
    );
    ctrd.ok(&["task", "kill", "--signal", "SIGTERM", id]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ctrd.ok(&["task", "ls"]).contains("STOPPED") {
        assert!(Instant::now() < deadline, "task did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
    ctrd.ok(&["task", "delete", id]);
    ctrd.ok(&["container", "delete", id]);
    assert!(
        host::cgroup_dirs(&cgroup).is_empty(),
        "cgroup left after delete"
    );
}
