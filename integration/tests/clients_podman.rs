//! podman 4.3 (through conmon) driving rune-run as `--runtime`, side by side with runc, with a
//! private store, run root and temp directory, and no network.

use std::path::PathBuf;
use std::process::{Command, Output};

use rune_integration::daemon::unmount_under;
use rune_integration::image::{IMAGE, busybox_archive};
use rune_integration::{Runtime, host};
use tempfile::TempDir;

struct Podman {
    dir: TempDir,
    runtimes: [(&'static str, PathBuf); 2],
}

impl Podman {
    fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("rune-podman-")
            .tempdir()
            .unwrap();
        // podman's default nofile (1048576) is above this host's hard limit.
        std::fs::write(
            dir.path().join("containers.conf"),
            "[containers]\ndefault_ulimits = [\"nofile=20000:20000\", \"nproc=32768:32768\"]\n\
             [engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n",
        )
        .unwrap();
        let podman = Self {
            runtimes: [
                ("runc", PathBuf::from("/usr/sbin/runc")),
                ("rune", Runtime::rune().bin),
            ],
            dir,
        };
        podman.ok("runc", &["load", "-i", busybox_archive().to_str().unwrap()]);
        podman
    }

    fn cmd(&self, runtime: &str, args: &[&str]) -> Output {
        let d = self.dir.path();
        let bin = &self.runtimes.iter().find(|(n, _)| *n == runtime).unwrap().1;
        Command::new("podman")
            .env("CONTAINERS_CONF", d.join("containers.conf"))
            .arg("--root")
            .arg(d.join("graph"))
            .arg("--runroot")
            .arg(d.join("run"))
            .arg("--tmpdir")
            .arg(d.join("tmp"))
            .arg("--runtime")
            .arg(bin)
            .args(args)
            .output()
            .expect("run podman")
    }

    #[track_caller]
    fn ok(&self, runtime: &str, args: &[&str]) -> String {
        let out = self.cmd(runtime, args);
        assert!(
            out.status.success(),
            "podman --runtime {runtime} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.cmd("runc", &["rm", "--all", "--force"]);
        unmount_under(self.dir.path());
    }
}

fn both(podman: &Podman, args: &[&str]) -> [(Option<i32>, String); 2] {
    ["runc", "rune"].map(|rt| {
        let mut full = vec!["run", "--rm", "--network", "none"];
        full.extend_from_slice(args);
        let out = podman.cmd(rt, &full);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    })
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn podman_drives_rune_run() {
    let podman = Podman::new();

    let [runc, rune] = both(&podman, &[IMAGE, "sh", "-c", "echo hi; exit 3"]);
    assert_eq!(rune, (Some(3), "hi\n".to_owned()));
    assert_eq!(runc, rune);

    let [runc, rune] = both(
        &podman,
        &["-t", IMAGE, "sh", "-c", "tty >/dev/null && echo tty"],
    );
    assert_eq!((rune.0, rune.1.trim()), (Some(0), "tty"));
    assert_eq!(runc.1.trim(), rune.1.trim());

    let rt = "rune";
    let id = podman
        .ok(
            rt,
            &[
                "run",
                "-d",
                "--network",
                "none",
                IMAGE,
                "sh",
                "-c",
                "echo started; trap 'echo bye; exit 0' TERM; while :; do sleep 0.1; done",
            ],
        )
        .trim()
        .to_owned();
    assert_eq!(
        podman.ok(rt, &["exec", &id, "sh", "-c", "echo in-exec"]),
        "in-exec\n"
    );
    assert_eq!(
        podman
            .cmd(rt, &["exec", &id, "sh", "-c", "exit 5"])
            .status
            .code(),
        Some(5)
    );
    assert_eq!(
        podman
            .ok(
                rt,
                &["exec", "-t", &id, "sh", "-c", "tty >/dev/null && echo tty"]
            )
            .trim(),
        "tty"
    );
    let top = podman.ok(rt, &["top", &id]);
    assert!(top.contains("sleep") || top.contains("sh"), "{top}");
    podman.ok(rt, &["pause", &id]);
    assert_eq!(
        podman
            .ok(rt, &["inspect", "-f", "{{.State.Status}}", &id])
            .trim(),
        "paused"
    );
    podman.ok(rt, &["unpause", &id]);
    let cgroup = format!("/libpod_parent/libpod-{id}");
    assert!(
        !host::cgroup_dirs(&cgroup).is_empty(),
        "podman's cgroup is not where expected"
    );

    podman.ok(rt, &["stop", "-t", "10", &id]);
    assert_eq!(
        podman
            .ok(rt, &["inspect", "-f", "{{.State.ExitCode}}", &id])
            .trim(),
        "0"
    );
    assert_eq!(podman.ok(rt, &["logs", &id]), "started\nbye\n");

    let id2 = podman
        .ok(
            rt,
            &["run", "-d", "--network", "none", IMAGE, "sleep", "1000"],
        )
        .trim()
        .to_owned();
    podman.ok(rt, &["kill", &id2]);
    podman.ok(rt, &["wait", &id2]);
    podman.ok(rt, &["rm", &id, &id2]);
    assert!(
        host::cgroup_dirs(&cgroup).is_empty(),
        "cgroup left after podman rm"
    );
}
