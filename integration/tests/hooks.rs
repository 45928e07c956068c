//! OCI hooks: every phase runs, in order, with the state on stdin; timeouts are enforced.

use std::fs;

use rune_integration::{Bundle, Runtime, unique_id};
use serde_json::{Value, json};

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn every_phase_runs_with_state_on_stdin() {
    let rt = Runtime::rune();
    let id = unique_id("hooks");
    let mut bundle = Bundle::busybox(&["sleep", "1000"]);
    let log = bundle.file("hooks.log");
    let phases = [
        "prestart",
        "createRuntime",
        "createContainer",
        "startContainer",
        "poststart",
        "poststop",
    ];
    let mut hooks = serde_json::Map::new();
    for phase in phases {
        // startContainer runs inside the container, after pivot_root: write to a path there.
        // createContainer runs in the container's namespaces but before pivot_root, so it
        // still sees the host's paths (as in runc).
        let target = if phase == "startContainer" {
            format!("/tmp/{phase}")
        } else {
            log.display().to_string()
        };
        hooks.insert(
            phase.to_owned(),
            json!([{"path": "/bin/sh", "args": ["sh", "-c",
                format!("(echo {phase}; cat) >> {target}; echo >> {target}")]}]),
        );
    }
    bundle.config["hooks"] = Value::Object(hooks);
    bundle.config["root"]["readonly"] = json!(false);
    // The in-container hooks need a writable /tmp of their own.
    bundle.config["mounts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}));
    bundle.save();

    rt.ok(&["create", "--bundle", bundle.path_str(), &id]);
    rt.ok(&["start", &id]);
    let inside = rt.ok(&["exec", &id, "cat", "/tmp/startContainer"]);
    rt.ok(&["delete", "--force", &id]);

    let host_log = fs::read_to_string(&log).unwrap();
    let order: Vec<&str> = host_log.lines().filter(|l| phases.contains(l)).collect();
    assert_eq!(
        order,
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "poststart",
            "poststop"
        ],
        "{host_log}"
    );
    for text in [host_log.as_str(), inside.as_str()] {
        for line in text.lines().filter(|l| l.starts_with('{')) {
            let state: Value = serde_json::from_str(line).expect("hook stdin is the state JSON");
            assert_eq!(state["id"], id.as_str());
            assert_eq!(state["bundle"], bundle.path_str());
        }
    }
    assert!(inside.starts_with("startContainer\n{"), "{inside}");
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn hook_timeout_fails_create() {
    let rt = Runtime::rune();
    let id = unique_id("hooktimeout");
    let mut bundle = Bundle::busybox(&["true"]);
    bundle.config["hooks"] =
        json!({"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]});
    bundle.save();
    let run = rt.call(&["create", "--bundle", bundle.path_str(), &id]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("timeout"), "{}", run.stderr);
    assert!(!rt.root().join(&id).exists());
}
