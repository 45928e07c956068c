//! The runc lifecycle through rune-run: create, start, exec, ps, pause, resume, kill, delete,
//! and what each verb prints.

use std::fs;

use rune_integration::{Bundle, Runtime, host, unique_id};
use serde_json::json;

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn full_lifecycle() {
    let rt = Runtime::rune();
    let id = unique_id("life");
    let mut bundle = Bundle::busybox(&["sleep", "1000"]);
    let cgroup = bundle.unique_cgroup(&id);

    rt.ok(&["create", "--bundle", bundle.path_str(), &id]);
    let state = rt.state(&id).expect("state after create");
    assert_eq!(state["status"], "created");
    assert_eq!(state["id"], id.as_str());
    assert_eq!(state["bundle"], bundle.path_str());
    let pid = state["pid"].as_i64().expect("pid");
    assert!(pid > 0);

    rt.ok(&["start", &id]);
    assert_eq!(rt.status(&id), "running");

    let exec = rt.call(&["exec", &id, "sh", "-c", "echo from-exec; exit 7"]);
    assert_eq!(exec.stdout, "from-exec\n");
    assert_eq!(exec.code, 7, "exec exit code propagates");

    let ps: Vec<i64> = serde_json::from_str(&rt.ok(&["ps", "--format", "json", &id])).unwrap();
    assert_eq!(ps, vec![pid], "the init is the only process");
    let table = rt.ok(&["ps", &id]);
    assert!(table.lines().next().unwrap().contains("PID"), "{table}");
    assert!(table.contains("sleep 1000"), "{table}");

    rt.ok(&["pause", &id]);
    assert_eq!(rt.status(&id), "paused");
    assert_eq!(
        host::cgroup_file(&cgroup, "freezer.state").as_deref(),
        Some("FROZEN")
    );
    rt.ok(&["resume", &id]);
    assert_eq!(rt.status(&id), "running");

    let list: serde_json::Value =
        serde_json::from_str(&rt.ok(&["list", "--format", "json"])).unwrap();
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!(list[0]["status"], "running");
    assert_eq!(rt.ok(&["list", "-q"]).trim(), id);

    rt.ok(&["kill", &id, "KILL"]);
    assert!(rt.wait_status(&id, "stopped"));
    assert_eq!(rt.state(&id).unwrap()["pid"], 0);
    assert_ne!(
        rt.call(&["kill", &id, "TERM"]).code,
        0,
        "kill of a stopped container"
    );

    rt.ok(&["delete", &id]);
    assert!(rt.state(&id).is_none(), "state after delete");
    assert!(host::cgroup_dirs(&cgroup).is_empty(), "cgroup left behind");
    assert!(!rt.root().join(&id).exists(), "state directory left behind");
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn run_propagates_exit_codes_and_deletes() {
    let rt = Runtime::rune();
    for (script, code) in [("exit 0", 0), ("exit 3", 3), ("exit 255", 255)] {
        let id = unique_id("exit");
        let bundle = Bundle::busybox(&["sh", "-c", script]);
        let run = rt.call(&["run", "--bundle", bundle.path_str(), &id]);
        assert_eq!(run.code, code, "{script}: {run:?}");
        assert!(rt.state(&id).is_none(), "run leaves no container");
    }
}

/// A foreground `run` whose init dies by a signal exits with 128 + the signal, like runc.
/// (The init is PID 1 of its namespace, so it cannot kill itself: the signal comes from
/// `rune-run kill`.)
#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn run_reports_death_by_signal() {
    let rt = Runtime::rune();
    let id = unique_id("signaled");
    let bundle = Bundle::busybox(&["sleep", "1000"]);
    let mut run = rt.spawn(&["run", "--bundle", bundle.path_str(), &id]);
    assert!(rt.wait_status(&id, "running"));
    rt.ok(&["kill", &id, "KILL"]);
    let status = run.wait().unwrap();
    assert_eq!(status.code(), Some(137));
    assert!(rt.state(&id).is_none(), "run leaves no container");
}

/// Signals sent to a foreground `run` reach the container's init.
#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn run_forwards_signals_to_the_init() {
    let rt = Runtime::rune();
    let id = unique_id("forward");
    let bundle = Bundle::busybox(&[
        "sh",
        "-c",
        "trap 'exit 42' USR1; while :; do sleep 0.05; done",
    ]);
    let mut run = rt.spawn(&["run", "--bundle", bundle.path_str(), &id]);
    assert!(rt.wait_status(&id, "running"));
    assert!(rt.wait_processes(&id, 2), "the trap loop never started");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(run.id() as i32),
        nix::sys::signal::Signal::SIGUSR1,
    )
    .unwrap();
    assert_eq!(run.wait().unwrap().code(), Some(42));
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn run_foreground_passes_stdio() {
    let rt = Runtime::rune();
    let id = unique_id("stdio");
    let bundle = Bundle::busybox(&["sh", "-c", "read line; echo got:$line; echo err >&2"]);
    let run = rt.call_with_stdin(
        &["run", "--bundle", bundle.path_str(), &id],
        Some("hello\n"),
    );
    assert_eq!(run.stdout, "got:hello\n");
    assert_eq!(run.stderr, "err\n");
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn run_detached_then_kill_all_and_force_delete() {
    let rt = Runtime::rune();
    let id = unique_id("detach");
    let mut bundle = Bundle::busybox(&["sh", "-c", "sleep 1000 & sleep 1000 & wait"]);
    let cgroup = bundle.unique_cgroup(&id);
    let pid_file = bundle.file("init.pid");
    rt.ok(&[
        "run",
        "--detach",
        "--pid-file",
        pid_file.to_str().unwrap(),
        "--bundle",
        bundle.path_str(),
        &id,
    ]);
    let pid: i64 = fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(rt.state(&id).unwrap()["pid"], pid);
    assert!(
        rt.wait_processes(&id, 3),
        "both sleeps and the shell are in the cgroup"
    );
    rt.ok(&["kill", "--all", &id, "9"]);
    assert!(rt.wait_status(&id, "stopped"));
    rt.ok(&["delete", "--force", &id]);
    assert!(host::cgroup_dirs(&cgroup).is_empty());
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn delete_force_kills_a_running_container() {
    let rt = Runtime::rune();
    let id = unique_id("force");
    let mut bundle = Bundle::busybox(&["sleep", "1000"]);
    let cgroup = bundle.unique_cgroup(&id);
    rt.ok(&["run", "--detach", "--bundle", bundle.path_str(), &id]);
    let pid = rt.state(&id).unwrap()["pid"].as_i64().unwrap();
    let refused = rt.call(&["delete", &id]);
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("not stopped"), "{}", refused.stderr);
    rt.ok(&["delete", "--force", &id]);
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists() || is_zombie(pid));
    assert!(host::cgroup_dirs(&cgroup).is_empty());
    // runc: deleting what does not exist is an error, unless forced.
    assert_ne!(rt.call(&["delete", &id]).code, 0);
    rt.ok(&["delete", "--force", &id]);
}

fn is_zombie(pid: i64) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "))
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn kill_accepts_names_and_numbers() {
    let rt = Runtime::rune();
    for signal in ["TERM", "SIGTERM", "15"] {
        let id = unique_id("sig");
        let bundle = Bundle::busybox(&[
            "sh",
            "-c",
            "trap 'exit 0' TERM; while :; do sleep 0.05; done",
        ]);
        rt.ok(&["run", "--detach", "--bundle", bundle.path_str(), &id]);
        assert!(rt.wait_processes(&id, 2), "the trap loop never started");
        rt.ok(&["kill", &id, signal]);
        assert!(rt.wait_status(&id, "stopped"), "{signal} did not stop it");
        rt.ok(&["delete", &id]);
    }
    let id = unique_id("sig");
    let bundle = Bundle::busybox(&[
        "sh",
        "-c",
        "trap 'exit 0' TERM; while :; do sleep 0.05; done",
    ]);
    rt.ok(&["run", "--detach", "--bundle", bundle.path_str(), &id]);
    let bad = rt.call(&["kill", &id, "NOPE"]);
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("NOPE"), "{}", bad.stderr);
    // runc's default signal is SIGTERM.
    assert!(rt.wait_processes(&id, 2), "the trap loop never started");
    rt.ok(&["kill", &id]);
    assert!(rt.wait_status(&id, "stopped"));
    rt.ok(&["delete", &id]);
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn exec_flags_and_process_file() {
    let rt = Runtime::rune();
    let id = unique_id("exec");
    let mut bundle = Bundle::busybox(&["sleep", "1000"]);
    bundle.config["process"]["env"] = json!(["PATH=/bin:/usr/bin", "FROM_CONFIG=1"]);
    bundle.save();
    rt.ok(&["run", "--detach", "--bundle", bundle.path_str(), &id]);

    let out = rt.ok(&[
        "exec",
        "--env",
        "EXTRA=2",
        "--cwd",
        "/tmp",
        "--user",
        "1000:1000",
        &id,
        "sh",
        "-c",
        "echo $FROM_CONFIG $EXTRA $(pwd) $(id -u):$(id -g)",
    ]);
    assert_eq!(out, "1 2 /tmp 1000:1000\n");

    let process = bundle.file("process.json");
    let mut p = bundle.config["process"].clone();
    p["args"] = json!(["sh", "-c", "echo from-process-file; exit 4"]);
    fs::write(&process, p.to_string()).unwrap();
    let run = rt.call(&["exec", "--process", process.to_str().unwrap(), &id]);
    assert_eq!((run.code, run.stdout.as_str()), (4, "from-process-file\n"));

    let pid_file = bundle.file("exec.pid");
    rt.ok(&[
        "exec",
        "--detach",
        "--pid-file",
        pid_file.to_str().unwrap(),
        &id,
        "sleep",
        "999",
    ]);
    let exec_pid: i64 = fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let ps: Vec<i64> = serde_json::from_str(&rt.ok(&["ps", "--format", "json", &id])).unwrap();
    assert!(ps.contains(&exec_pid), "{ps:?} lacks {exec_pid}");

    assert_ne!(rt.call(&["exec", &id]).code, 0, "exec without a command");
    rt.ok(&["delete", "--force", &id]);
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn update_writes_the_cgroup() {
    let rt = Runtime::rune();
    let id = unique_id("update");
    let mut bundle = Bundle::busybox(&["sleep", "1000"]);
    let cgroup = bundle.unique_cgroup(&id);
    rt.ok(&["run", "--detach", "--bundle", bundle.path_str(), &id]);

    rt.ok(&["update", "--memory", "67108864", "--pids-limit", "42", &id]);
    assert_eq!(
        host::cgroup_file(&cgroup, "memory.limit_in_bytes").as_deref(),
        Some("67108864")
    );
    assert_eq!(
        host::cgroup_file(&cgroup, "pids.max").as_deref(),
        Some("42")
    );

    // What containerd-shim-runc-v2 sends.
    let resources = r#"{"memory":{"limit":33554432},"pids":{"limit":17},"cpu":{"shares":512}}"#;
    let run = rt.call_with_stdin(&["update", "--resources", "-", &id], Some(resources));
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        host::cgroup_file(&cgroup, "memory.limit_in_bytes").as_deref(),
        Some("33554432")
    );
    assert_eq!(
        host::cgroup_file(&cgroup, "pids.max").as_deref(),
        Some("17")
    );
    assert_eq!(
        host::cgroup_file(&cgroup, "cpu.shares").as_deref(),
        Some("512")
    );

    let bad = rt.call_with_stdin(&["update", "--resources", "-", &id], Some("{\"memory\": 5"));
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("line 1 column"), "{}", bad.stderr);
    rt.ok(&["delete", "--force", &id]);
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn events_stats_reports_the_cgroup() {
    let rt = Runtime::rune();
    let id = unique_id("events");
    let bundle = Bundle::busybox(&["sleep", "1000"]);
    rt.ok(&["run", "--detach", "--bundle", bundle.path_str(), &id]);
    let out = rt.ok(&["events", "--stats", &id]);
    let stats: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert_eq!(stats["type"], "stats", "{stats}");
    assert!(
        stats["data"]["pids"]["current"].as_u64().unwrap_or(0) >= 1,
        "{stats}"
    );
    rt.ok(&["delete", "--force", &id]);
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn features_and_spec_and_version() {
    let rt = Runtime::rune();
    let features: serde_json::Value = serde_json::from_str(&rt.ok(&["features"])).unwrap();
    assert_eq!(features["linux"]["seccomp"]["enabled"], true);
    assert!(
        features["linux"]["seccomp"]["actions"]
            .as_array()
            .unwrap()
            .contains(&json!("SCMP_ACT_NOTIFY"))
    );
    assert!(
        features["hooks"]
            .as_array()
            .unwrap()
            .contains(&json!("createRuntime"))
    );

    let dir = tempfile::tempdir().unwrap();
    rt.ok(&["spec", "--bundle", dir.path().to_str().unwrap()]);
    let spec: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.path().join("config.json")).unwrap()).unwrap();
    assert_eq!(spec["root"]["path"], "rootfs");
    assert_eq!(
        spec["process"]["terminal"], true,
        "runc's spec is an interactive shell"
    );
    assert!(spec["ociVersion"].as_str().unwrap().starts_with("1."));
    let again = rt.call(&["spec", "--bundle", dir.path().to_str().unwrap()]);
    assert_ne!(again.code, 0, "spec must not overwrite config.json");

    assert!(rt.ok(&["--version"]).starts_with("rune-run version "));
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn terminal_through_console_socket() {
    use rune_integration::console::{ConsoleSocket, read_until};
    let rt = Runtime::rune();
    let id = unique_id("tty");
    let mut bundle = Bundle::busybox(&["sh", "-c", "tty; echo tty-ok"]);
    bundle.config["process"]["terminal"] = json!(true);
    bundle.save();
    let socket = ConsoleSocket::listen(&bundle.file("console.sock"));
    rt.ok(&[
        "create",
        "--console-socket",
        socket.path_str(),
        "--bundle",
        bundle.path_str(),
        &id,
    ]);
    let mut master = socket.master();
    rt.ok(&["start", &id]);
    let seen = read_until(&mut master, "tty-ok");
    assert!(seen.contains("/dev/pts/"), "not a tty: {seen:?}");
    assert!(seen.contains("tty-ok"), "{seen:?}");
    assert!(rt.wait_status(&id, "stopped"));
    rt.ok(&["delete", &id]);
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn exec_with_tty() {
    use rune_integration::console::{ConsoleSocket, read_until};
    let rt = Runtime::rune();
    let id = unique_id("exectty");
    let bundle = Bundle::busybox(&["sleep", "1000"]);
    rt.ok(&["run", "--detach", "--bundle", bundle.path_str(), &id]);
    let socket = ConsoleSocket::listen(&bundle.file("exec.sock"));
    rt.ok(&[
        "exec",
        "--tty",
        "--detach",
        "--console-socket",
        socket.path_str(),
        &id,
        "sh",
        "-c",
        "tty; echo exec-tty-ok",
    ]);
    let seen = read_until(&mut socket.master(), "exec-tty-ok");
    assert!(seen.contains("/dev/pts/"), "{seen:?}");
    rt.ok(&["delete", "--force", &id]);
}

/// runc's tutorial path: `spec` gives `terminal: true`; with no console socket, a foreground
/// `run` (and `exec -t`) gets a pty from rune-run itself, relayed to its stdio.
#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn foreground_terminal_without_console_socket() {
    let rt = Runtime::rune();
    let id = unique_id("fgtty");
    let mut bundle = Bundle::busybox(&["sh", "-c", "tty; exit 6"]);
    bundle.config["process"]["terminal"] = json!(true);
    bundle.save();
    let run = rt.call(&["run", "--bundle", bundle.path_str(), &id]);
    assert_eq!(run.code, 6, "{run:?}");
    assert!(run.stdout.starts_with("/dev/pts/"), "{run:?}");

    let id = unique_id("fgtty");
    let bundle = Bundle::busybox(&["sleep", "1000"]);
    rt.ok(&["run", "--detach", "--bundle", bundle.path_str(), &id]);
    let exec = rt.call(&["exec", "--tty", &id, "sh", "-c", "tty; exit 7"]);
    assert_eq!(exec.code, 7, "{exec:?}");
    assert!(exec.stdout.starts_with("/dev/pts/"), "{exec:?}");
    rt.ok(&["delete", "--force", &id]);
}
