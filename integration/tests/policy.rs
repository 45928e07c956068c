//! Containers under Rune policies through rune-run (seccomp backend): every action for the
//! init and for `exec`'d processes, under no OCI profile and under docker's and podman's;
//! the supervisor's life; capabilities and setuid exactly as config.json asks; never looser
//! than the OCI profile; failing closed; bad policies leaving nothing behind.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use rune_integration::{Bundle, Runtime, host, programs, unique_id};
use serde_json::{Value, json};
use tempfile::TempDir;

const DEMO: &str = r#"{"runeVersion": 1, "defaultAction": "allow", "rules": [
  {"name": "redirect", "syscalls": ["@open"], "match": {"path": {"exact": "/data/foo"}}, "action": "rewrite", "rewrite": {"path": "/data/bar"}, "log": true},
  {"name": "secret", "syscalls": ["@open"], "match": {"path": {"prefix": "/data/secret"}}, "action": "deny", "errno": "EACCES", "log": true},
  {"name": "fake-ppid", "syscalls": ["getppid"], "action": "emulate", "return": 4242},
  {"name": "no-sethostname", "syscalls": ["sethostname"], "action": "kill", "log": true},
  {"name": "watch-getcwd", "syscalls": ["getcwd"], "action": "log"}
]}"#;

/// A data directory mounted at /data, the test programs at /rune, and a policy file.
struct Setup {
    data: TempDir,
    policies: TempDir,
}

impl Setup {
    fn new(policy: &str) -> Self {
        let data = tempfile::Builder::new()
            .prefix("rune-data-")
            .tempdir()
            .unwrap();
        std::fs::set_permissions(data.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        for (name, text) in [
            ("foo", "FOO\n"),
            ("bar", "BAR\n"),
            ("secret", "DENIED\n"),
            ("public", "ALLOWD\n"),
        ] {
            std::fs::write(data.path().join(name), text).unwrap();
        }
        let policies = tempfile::Builder::new()
            .prefix("rune-policies-")
            .tempdir()
            .unwrap();
        std::fs::write(policies.path().join("demo.json"), policy).unwrap();
        Self { data, policies }
    }

    fn policy_file(&self) -> String {
        self.policies.path().join("demo.json").display().to_string()
    }

    fn policy_dir(&self) -> String {
        self.policies.path().display().to_string()
    }

    fn mount_into(&self, bundle: &mut Bundle) {
        let mounts = bundle.config["mounts"].as_array_mut().unwrap();
        mounts.push(json!({"destination": "/data", "type": "bind", "source": self.data.path(), "options": ["rbind", "rw"]}));
        mounts.push(json!({"destination": "/rune", "type": "bind", "source": programs::dir(), "options": ["rbind", "ro"]}));
        bundle.save();
    }

    fn data(&self, name: &str) -> std::path::PathBuf {
        self.data.path().join(name)
    }
}

/// A bundle for container `id`, with a cgroup of its own (the client fixtures name one
/// fixed cgroup, which parallel tests would share).
fn bundle(id: &str, profile: Option<&str>, args: &[&str], setup: &Setup) -> Bundle {
    let mut b = match profile {
        Some(p) => Bundle::from_client(p, args),
        None => Bundle::busybox(args),
    };
    setup.mount_into(&mut b);
    b.unique_cgroup(id);
    b
}

fn events(rune: &Runtime, id: &str) -> Vec<Value> {
    rune.ok(&["trace", id])
        .lines()
        .map(|l| serde_json::from_str(l).expect("event is JSON"))
        .collect()
}

fn has_event(events: &[Value], rule: &str, action: &str) -> bool {
    events
        .iter()
        .any(|e| e["rule"] == rule && e["action"] == action)
}

/// The pid of the supervisor of the container whose state directory is `dir`.
fn supervisor_pid(dir: &std::path::Path) -> i32 {
    std::fs::read_to_string(dir.join("rune-supervisor.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn supervisors_of(id: &str) -> Vec<(i32, String)> {
    host::processes_mentioning("rune-supervisor")
        .into_iter()
        .filter(|(pid, _)| {
            std::fs::read_to_string(format!("/proc/{pid}/environ")).is_ok()
                && std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok()
                && std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .is_ok_and(|s| !s.contains(") Z"))
        })
        .filter(|_| !id.is_empty())
        .collect()
}

fn run_actions(profile: Option<&str>, via_annotation: bool) {
    let setup = Setup::new(DEMO);
    let rune = Runtime::rune();
    let id = unique_id("policy");
    let script = "cat /data/foo; cat /data/secret; echo ppid=$PPID; cd /data && pwd; echo end";
    let mut b = bundle(&id, profile, &["sh", "-c", script], &setup);
    let cgroup = b.unique_cgroup(&id);
    let mut global = vec!["--policy-dir".to_owned(), setup.policy_dir()];
    if via_annotation {
        b.config["annotations"]["run.rune.policy"] = json!("demo");
        b.save();
    } else {
        global.extend(["--policy".to_owned(), setup.policy_file()]);
    }
    let mut args: Vec<&str> = global.iter().map(String::as_str).collect();
    args.extend(["run", "--keep", "-b", b.path_str(), &id]);
    let run = rune.call(&args);
    assert_eq!(run.code, 0, "{profile:?}: {run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.first(), Some(&"BAR"), "{profile:?} rewrite: {run:?}");
    assert!(
        run.stderr.contains("Permission denied"),
        "{profile:?} deny: {run:?}"
    );
    assert!(lines.contains(&"ppid=4242"), "{profile:?} emulate: {run:?}");
    assert_eq!(lines.last(), Some(&"end"), "{run:?}");
    let ev = events(&rune, &id);
    let policy = if via_annotation { "container" } else { "admin" };
    for (rule, action) in [
        ("redirect", "rewrite"),
        ("secret", "deny"),
        ("watch-getcwd", "log"),
    ] {
        assert!(
            has_event(&ev, rule, action),
            "{profile:?}: no {rule} {action} in {ev:#?}"
        );
    }
    assert!(ev.iter().all(|e| e["container"] == id.as_str()
        && e["policy"] == policy
        && e["backend"] == "seccomp"));
    let deny = ev.iter().find(|e| e["rule"] == "secret").unwrap();
    assert_eq!(
        (deny["path"].as_str(), deny["result"].as_i64()),
        (Some("/data/secret"), Some(-13))
    );
    rune.ok(&["delete", &id]);
    assert!(host::cgroup_dirs(&cgroup).is_empty());
    assert!(!rune.root().join(&id).exists());
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn every_action_without_an_oci_profile() {
    run_actions(None, false);
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn every_action_under_the_docker_profile() {
    run_actions(Some("docker"), false);
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn every_action_under_the_podman_profile_from_an_annotation() {
    run_actions(Some("podman"), true);
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn the_supervisor_outlives_create_serves_exec_and_ends_with_delete() {
    let setup = Setup::new(DEMO);
    let rune = Runtime::rune();
    let id = unique_id("policy-exec");
    let b = bundle(&id, Some("docker"), &["sleep", "30"], &setup);
    let pol = setup.policy_file();
    rune.ok(&["--policy", &pol, "create", "-b", b.path_str(), &id]);
    let dir = rune.root().join(&id);
    let pid = supervisor_pid(&dir);
    assert_eq!(
        std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .unwrap()
            .trim(),
        "rune-supervisor"
    );
    rune.ok(&["start", &id]);
    let exec = rune.call(&["exec", &id, "cat", "/data/secret"]);
    assert_ne!(exec.code, 0, "{exec:?}");
    assert!(exec.stderr.contains("Permission denied"), "{exec:?}");
    let exec = rune.call(&["exec", &id, "cat", "/data/foo"]);
    assert_eq!(exec.stdout, "BAR\n", "{exec:?}");
    // The supervisor holds the listeners (the init's and the exec'd processes'), and nobody
    // else does: not the container's processes, not the on-behalf helper.
    let listeners = |pid: i32| {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .map(|fds| {
                fds.flatten()
                    .filter(|fd| {
                        std::fs::read_link(fd.path())
                            .is_ok_and(|t| t.as_os_str() == "anon_inode:seccomp notify")
                    })
                    .count()
            })
            .unwrap_or(0)
    };
    assert!(listeners(pid) >= 1, "the supervisor holds no listener");
    // The container shares the supervisor's user namespace: its serving threads made the
    // opens themselves, and any child of the supervisor holds no listener either.
    let children: Vec<i32> = host::children_of(pid as u32)
        .into_iter()
        .map(|p| p as i32)
        .collect();
    let init = rune.state(&id).unwrap()["pid"].as_i64().unwrap() as i32;
    for other in children.iter().chain([&init]) {
        assert_eq!(listeners(*other), 0, "process {other} holds a listener");
    }
    // kill: the exec'd process, not the container.
    let exec = rune.call(&["exec", &id, "hostname", "rune"]);
    assert_eq!(exec.code, 137, "{exec:?}");
    assert_eq!(rune.status(&id), "running");
    let ev = events(&rune, &id);
    assert!(has_event(&ev, "no-sethostname", "kill"), "{ev:#?}");
    assert!(ev.iter().filter(|e| e["rule"] == "secret").count() >= 1);
    rune.ok(&["kill", &id, "KILL"]);
    assert!(rune.wait_status(&id, "stopped"));
    rune.ok(&["delete", &id]);
    let gone = (0..200).any(|_| {
        std::thread::sleep(Duration::from_millis(10));
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| s.contains(") Z"))
    });
    assert!(gone, "the supervisor outlived delete");
    assert!(!dir.exists());
}

fn status_lines(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| l.starts_with("Cap") || l.starts_with("NoNewPrivs") || l.starts_with("euid"))
        .map(str::to_owned)
        .collect()
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn capabilities_and_setuid_are_exactly_what_config_json_asks() {
    let setup = Setup::new(DEMO);
    let suid = setup.data("suid");
    std::fs::copy(programs::program("whoami_euid"), &suid).unwrap();
    std::fs::set_permissions(&suid, std::fs::Permissions::from_mode(0o4755)).unwrap();
    let script = "/data/suid; grep -E '^(Cap|NoNewPrivs)' /proc/self/status";
    for nnp in [false, true] {
        let mut results = Vec::new();
        for (rt, policy) in [(Runtime::runc(), false), (Runtime::rune(), true)] {
            let id = unique_id("policy-caps");
            let mut b = bundle(&id, Some("docker"), &["sh", "-c", script], &setup);
            b.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
            b.config["process"]["noNewPrivileges"] = json!(nnp);
            b.save();
            let pol = setup.policy_file();
            let mut args = vec![];
            if policy {
                args.extend(["--policy", pol.as_str()]);
            }
            args.extend(["run", "-b", b.path_str(), id.as_str()]);
            let run = rt.call(&args);
            assert_eq!(run.code, 0, "{}: {run:?}", rt.name);
            results.push(status_lines(&run.stdout));
        }
        assert_eq!(
            results[0], results[1],
            "noNewPrivileges {nnp}: runc vs rune-run with a policy"
        );
        let want = if nnp {
            "euid 1000 uid 1000"
        } else {
            "euid 0 uid 1000"
        };
        assert_eq!(results[1][0], want, "setuid with noNewPrivileges {nnp}");
    }
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn a_call_the_oci_profile_denies_stays_denied() {
    // add_key is not in docker's allow-list; the Rune policy would emulate it.
    let policy = r#"{"runeVersion": 1, "defaultAction": "allow", "rules": [
        {"syscalls": ["add_key"], "action": "emulate", "return": 7}]}"#;
    let setup = Setup::new(policy);
    let nr = "248"; // add_key on x86_64
    let rune = Runtime::rune();
    let pol = setup.policy_file();
    let mut outs = Vec::new();
    for profile in [None, Some("docker")] {
        let id = unique_id("policy-oci");
        let b = bundle(&id, profile, &["/rune/probe", nr], &setup);
        let run = rune.call(&["--policy", &pol, "run", "-b", b.path_str(), &id]);
        assert_eq!(run.code, 0, "{run:?}");
        outs.push(run.stdout);
    }
    assert_eq!(
        outs[0], "ret 7 errno 0\n",
        "positive control: emulated without the profile"
    );
    assert_eq!(outs[1], "ret -1 errno 1\n", "the OCI profile's EPERM wins");
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn killing_the_supervisor_fails_closed_and_delete_still_works() {
    let setup = Setup::new(DEMO);
    let rune = Runtime::rune();
    let id = unique_id("policy-fault");
    let b = bundle(
        &id,
        None,
        &[
            "sh",
            "-c",
            "/rune/open_later /data/public /data/go > /data/out",
        ],
        &setup,
    );
    let pol = setup.policy_file();
    rune.ok(&["--policy", &pol, "run", "--detach", "-b", b.path_str(), &id]);
    let init = rune.state(&id).unwrap()["pid"].as_i64().unwrap();
    let started = (0..500).any(|_| {
        std::thread::sleep(Duration::from_millis(10));
        std::fs::read_to_string(format!("/proc/{init}/cmdline"))
            .is_ok_and(|c| c.contains("open_later"))
    });
    assert!(started, "open_later did not start");
    let dir = rune.root().join(&id);
    let pid = supervisor_pid(&dir);
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGKILL).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    std::fs::write(setup.data("go"), "").unwrap();
    assert!(rune.wait_status(&id, "stopped"), "{}", rune.status(&id));
    let out = std::fs::read_to_string(setup.data("out")).unwrap();
    assert_eq!(
        out, "openat 38\nopen 38\nopenat2 38\n",
        "trapped calls must fail with ENOSYS"
    );
    rune.ok(&["delete", &id]);
    assert!(!dir.exists());
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn bad_policies_are_refused_and_leave_nothing_behind() {
    let rune = Runtime::rune();
    let cases: [(&str, Option<&str>, &str, &[&str]); 5] = [
        (
            r#"{"runeVersion": 1, "defaultAction": "allow", "rules": [{"syscalls": ["@open"], "action": "deny", "erno": "EPERM"}]}"#,
            None,
            "",
            &["demo.json", "unknown field `erno`"],
        ),
        (
            r#"{"runeVersion": 1, "defaultAction": "allow", "rules": [{"name": "shrink", "syscalls": ["mmap"], "action": "rewrite", "rewrite": {"args": {"1": 4096}}}]}"#,
            None,
            "",
            &["rule 0", "shrink", "seccomp backend cannot enforce"],
        ),
        (
            DEMO,
            Some("missing"),
            "",
            &["run.rune.policy", "missing.json"],
        ),
        (
            DEMO,
            Some("../etc/passwd"),
            "",
            &["run.rune.policy", "[A-Za-z0-9._-]+"],
        ),
        (
            DEMO,
            None,
            "vsmode",
            &["vsmode", "containers do not run on it yet"],
        ),
    ];
    for (policy, annotation, backend, wants) in cases {
        let setup = Setup::new(policy);
        let id = unique_id("policy-bad");
        let mut b = bundle(&id, None, &["true"], &setup);
        let cgroup = b.unique_cgroup(&id);
        if let Some(a) = annotation {
            b.config["annotations"]["run.rune.policy"] = json!(a);
        }
        if !backend.is_empty() {
            b.config["annotations"]["run.rune.backend"] = json!(backend);
        }
        b.save();
        let pol = setup.policy_file();
        let dir = setup.policy_dir();
        let mut args = vec!["--policy-dir", dir.as_str()];
        if annotation.is_none() {
            args.extend(["--policy", pol.as_str()]);
        }
        args.extend(["create", "-b", b.path_str(), id.as_str()]);
        let run = rune.call(&args);
        assert_ne!(run.code, 0, "{wants:?}: {run:?}");
        for w in wants {
            assert!(run.stderr.contains(w), "{w:?} not in {:?}", run.stderr);
        }
        assert!(!rune.root().join(&id).exists(), "state dir left");
        assert!(host::cgroup_dirs(&cgroup).is_empty(), "cgroup left");
        assert!(
            supervisors_of(&id)
                .iter()
                .all(|(_, cmd)| !cmd.contains(&id))
        );
        let leftovers: Vec<_> = std::fs::read_dir(rune.root()).unwrap().collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn a_client_dying_mid_create_leaves_nothing_behind() {
    let setup = Setup::new(DEMO);
    let rune = Runtime::rune();
    let pol = setup.policy_file();
    for delay_ms in [0u64, 1, 2, 4, 7, 10, 15, 25] {
        let id = unique_id("policy-crash");
        // docker's config: no noNewPrivileges, so create also writes the private bundle.
        let b = bundle(&id, Some("docker"), &["sleep", "30"], &setup);
        let mut child = rune
            .command(&["--policy", &pol, "create", "-b", b.path_str(), &id])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        // libcontainer's intermediate process outlives a killed rune-run for a moment and may
        // still make the cgroup; a client restarting after a crash is slower than that.
        std::thread::sleep(Duration::from_millis(300));
        rune.ok(&["delete", "--force", &id]);
        let cgroup = format!("/rune-it/{id}");
        let left: Vec<_> = std::fs::read_dir(rune.root())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert!(left.is_empty(), "after {delay_ms} ms: {left:?}");
        assert!(
            host::cgroup_dirs(&cgroup).is_empty(),
            "after {delay_ms} ms: cgroup left"
        );
        let holders = (0..100).find_map(|_| {
            let h = host::processes_with_files_under(rune.root());
            if h.is_empty() {
                return Some(h);
            }
            std::thread::sleep(Duration::from_millis(20));
            None
        });
        assert!(
            holders.is_some(),
            "after {delay_ms} ms: processes still hold files of the state root"
        );
    }
}

/// The filters of a running container's init, oldest first.
fn filters_of(rt: &Runtime, id: &str) -> Vec<Vec<rune_integration::bpf::Insn>> {
    let pid = rt.state(id).unwrap()["pid"].as_i64().unwrap().to_string();
    let out = std::process::Command::new(programs::program("dump_filters"))
        .arg(&pid)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(rune_integration::bpf::parse)
        .collect()
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn the_oci_filter_is_the_same_with_and_without_rune() {
    use rune_integration::bpf::{Data, run};
    let setup = Setup::new(DEMO);
    let pol = setup.policy_file();
    let mut dumps = Vec::new();
    for (rt, policy) in [
        (Runtime::runc(), false),
        (Runtime::rune(), false),
        (Runtime::rune(), true),
    ] {
        let id = unique_id("policy-bpf");
        let b = bundle(&id, Some("docker"), &["sleep", "30"], &setup);
        let mut args = vec![];
        if policy {
            args.extend(["--policy", pol.as_str()]);
        }
        args.extend(["run", "--detach", "-b", b.path_str(), id.as_str()]);
        rt.ok(&args);
        dumps.push(filters_of(&rt, &id));
        rt.force_delete(&id);
    }
    let (runc, plain, ruled) = (&dumps[0], &dumps[1], &dumps[2]);
    assert_eq!(
        plain.len(),
        1,
        "rune-run without a policy installs only the OCI filter"
    );
    assert_eq!(
        ruled.len(),
        2,
        "with a policy, Rune's own filter is stacked on top"
    );
    let same = |a: &[rune_integration::bpf::Insn], b: &[rune_integration::bpf::Insn]| {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| (x.code, x.jt, x.jf, x.k) == (y.code, y.jt, y.jf, y.k))
    };
    // Oldest first: the OCI filter libcontainer installed, then Rune's.
    assert!(
        same(&ruled[0], &plain[0]),
        "the OCI filter changed under Rune"
    );
    // The same verdicts as runc's filter over every x86_64 call number, with zero arguments
    // and with the arguments docker's profile looks at set.
    let oci_of_runc = &runc[0];
    let mut differ = Vec::new();
    for nr in 0..460 {
        for args in [
            [0u64; 6],
            [0x7e02_0000, 0, 0, 0, 0, 0],
            [1, 0xffff_ffff, 0, 0, 0, 0],
        ] {
            let d = Data {
                nr,
                arch: 0xc000_003e,
                ip: 0,
                args,
            };
            let (a, b) = (run(oci_of_runc, &d), run(&ruled[0], &d));
            // runc answers calls newer than the profile with ENOSYS (its stub, so that libc
            // falls back); libcontainer with the profile's default errno: both refuse.
            let enosys_stub = a == 0x0005_0026 && b & 0xffff_0000 == 0x0005_0000;
            if a != b && !enosys_stub {
                differ.push((nr, args[0], format!("{a:#x}"), format!("{b:#x}")));
            }
        }
    }
    assert!(
        differ.is_empty(),
        "verdicts differ from runc's (nr, arg0, runc, rune): {differ:?}"
    );
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn a_rewrite_in_a_container_acts_with_the_container_users_rights() {
    let policy = r#"{"runeVersion": 1, "defaultAction": "allow", "rules": [
        {"syscalls": ["@open"], "match": {"path": {"exact": "/data/public"}}, "action": "rewrite", "rewrite": {"path": "/data/rootonly"}},
        {"syscalls": ["@open"], "match": {"path": {"exact": "/data/new"}}, "action": "rewrite", "rewrite": {"path": "/data/created"}}]}"#;
    let setup = Setup::new(policy);
    let rootonly = setup.data("rootonly");
    std::fs::write(&rootonly, "ROOT ONLY\n").unwrap();
    std::fs::set_permissions(&rootonly, std::fs::Permissions::from_mode(0o600)).unwrap();
    let rune = Runtime::rune();
    let id = unique_id("policy-rights");
    let script = "cat /data/public; umask 027; echo made > /data/new; echo done";
    let mut b = bundle(&id, Some("docker"), &["sh", "-c", script], &setup);
    b.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    b.save();
    let pol = setup.policy_file();
    let run = rune.call(&["--policy", &pol, "run", "-b", b.path_str(), &id]);
    assert!(!run.stdout.contains("ROOT ONLY"), "{run:?}");
    assert!(run.stderr.contains("Permission denied"), "{run:?}");
    assert!(run.stdout.contains("done"), "{run:?}");
    use std::os::unix::fs::MetadataExt;
    let created = std::fs::metadata(setup.data("created")).expect("created through the rewrite");
    assert_eq!((created.uid(), created.gid()), (1000, 1000));
    assert_eq!(created.mode() & 0o777, 0o640, "umask 027 on 0666");
    assert!(!setup.data("new").exists());
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn trace_follow_prints_events_as_they_come_until_delete() {
    let setup = Setup::new(DEMO);
    let rune = Runtime::rune();
    let id = unique_id("policy-trace");
    let b = bundle(&id, None, &["sleep", "30"], &setup);
    let pol = setup.policy_file();
    rune.ok(&["--policy", &pol, "run", "--detach", "-b", b.path_str(), &id]);
    let out = tempfile::NamedTempFile::new().unwrap();
    let mut follow = rune
        .command(&["trace", "--follow", &id])
        .stdout(out.reopen().unwrap())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let _ = rune.call(&["exec", &id, "cat", "/data/secret"]);
    let seen = (0..300).any(|_| {
        std::thread::sleep(Duration::from_millis(10));
        std::fs::read_to_string(out.path()).is_ok_and(|t| t.contains("\"rule\":\"secret\""))
    });
    assert!(seen, "the event never reached trace --follow");
    rune.force_delete(&id);
    let ended = (0..300).any(|_| {
        std::thread::sleep(Duration::from_millis(10));
        follow.try_wait().unwrap().is_some()
    });
    if !ended {
        let _ = follow.kill();
    }
    assert!(ended, "trace --follow outlived the container");
}

/// A container in a user namespace of its own (a serving thread cannot join one) is served by
/// an on-behalf helper in its namespaces: its opens are decided as any container's, the
/// helper holds no listener, and one that dies is replaced (at most the call it was serving
/// fails).
#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn a_container_in_a_user_namespace_is_served_by_a_helper_replaced_when_it_dies() {
    let setup = Setup::new(DEMO);
    let rune = Runtime::rune();
    let id = unique_id("policy-userns");
    let script = "cat /data/foo; while [ ! -e /data/go ]; do sleep 0.05; done; \
                  cat /data/public; cat /data/public; cat /data/secret; id -u; echo done";
    let mut b = bundle(&id, None, &["sh", "-c", script], &setup);
    b.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    b.config["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    b.config["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    b.save();
    // The mount points, which the container's root (an unprivileged host user) cannot make
    // in the host's rootfs (nor could it under runc).
    for d in ["data", "rune"] {
        std::fs::create_dir_all(std::path::Path::new(b.rootfs_str()).join(d)).unwrap();
    }
    let pol = setup.policy_file();
    let out = tempfile::NamedTempFile::new().unwrap();
    let err = tempfile::NamedTempFile::new().unwrap();
    let mut run = rune
        .command(&["--policy", &pol, "run", "-b", b.path_str(), &id])
        .stdout(out.reopen().unwrap())
        .stderr(err.reopen().unwrap())
        .spawn()
        .unwrap();
    let first = (0..1000).any(|_| {
        std::thread::sleep(Duration::from_millis(10));
        std::fs::read_to_string(out.path()).is_ok_and(|o| o.contains("BAR"))
    });
    assert!(first, "{:?}", std::fs::read_to_string(err.path()));
    let sup = supervisor_pid(&rune.root().join(&id)) as u32;
    let comm = |p: &u32| std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default();
    let helper = host::children_of(sup)
        .into_iter()
        .find(|p| comm(p).trim() == "rune-helper")
        .expect("an on-behalf helper for a container in its own user namespace");
    let ns = |p: u32| std::fs::read_link(format!("/proc/{p}/ns/user")).unwrap();
    let init = rune.state(&id).unwrap()["pid"].as_i64().unwrap() as u32;
    assert_eq!(
        ns(helper),
        ns(init),
        "the helper is in the container's user namespace"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(helper as i32),
        nix::sys::signal::SIGKILL,
    )
    .unwrap();
    std::fs::write(setup.data("go"), "").unwrap();
    let status = run.wait().unwrap();
    let (stdout, stderr) = (
        std::fs::read_to_string(out.path()).unwrap(),
        std::fs::read_to_string(err.path()).unwrap(),
    );
    assert!(status.success(), "{stdout} {stderr}");
    // After the kill, at most the first open fails; the next ones are served.
    assert!(stdout.ends_with("ALLOWD\n0\ndone\n"), "{stdout} {stderr}");
    assert!(!stdout.contains("DENIED"), "{stdout} {stderr}");
    assert!(stderr.contains("Permission denied"), "{stdout} {stderr}");
    let _ = rune.call(&["delete", "--force", &id]);
}
