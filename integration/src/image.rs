//! A `docker save`-format archive of the busybox rootfs, which `docker load`, `podman load`
//! and `ctr image import` all accept: no registry is reachable here.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::json;
use tempfile::TempDir;

use crate::bundle::rootfs;

/// The image's name in every client.
pub const IMAGE: &str = "localhost/rune-busybox:latest";

/// A pod sandbox image: the same rootfs, waiting for SIGTERM like `pause` does.
pub const PAUSE_IMAGE: &str = "localhost/rune-pause:latest";

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The busybox image archive, built once per test binary.
pub fn busybox_archive() -> &'static Path {
    static ARCHIVE: OnceLock<(TempDir, PathBuf)> = OnceLock::new();
    &ARCHIVE.get_or_init(|| build(IMAGE, &["/bin/sh"])).1
}

/// The sandbox image archive, built once per test binary.
pub fn pause_archive() -> &'static Path {
    static ARCHIVE: OnceLock<(TempDir, PathBuf)> = OnceLock::new();
    let wait = "trap 'exit 0' TERM INT; while :; do sleep 1000 & wait $!; done";
    &ARCHIVE
        .get_or_init(|| build(PAUSE_IMAGE, &["/bin/sh", "-c", wait]))
        .1
}

fn build(tag: &str, cmd: &[&str]) -> (TempDir, PathBuf) {
    let dir = tempfile::Builder::new()
        .prefix("rune-image-")
        .tempdir()
        .unwrap();
    let work = dir.path().join("archive");
    fs::create_dir_all(&work).unwrap();
    run(Command::new("tar")
        .args(["--numeric-owner", "-C"])
        .arg(rootfs())
        .arg("-cf")
        .arg(work.join("layer.tar"))
        .arg("."));
    let sum = run(Command::new("sha256sum").arg(work.join("layer.tar")));
    let diff_id = format!("sha256:{}", sum.split_whitespace().next().unwrap());
    let config = json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": cmd,
            "WorkingDir": "/"
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created_by": "rune integration tests"}]
    });
    fs::write(work.join("config.json"), config.to_string()).unwrap();
    let manifest = json!([{"Config": "config.json", "RepoTags": [tag], "Layers": ["layer.tar"]}]);
    fs::write(work.join("manifest.json"), manifest.to_string()).unwrap();
    let archive = dir.path().join("image.tar");
    run(Command::new("tar")
        .arg("-C")
        .arg(&work)
        .arg("-cf")
        .arg(&archive)
        .args(["manifest.json", "config.json", "layer.tar"]));
    (dir, archive)
}
