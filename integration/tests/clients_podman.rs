//! podman 4.3 (through conmon) driving rune-run as `--runtime`, side by side with runc, with a
//! private store, run root and temp directory, and no network.

use std::path::PathBuf;
use std::process::{Command, Output};

use rune_integration::Runtime;
use rune_integration::daemon::unmount_under;
use rune_integration::docker_cli::{DockerCli, Rt, exercise};
use rune_integration::host::CgroupParents;
use rune_integration::image::busybox_archive;
use tempfile::TempDir;

struct Podman {
    dir: TempDir,
    rune: PathBuf,
    /// Dropped after `drop` has removed the containers.
    _cgroups: CgroupParents,
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
            dir,
            rune: Runtime::rune().bin,
            _cgroups: CgroupParents::new(&["libpod_parent"]),
        };
        podman.ok(
            Rt::Runc,
            &["load", "-i", busybox_archive().to_str().unwrap()],
        );
        podman
    }
}

impl DockerCli for Podman {
    const UPDATES_PIDS: bool = false;

    fn cmd(&self, rt: Rt, args: &[&str]) -> Output {
        let d = self.dir.path();
        let runtime = match rt {
            Rt::Runc => PathBuf::from("/usr/sbin/runc"),
            Rt::Rune => self.rune.clone(),
        };
        Command::new("podman")
            .env("CONTAINERS_CONF", d.join("containers.conf"))
            .arg("--root")
            .arg(d.join("graph"))
            .arg("--runroot")
            .arg(d.join("run"))
            .arg("--tmpdir")
            .arg(d.join("tmp"))
            .arg("--runtime")
            .arg(runtime)
            .args(args)
            .output()
            .expect("run podman")
    }

    fn context(&self) -> String {
        String::new()
    }

    fn cgroup_of(&self, id: &str) -> String {
        format!("/libpod_parent/libpod-{id}")
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.cmd(Rt::Runc, &["rm", "--all", "--force"]);
        unmount_under(self.dir.path());
    }
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn podman_drives_rune_run() {
    exercise(&Podman::new());
}
