//! OCI bundles over one shared busybox root filesystem.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{Value, json};
use tempfile::TempDir;

/// A busybox rootfs built once per test binary by `hack/busybox-rootfs.sh`.
pub fn rootfs() -> &'static Path {
    static ROOTFS: OnceLock<TempDir> = OnceLock::new();
    ROOTFS
        .get_or_init(|| {
            let dir = tempfile::Builder::new()
                .prefix("rune-rootfs-")
                .tempdir()
                .expect("temp rootfs");
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../hack/busybox-rootfs.sh");
            let status = Command::new("bash")
                .arg(script)
                .arg(dir.path().join("rootfs"))
                .status()
                .expect("run busybox-rootfs.sh");
            assert!(status.success(), "busybox-rootfs.sh failed");
            dir
        })
        .path()
        .join("rootfs")
        .leak()
}

#[derive(Debug)]
pub struct Bundle {
    dir: TempDir,
    pub config: Value,
}

impl Bundle {
    /// runc's default spec, non-interactive, running `args` on the shared read-only rootfs.
    pub fn busybox(args: &[&str]) -> Self {
        let mut config = default_spec();
        config["process"]["terminal"] = json!(false);
        config["process"]["args"] = json!(args);
        config["root"] = json!({"path": rootfs(), "readonly": true});
        Self::with_config(config)
    }

    /// A config a real client wrote (`integration/fixtures/client-configs/NAME.config.json`),
    /// made runnable here: our rootfs, stand-ins for the client's bind-mount sources, fresh
    /// namespaces instead of a sandbox's, no client-specific hooks, and `args`.
    pub fn from_client(name: &str, args: &[&str]) -> Self {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/client-configs")
            .join(format!("{name}.config.json"));
        let text =
            fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let mut config: Value = serde_json::from_str(&text).expect("fixture is JSON");
        let readonly = config["root"]["readonly"].as_bool().unwrap_or(false);
        config["root"] = json!({"path": rootfs(), "readonly": readonly});
        config["process"]["args"] = json!(args);
        config["process"]["terminal"] = json!(false);
        if let Some(obj) = config.as_object_mut() {
            obj.remove("hooks");
        }
        if let Some(ns) = config["linux"]["namespaces"].as_array_mut() {
            for n in ns.iter_mut() {
                n.as_object_mut().map(|o| o.remove("path"));
            }
        }
        let mut bundle = Self::with_config(config);
        bundle.stand_in_mount_sources();
        bundle
    }

    pub fn with_config(config: Value) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("rune-bundle-")
            .tempdir()
            .expect("temp bundle");
        let bundle = Self { dir, config };
        bundle.save();
        bundle
    }

    /// Bind-mount sources from the client's machine do not exist here: make files (or a
    /// directory for `/dev/shm`) in the bundle with the same role.
    fn stand_in_mount_sources(&mut self) {
        let stand_ins = self.dir.path().join("mount-sources");
        fs::create_dir_all(&stand_ins).expect("mount-sources dir");
        let Some(mounts) = self.config["mounts"].as_array_mut() else {
            return;
        };
        for (i, m) in mounts.iter_mut().enumerate() {
            let Some(source) = m["source"].as_str() else {
                continue;
            };
            if !source.starts_with('/') || Path::new(source).exists() {
                continue;
            }
            let dest = m["destination"].as_str().unwrap_or_default().to_owned();
            let stand_in = stand_ins.join(format!("{i}"));
            if dest == "/dev/shm" {
                fs::create_dir_all(&stand_in).expect("stand-in dir");
            } else {
                fs::write(&stand_in, format!("stand-in for {dest}\n")).expect("stand-in file");
            }
            m["source"] = json!(stand_in);
        }
        self.save();
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The rootfs the config names (absolute: every bundle here names one so).
    pub fn rootfs_str(&self) -> &str {
        self.config["root"]["path"].as_str().expect("root.path")
    }

    pub fn path_str(&self) -> &str {
        self.dir.path().to_str().expect("utf-8 temp path")
    }

    pub fn save(&self) {
        fs::write(
            self.dir.path().join("config.json"),
            serde_json::to_vec_pretty(&self.config).expect("config serializes"),
        )
        .expect("write config.json");
    }

    /// Sets a unique `linux.cgroupsPath` under `/rune-it/` and returns it.
    pub fn unique_cgroup(&mut self, id: &str) -> String {
        let path = format!("/rune-it/{id}");
        self.config["linux"]["cgroupsPath"] = json!(path);
        self.save();
        path
    }

    /// Adds a seccomp profile with a `SCMP_CMP_MASKED_EQ` argument, which makes rune-run hand
    /// libcontainer a private copy of config.json (`private_bundle.rs`); the rule never
    /// matches (allow by default, ERRNO only for a personality nobody asks for).
    pub fn with_private_copy(&mut self) {
        self.config["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ERRNO",
                "args": [{"index": 0, "value": 4294967295u64, "valueTwo": 3735928559u64,
                          "op": "SCMP_CMP_MASKED_EQ"}]}]
        });
        self.save();
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// runc's `spec` output, the base every client starts from.
fn default_spec() -> Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let status = Command::new("runc")
            .arg("spec")
            .current_dir(dir.path())
            .status()
            .expect("run runc spec");
        assert!(status.success(), "runc spec failed");
        let text = fs::read_to_string(dir.path().join("config.json")).expect("runc spec output");
        serde_json::from_str(&text).expect("runc spec is JSON")
    })
    .clone()
}
