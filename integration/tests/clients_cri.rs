//! A Kubernetes RuntimeClass: containerd's CRI plugin with a `rune` handler
//! (`runtime_type = "io.containerd.runc.v2"`, `BinaryName` = rune-run), driven by a small CRI
//! client that does what kubelet does for a pod with `runtimeClassName: rune`.

use std::path::{Path, PathBuf};
use std::process::Command;

use rune_integration::Runtime;
use rune_integration::daemon::Daemon;
use rune_integration::image::{IMAGE, PAUSE_IMAGE, busybox_archive, pause_archive};

fn cri_python() -> PathBuf {
    let venv = std::env::var_os("RUNE_CRI_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(&std::env::var_os("HOME").expect("HOME")).join(".cache/rune/cri-venv")
        });
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "{} missing: run hack/install-deps.sh",
        python.display()
    );
    python
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn runtime_class_pod_runs_on_rune_run() {
    let rune = Runtime::rune().bin;
    let dir = tempfile::Builder::new()
        .prefix("rune-cri-")
        .tempdir()
        .unwrap();
    let d = dir.path().to_owned();
    let socket = d.join("containerd.sock");
    let runc_root = d.join("runc-root");
    std::fs::create_dir_all(d.join("cni")).unwrap();
    std::fs::create_dir_all(d.join("logs-rune")).unwrap();
    // The pod names a Rune policy (run.rune.policy=demo); containerd's runc options carry no
    // runtime arguments, so the administrator's --policy-dir comes through a wrapper.
    let policies = d.join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../hack/policies/demo.json"),
        policies.join("demo.json"),
    )
    .unwrap();
    let wrapper = d.join("rune-run-wrapper");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec {} --policy-dir {} \"$@\"\n",
            rune.display(),
            policies.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let config = format!(
        r#"version = 2
root = "{root}"
state = "{state}"
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{pause}"
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{cni}"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
      Root = "{runc_root}-runc"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.rune]
    runtime_type = "io.containerd.runc.v2"
    pod_annotations = ["run.rune.*"]
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.rune.options]
      BinaryName = "{rune}"
      Root = "{runc_root}"
"#,
        root = d.join("root").display(),
        state = d.join("state").display(),
        sock = socket.display(),
        pause = PAUSE_IMAGE,
        cni = d.join("cni").display(),
        rune = wrapper.display(),
        runc_root = runc_root.display(),
    );
    std::fs::write(d.join("config.toml"), config).unwrap();
    let mut cmd = Command::new("containerd");
    cmd.arg("--config").arg(d.join("config.toml"));
    // Declared first, dropped last: after the daemon has stopped.
    let _cgroups = rune_integration::host::CgroupParents::new(&["k8s.io"]);
    let daemon = Daemon::start("containerd", dir, cmd, &socket);

    for archive in [busybox_archive(), pause_archive()] {
        let out = Command::new("ctr")
            .arg("--address")
            .arg(&socket)
            .args(["--namespace", "k8s.io", "images", "import"])
            .arg(archive)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let kubelet = |handler: &str, root: &Path| {
        let state_cmd = format!("{} --root {}/k8s.io state", rune.display(), root.display());
        let logs = d.join(format!("logs-{handler}"));
        std::fs::create_dir_all(&logs).unwrap();
        let out = Command::new(cri_python())
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("cri/kubelet.py"))
            .arg(&socket)
            .arg(handler)
            .arg(IMAGE)
            .arg(&logs)
            .env("RUNE_STATE_CMD", &state_cmd)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "CRI client ({handler}) failed: {}\n--- containerd log ---\n{}",
            String::from_utf8_lossy(&out.stderr),
            daemon.log()
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("client JSON")
    };
    let mut with_runc = kubelet("runc", &d.join("runc-root-runc"));
    let result = kubelet("rune", &runc_root);
    for r in [&mut with_runc] {
        for k in ["sandbox_id", "container_id", "runtime_state"] {
            r.as_object_mut().unwrap().remove(k);
        }
    }
    let mut compared = result.clone();
    for k in ["sandbox_id", "container_id", "runtime_state"] {
        compared.as_object_mut().unwrap().remove(k);
    }
    assert_eq!(
        with_runc, compared,
        "runc (left) and rune-run (right) pods differ"
    );

    assert_eq!(
        result["log"],
        serde_json::json!(["stdout F hello-from-pod"]),
        "{result}"
    );
    assert_eq!(result["state"], "CONTAINER_RUNNING");
    assert_eq!(result["exec"]["stdout"], "in-exec\n");
    assert_eq!(result["exec"]["exit_code"], 4);
    // The sandbox was created by rune-run, and the pod annotation reached it.
    let state: serde_json::Value =
        serde_json::from_str(result["runtime_state"].as_str().unwrap()).expect("rune-run state");
    assert_eq!(state["annotations"]["run.rune.policy"], "demo", "{state}");
    assert!(
        state["annotations"].get("unrelated.example/x").is_none(),
        "{state}"
    );
    assert_eq!(result["state_after_stop"], "CONTAINER_EXITED");
    assert_eq!(result["pods_left"], 0);
    assert_eq!(
        std::fs::read_dir(runc_root.join("k8s.io"))
            .map(|d| d.count())
            .unwrap_or(0),
        0,
        "containers left in rune-run's root"
    );
}
