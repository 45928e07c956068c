//! OCI hooks: every phase runs, in order, with the state on stdin (whose bundle is the
//! client's, also when rune-run gives libcontainer a private copy of config.json); timeouts
//! are enforced; a failing poststart or poststop hook is a warning, and poststop runs on every
//! delete.

use std::fs;

use rune_integration::{Bundle, Runtime, unique_id};
use serde_json::{Value, json};

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn every_phase_runs_with_state_on_stdin() {
    every_phase_sees_the_clients_bundle(false);
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn every_phase_sees_the_clients_bundle_with_a_private_copy() {
    every_phase_sees_the_clients_bundle(true);
}

fn every_phase_sees_the_clients_bundle(private: bool) {
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
    if private {
        bundle.with_private_copy();
    }

    rt.ok(&["create", "--bundle", bundle.path_str(), &id]);
    assert_eq!(
        rt.private_copy(&id).join("config.json").exists(),
        private,
        "the case under test"
    );
    rt.ok(&["start", &id]);
    // As with runc, `start` may return before the init has run its startContainer hooks
    // (they run in it, after start releases it, before its exec).
    let mut tries = 0;
    let inside = loop {
        let got = rt.call(&["exec", &id, "cat", "/tmp/startContainer"]);
        tries += 1;
        if got.code == 0 || tries == 100 {
            assert_eq!(got.code, 0, "{got:?}");
            break got.stdout;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    rt.ok(&["delete", "--force", &id]);
    assert!(!rt.private_copy(&id).exists());

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
        let states = text.lines().filter(|l| l.starts_with('{'));
        assert_eq!(
            states.clone().count(),
            if text == inside { 1 } else { 5 },
            "{text}"
        );
        for line in states {
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

/// A hook that records that it ran and how the state called the bundle, then fails.
fn failing_hook(marker: &std::path::Path) -> Value {
    json!([{"path": "/bin/sh", "args": ["sh", "-c",
        format!("cat >> {m}; echo >> {m}; exit 3", m = marker.display())]}])
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn failing_poststart_and_poststop_are_warnings() {
    let rt = Runtime::rune();
    let id = unique_id("hookfail");
    let mut bundle = Bundle::busybox(&["sleep", "1000"]);
    let (after_start, after_stop) = (bundle.file("poststart.log"), bundle.file("poststop.log"));
    bundle.config["hooks"] = json!({
        "poststart": failing_hook(&after_start),
        "poststop": failing_hook(&after_stop),
    });
    bundle.with_private_copy();
    rt.ok(&["create", "--bundle", bundle.path_str(), &id]);
    let start = rt.call(&["start", &id]);
    assert_eq!(start.code, 0, "{start:?}");
    assert!(start.stderr.contains("poststart hook /bin/sh"), "{start:?}");
    assert_eq!(rt.status(&id), "running");
    let delete = rt.call(&["delete", "--force", &id]);
    assert_eq!(delete.code, 0, "{delete:?}");
    assert!(
        delete.stderr.contains("poststop hook /bin/sh"),
        "{delete:?}"
    );
    assert!(rt.state(&id).is_none());
    assert!(!rt.root().join(&id).exists());
    assert!(!rt.private_copy(&id).exists());
    for log in [&after_start, &after_stop] {
        let state: Value = serde_json::from_str(fs::read_to_string(log).unwrap().trim()).unwrap();
        assert_eq!(state["bundle"], bundle.path_str(), "{}", log.display());
    }
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn poststop_runs_on_every_delete() {
    let rt = Runtime::rune();
    let mut bundle = Bundle::busybox(&["true"]);
    let log = bundle.file("poststop.log");
    bundle.config["hooks"] = json!({"poststop": [{"path": "/bin/sh", "args": ["sh", "-c",
        format!("cat >> {l}; echo >> {l}", l = log.display())]}]});
    bundle.save();
    let runs = |log: &std::path::Path| {
        fs::read_to_string(log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.starts_with('{'))
            .count()
    };
    // The foreground run: its init exits at once, racing the delete that follows.
    for round in 1..=16 {
        let id = unique_id("poststop-run");
        rt.ok(&["run", "--bundle", bundle.path_str(), &id]);
        assert_eq!(runs(&log), round, "run {round} skipped poststop");
    }
    // delete --force of a running container, and delete of a stopped one.
    bundle.config["process"]["args"] = json!(["sleep", "1000"]);
    bundle.save();
    let id = unique_id("poststop-force");
    rt.ok(&["run", "--detach", "--bundle", bundle.path_str(), &id]);
    rt.ok(&["delete", "--force", &id]);
    assert_eq!(runs(&log), 17);
    bundle.config["process"]["args"] = json!(["true"]);
    bundle.save();
    let id = unique_id("poststop-stopped");
    rt.ok(&["run", "--detach", "--bundle", bundle.path_str(), &id]);
    assert!(rt.wait_status(&id, "stopped"));
    rt.ok(&["delete", &id]);
    assert_eq!(runs(&log), 18);
}
