//! Bad input gets a message that names the problem, a non-zero exit, a JSON line in `--log`
//! when asked for, and leaves nothing behind: no state directory, cgroup or process.

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use rune_integration::{Bundle, Runtime, host, unique_id};
use serde_json::json;

/// Runs `create` with `--log … --log-format json` and checks the failure end to end.
#[track_caller]
fn create_fails(rt: &Runtime, bundle: &Bundle, bundle_arg: &str, id: &str, expect: &str) {
    let log = bundle.file("log.json");
    let log_s = log.to_str().unwrap();
    let run = rt.call(&[
        "--log",
        log_s,
        "--log-format",
        "json",
        "create",
        "--bundle",
        bundle_arg,
        id,
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(expect),
        "stderr lacks {expect:?}: {}",
        run.stderr
    );
    // containerd shows the user the last error line of the log.
    let text = fs::read_to_string(&log).expect("log written");
    let last_error = text
        .lines()
        .rev()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("log line is JSON"))
        .find(|v| v["level"] == "error")
        .expect("an error line");
    assert!(
        last_error["msg"].as_str().unwrap().contains(expect),
        "log lacks {expect:?}: {text}"
    );
    assert_nothing_left(rt, bundle, id);
}

#[track_caller]
fn assert_nothing_left(rt: &Runtime, bundle: &Bundle, id: &str) {
    assert!(
        !rt.root().join(id).exists(),
        "state directory of {id} left behind"
    );
    if let Some(cg) = bundle.config["linux"]["cgroupsPath"].as_str() {
        assert_eq!(
            host::cgroup_dirs(cg),
            Vec::<std::path::PathBuf>::new(),
            "cgroup left"
        );
    }
    assert_eq!(
        host::processes_mentioning(bundle.path_str()),
        vec![],
        "process left"
    );
    assert_eq!(
        host::mounts_under(bundle.path()),
        Vec::<String>::new(),
        "mount left"
    );
    assert!(
        !rt.root().join(".rune").exists(),
        "private bundle of {id} left behind"
    );
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn missing_bundle() {
    let rt = Runtime::rune();
    let bundle = Bundle::busybox(&["true"]);
    let missing = bundle.file("nope");
    create_fails(
        &rt,
        &bundle,
        missing.to_str().unwrap(),
        &unique_id("nobundle"),
        "nope: no such directory",
    );
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn missing_config() {
    let rt = Runtime::rune();
    let bundle = Bundle::busybox(&["true"]);
    fs::remove_file(bundle.file("config.json")).unwrap();
    create_fails(
        &rt,
        &bundle,
        bundle.path_str(),
        &unique_id("noconfig"),
        "config.json: no such file",
    );
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn malformed_config_names_line_and_column() {
    let rt = Runtime::rune();
    let bundle = Bundle::busybox(&["true"]);
    fs::write(
        bundle.file("config.json"),
        "{\n  \"ociVersion\": \"1.0.2\",\n  \"process\": [}\n",
    )
    .unwrap();
    create_fails(
        &rt,
        &bundle,
        bundle.path_str(),
        &unique_id("malformed"),
        "config.json: line 3 column",
    );
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn wrong_field_type_names_the_position() {
    let rt = Runtime::rune();
    let mut bundle = Bundle::busybox(&["true"]);
    bundle.config["process"]["user"]["uid"] = json!("root");
    bundle.save();
    create_fails(
        &rt,
        &bundle,
        bundle.path_str(),
        &unique_id("fieldtype"),
        "invalid type: string \"root\"",
    );
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn missing_rootfs() {
    let rt = Runtime::rune();
    let mut bundle = Bundle::busybox(&["true"]);
    bundle.config["root"]["path"] = json!("no-rootfs");
    bundle.save();
    create_fails(
        &rt,
        &bundle,
        bundle.path_str(),
        &unique_id("norootfs"),
        "root.path",
    );
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn invalid_id() {
    let rt = Runtime::rune();
    let bundle = Bundle::busybox(&["true"]);
    for id in ["a/b", "..", "x y", ".rune"] {
        let run = rt.call(&["create", "--bundle", bundle.path_str(), id]);
        assert_eq!(run.code, 1);
        assert!(
            run.stderr.contains("invalid container id"),
            "{id}: {}",
            run.stderr
        );
    }
    assert_eq!(fs::read_dir(rt.root()).map(|d| d.count()).unwrap_or(0), 0);
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn duplicate_id_leaves_the_first_alone() {
    let rt = Runtime::rune();
    let id = unique_id("dup");
    let mut bundle = Bundle::busybox(&["sleep", "1000"]);
    bundle.unique_cgroup(&id);
    rt.ok(&["create", "--bundle", bundle.path_str(), &id]);
    let run = rt.call(&["create", "--bundle", bundle.path_str(), &id]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains(&format!("container with id {id} already exists")),
        "{}",
        run.stderr
    );
    assert_eq!(
        rt.status(&id),
        "created",
        "the first container must survive"
    );
    rt.ok(&["delete", &id]);
    assert_nothing_left(&rt, &bundle, &id);
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn unknown_id_for_every_verb() {
    let rt = Runtime::rune();
    let id = unique_id("ghost");
    for verb in [
        vec!["start"],
        vec!["state"],
        vec!["kill"],
        vec!["delete"],
        vec!["ps"],
        vec!["pause"],
        vec!["resume"],
        vec!["events", "--stats"],
        vec!["update", "--pids-limit", "5"],
    ] {
        let mut args = verb.clone();
        args.push(&id);
        let run = rt.call(&args);
        assert_eq!(run.code, 1, "{args:?}");
        assert!(
            run.stderr
                .contains(&format!("container {id} does not exist")),
            "{args:?}: {}",
            run.stderr
        );
    }
    let run = rt.call(&["exec", &id, "true"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("does not exist"), "{}", run.stderr);
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn negative_oom_score_adj_without_cap_sys_resource() {
    let rt = Runtime::rune();
    let id = unique_id("oom");
    let mut bundle = Bundle::busybox(&["true"]);
    bundle.unique_cgroup(&id);
    bundle.config["process"]["oomScoreAdj"] = json!(-500);
    bundle.save();
    let has_cap = fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("CapEff:"))
        .map(|l| {
            u64::from_str_radix(l.split_whitespace().nth(1).unwrap(), 16).unwrap() & (1 << 24) != 0
        })
        .unwrap();
    if has_cap {
        // With CAP_SYS_RESOURCE the same config must work: the check is not a blanket refusal.
        rt.ok(&["create", "--bundle", bundle.path_str(), &id]);
        rt.ok(&["delete", &id]);
    } else {
        create_fails(
            &rt,
            &bundle,
            bundle.path_str(),
            &id,
            "process.oomScoreAdj: -500",
        );
    }
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn failing_hook_is_named_and_cleaned_up() {
    let rt = Runtime::rune();
    // With a private copy of config.json too: the hooks then run through `rune-run hook`.
    for private in [false, true] {
        for phase in [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
        ] {
            let id = unique_id("hookfail");
            let mut bundle = Bundle::busybox(&["true"]);
            bundle.unique_cgroup(&id);
            bundle.config["hooks"] = json!({phase: [{"path": "/bin/false"}]});
            bundle.save();
            if private {
                bundle.with_private_copy();
            }
            if phase == "startContainer" {
                // It runs after `start`: `run` fails and removes the container.
                let run = rt.call(&["run", "--bundle", bundle.path_str(), &id]);
                assert_ne!(run.code, 0, "{run:?}");
                assert_nothing_left(&rt, &bundle, &id);
                continue;
            }
            create_fails(
                &rt,
                &bundle,
                bundle.path_str(),
                &id,
                &format!("{phase}: /bin/false"),
            );
        }
    }
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn an_rlimit_the_kernel_refuses_is_named() {
    let rt = Runtime::rune();
    let id = unique_id("rlimit");
    let mut bundle = Bundle::busybox(&["true"]);
    bundle.unique_cgroup(&id);
    let hard: u64 = fs::read_to_string("/proc/sys/fs/nr_open")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // Above fs.nr_open: no capability makes the kernel take it.
    let wanted = hard * 2;
    bundle.config["process"]["rlimits"] =
        json!([{"type": "RLIMIT_NOFILE", "hard": wanted, "soft": 1024}]);
    bundle.with_private_copy();
    create_fails(
        &rt,
        &bundle,
        bundle.path_str(),
        &id,
        &format!("process.rlimits: RLIMIT_NOFILE {wanted} is above this host's hard limit"),
    );
    bundle.config["process"]["rlimits"] =
        json!([{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 4096}]);
    bundle.save();
    create_fails(
        &rt,
        &bundle,
        bundle.path_str(),
        &id,
        "process.rlimits: RLIMIT_NOFILE: soft limit 4096 is above its hard limit 1024",
    );
}

/// Every way a create fails after rune-run wrote its private copy of config.json removes it,
/// and `list` never mistakes a copy for a container.
#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn private_copies_are_never_left_or_listed() {
    let rt = Runtime::rune();
    let running = unique_id("listed");
    let mut bundle = Bundle::busybox(&["sleep", "1000"]);
    bundle.unique_cgroup(&running);
    bundle.with_private_copy();
    rt.ok(&["create", "--bundle", bundle.path_str(), &running]);
    assert!(rt.private_copy(&running).join("config.json").exists());
    let list = rt.call(&["list"]);
    assert_eq!(list.code, 0, "{list:?}");
    assert_eq!(list.stderr, "", "list complained");
    assert_eq!(rt.ok(&["list", "-q"]).trim(), running);

    let failing: [(&str, serde_json::Value, &str); 3] = [
        (
            "program",
            json!({"process": {"args": ["/bin/does-not-exist"]}}),
            "does-not-exist",
        ),
        ("console", json!({"process": {"terminal": true}}), "console"),
        (
            "sysctl",
            json!({"linux": {"sysctl": {"kernel.no-such-knob": "1"}}}),
            "sysctl",
        ),
    ];
    for (what, change, expect) in failing {
        let id = unique_id(what);
        let mut b = Bundle::busybox(&["true"]);
        b.unique_cgroup(&id);
        merge(&mut b.config, &change);
        b.with_private_copy();
        let run = rt.call(&["create", "--bundle", b.path_str(), &id]);
        assert_eq!(run.code, 1, "{what}: {run:?}");
        assert!(run.stderr.contains(expect), "{what}: {}", run.stderr);
        assert!(!rt.private_copy(&id).exists(), "{what}: private copy left");
        assert!(!rt.root().join(&id).exists(), "{what}: state left");
    }
    rt.ok(&["delete", "--force", &running]);
    assert_nothing_left(&rt, &bundle, &running);
}

fn merge(into: &mut serde_json::Value, from: &serde_json::Value) {
    match (into, from) {
        (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k.clone()).or_insert(serde_json::Value::Null), v);
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn missing_program_is_named() {
    let rt = Runtime::rune();
    let id = unique_id("noprog");
    let mut bundle = Bundle::busybox(&["/bin/does-not-exist"]);
    bundle.unique_cgroup(&id);
    let run = rt.call(&["run", "--bundle", bundle.path_str(), &id]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("does-not-exist"), "{}", run.stderr);
    assert_nothing_left(&rt, &bundle, &id);
}

/// rune-run killed with SIGKILL in the middle of `create` (held there by a slow hook):
/// `delete --force` must still remove everything, and the id must be reusable.
#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn kill_9_during_create_then_force_delete() {
    let rt = Runtime::rune();
    let id = unique_id("crash");
    let mut bundle = Bundle::busybox(&["sleep", "1000"]);
    let cgroup = bundle.unique_cgroup(&id);
    let marker = bundle.file("hook-ran");
    bundle.config["hooks"] = json!({"createRuntime": [{
        "path": "/bin/sh",
        "args": ["sh", "-c", format!("touch {}; sleep 2", marker.display())],
    }]});
    bundle.save();
    let mut child = rt
        .command(&["create", "--bundle", bundle.path_str(), &id])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !marker.exists() {
        assert!(std::time::Instant::now() < deadline, "hook never ran");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        rt.root().join(&id).exists(),
        "the crash should leave a state directory"
    );
    assert!(
        !host::cgroup_dirs(&cgroup).is_empty(),
        "the crash should leave a cgroup"
    );

    rt.ok(&["delete", "--force", &id]);
    assert!(!rt.root().join(&id).exists());
    assert!(
        host::cgroup_dirs(&cgroup).is_empty(),
        "cgroup left after delete --force"
    );
    // Only the orphaned hook's `sleep 2` may still mention the bundle; the container may not.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(host::processes_mentioning(bundle.path_str()), vec![]);
    assert!(Path::new(bundle.path()).exists());

    // The id is free again.
    bundle.config.as_object_mut().unwrap().remove("hooks");
    bundle.save();
    rt.ok(&["create", "--bundle", bundle.path_str(), &id]);
    rt.ok(&["delete", &id]);
}

/// Several creates of one id at once: one wins, the others fail with "already exists" and
/// must not remove the winner's state or cgroup on their way out.
#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn concurrent_creates_of_one_id_leave_the_winner_intact() {
    let rt = Runtime::rune();
    let id = unique_id("race");
    let mut bundle = Bundle::busybox(&["sleep", "1000"]);
    let cgroup = bundle.unique_cgroup(&id);
    // stderr to files, not pipes: the winner's container inherits it and keeps it open.
    let children: Vec<_> = (0..4)
        .map(|_| {
            let err = tempfile::tempfile().unwrap();
            let child = rt
                .command(&["create", "--bundle", bundle.path_str(), &id])
                .stdout(Stdio::null())
                .stderr(err.try_clone().unwrap())
                .spawn()
                .unwrap();
            (child, err)
        })
        .collect();
    let results: Vec<(bool, String)> = children
        .into_iter()
        .map(|(mut child, mut err)| {
            let ok = child.wait().unwrap().success();
            let mut text = String::new();
            err.seek(SeekFrom::Start(0)).unwrap();
            err.read_to_string(&mut text).unwrap();
            (ok, text)
        })
        .collect();
    let winners = results.iter().filter(|(ok, _)| *ok).count();
    assert_eq!(winners, 1, "{results:?}");
    for (_, stderr) in results.iter().filter(|(ok, _)| !ok) {
        assert!(stderr.contains("already exists"), "{stderr}");
    }
    assert_eq!(rt.status(&id), "created", "the winner's state survived");
    assert!(
        !host::cgroup_dirs(&cgroup).is_empty(),
        "the winner's cgroup survived"
    );
    rt.ok(&["start", &id]);
    rt.ok(&["delete", "--force", &id]);
    assert_nothing_left(&rt, &bundle, &id);
}
