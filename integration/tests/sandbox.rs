//! `rune-shim run`: every action, and the attacks a path rule must resist, on one program
//! outside any container (ARCHITECTURE.md §3–§6, seccomp backend).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::time::Duration;

use rune_integration::programs::program;
use rune_integration::sandbox::{Sandbox, native};

fn deny_secret(sb_dir: &str) -> String {
    format!(
        r#"{{"runeVersion": 1, "defaultAction": "allow", "rules": [
        {{"name": "secret", "syscalls": ["@open"], "match": {{"path": {{"prefix": "{sb_dir}/secret"}}}}, "action": "deny", "errno": "EACCES", "log": true}}]}}"#
    )
}

/// A sandbox whose policy is made from its own directory's path.
fn sandbox_with(policy: impl FnOnce(&str) -> String) -> Sandbox {
    let sb = Sandbox::new("{}");
    let dir = sb.dir.path().to_str().unwrap().to_owned();
    std::fs::write(sb.path("policy.json"), policy(&dir)).unwrap();
    sb
}

#[test]
#[ignore = "needs root and a release rune-shim: run with make test"]
fn every_action() {
    let sb = sandbox_with(|d| {
        format!(
            r#"{{"runeVersion": 1, "defaultAction": "allow", "rules": [
            {{"name": "redirect", "syscalls": ["@open"], "match": {{"path": {{"exact": "{d}/foo"}}}}, "action": "rewrite", "rewrite": {{"path": "{d}/bar"}}, "log": true}},
            {{"name": "secret", "syscalls": ["@open"], "match": {{"path": {{"prefix": "{d}/secret"}}}}, "action": "deny", "errno": "EACCES", "log": true}},
            {{"name": "fake-ppid", "syscalls": ["getppid"], "action": "emulate", "return": 4242}},
            {{"name": "no-uname", "syscalls": ["uname"], "action": "kill", "log": true}},
            {{"name": "no-sethostname", "syscalls": ["sethostname"], "action": "kill"}},
            {{"name": "watch-getcwd", "syscalls": ["getcwd"], "action": "log"}}]}}"#
        )
    });
    sb.write("foo", "FOO\n");
    sb.write("bar", "BAR\n");
    sb.write("secret", "DENIED\n");
    let d = sb.dir.path().display().to_string();
    let script = format!("cat {d}/foo; cat {d}/secret; echo $PPID; pwd -P; echo end");
    let out = sb.run(&["/bin/sh", "-c", &script]);
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "BAR", "rewrite: {out:?}");
    assert!(out.stderr.contains("Permission denied"), "deny: {out:?}");
    assert_eq!(lines[1], "4242", "emulate: {out:?}");
    assert_eq!(*lines.last().unwrap(), "end");
    let actions: Vec<(&str, &str)> = out
        .events
        .iter()
        .map(|e| (e["rule"].as_str().unwrap(), e["action"].as_str().unwrap()))
        .collect();
    assert!(actions.contains(&("redirect", "rewrite")), "{actions:?}");
    assert!(actions.contains(&("secret", "deny")), "{actions:?}");
    assert!(actions.contains(&("watch-getcwd", "log")), "{actions:?}");
    let deny = out.events.iter().find(|e| e["rule"] == "secret").unwrap();
    assert_eq!(deny["path"], format!("{d}/secret"));
    assert_eq!(deny["result"], -13);
    assert_eq!(deny["backend"], "seccomp");
    // Emulated calls ask for no event; the default action (allow) produces none.
    assert!(
        !actions
            .iter()
            .any(|(r, _)| *r == "fake-ppid" || *r == "default")
    );

    // kill with an event: the supervisor ends the process with SIGKILL.
    let out = sb.run(&["/bin/uname"]);
    assert_eq!(out.code, 128 + 9, "{out:?}");
    assert!(
        out.events
            .iter()
            .any(|e| e["rule"] == "no-uname" && e["action"] == "kill")
    );
    // kill without one: the kernel's filter does it (SIGSYS) and nobody hears of it.
    let out = sb.run(&["/bin/hostname", "rune-test"]);
    assert_eq!(out.code, 128 + 31, "{out:?}");
    assert!(out.events.is_empty(), "{out:?}");
}

#[test]
#[ignore = "needs root and a release rune-shim: run with make test"]
fn path_rules_cannot_be_dodged() {
    let sb = sandbox_with(deny_secret);
    let secret = sb.write("secret", "DENIED\n");
    let d = sb.dir.path().to_str().unwrap().to_owned();
    let tricks = program("tricks");
    let tricks = tricks.to_str().unwrap();
    // Positive control: natively, the tricks do reach the file.
    let native_out = native(&[tricks, secret.to_str().unwrap(), &d]);
    assert!(native_out.contains("dotdot ok DENIED"), "{native_out}");
    assert!(native_out.contains("hardlink ok DENIED"), "{native_out}");
    assert!(native_out.contains("exchange ok DENIED"), "{native_out}");
    assert!(native_out.contains("io_uring ok"), "{native_out}");
    assert!(native_out.contains("userns ok"), "{native_out}");
    std::fs::write(&secret, "DENIED\n").unwrap();
    let _ = std::fs::remove_file("/tmp/rune-hard");
    let out = sb.run(&[tricks, secret.to_str().unwrap(), &d]);
    assert_eq!(out.code, 0, "{out:?}");
    for name in [
        "open",
        "openat",
        "openat2",
        "creat",
        "dotdot",
        "slashes",
        "relative",
        "relative-dotdot",
        "dirfd",
        "proc-self-fd",
        "proc-self-root",
        "proc-pid-root",
        "symlink",
        "hardlink",
        "rename",
        "by-handle",
        "exchange",
        "io_uring",
        "device",
        "userns",
    ] {
        let line = out
            .stdout
            .lines()
            .find(|l| l.split(' ').next() == Some(name))
            .unwrap_or_else(|| panic!("no line for {name}: {out:?}"));
        assert!(!line.contains(" ok "), "{name} reached the file: {line}");
    }
    assert_eq!(
        std::fs::read_to_string(&secret).unwrap(),
        "DENIED\n",
        "creat truncated it"
    );
    assert!(secret.exists(), "renamed away");
}

fn counts(out: &str) -> (u64, u64) {
    let words: Vec<&str> = out.split_whitespace().collect();
    let get = |k: &str| {
        let i = words
            .iter()
            .position(|w| *w == k)
            .unwrap_or_else(|| panic!("{k} in {out}"));
        words[i + 1].parse::<u64>().unwrap()
    };
    (get("denied"), get("allowed"))
}

/// Natively the race program opens the denied file (the race is live); under the policy it
/// never does, and still opens the allowed one.
fn assert_race_is_live_but_never_won(sb: &Sandbox, argv: &[&str]) {
    let control = native(argv);
    let (native_denied, _) = counts(&control);
    assert!(
        native_denied > 0,
        "the race is not live without the policy: {control}"
    );
    let out = sb.run(argv);
    let (denied, allowed) = counts(&out.stdout);
    assert_eq!(denied, 0, "{out:?}");
    assert!(allowed > 0, "{out:?}");
}

#[test]
#[ignore = "needs root and a release rune-shim: run with make test"]
fn a_thread_swapping_the_path_buffer_never_opens_the_denied_file() {
    let sb = sandbox_with(deny_secret);
    // Same length, so the buffer always holds one whole name or the other.
    let public = sb.write("public", "ALLOWED\n");
    let secret = sb.write("secret", "DENIED\n");
    let prog = program("race_buffer");
    let argv = [
        prog.to_str().unwrap(),
        public.to_str().unwrap(),
        secret.to_str().unwrap(),
        "30000",
    ];
    assert_race_is_live_but_never_won(&sb, &argv);
}

#[test]
#[ignore = "needs root and a release rune-shim: run with make test"]
fn a_process_swapping_a_symlink_never_opens_the_denied_file() {
    let sb = sandbox_with(deny_secret);
    let public = sb.write("public", "ALLOWED\n");
    let secret = sb.write("secret", "DENIED\n");
    let link = sb.path("link");
    let prog = program("race_symlink");
    let argv = [
        prog.to_str().unwrap(),
        public.to_str().unwrap(),
        secret.to_str().unwrap(),
        link.to_str().unwrap(),
        "20000",
    ];
    assert_race_is_live_but_never_won(&sb, &argv);
}

#[test]
#[ignore = "needs root and a release rune-shim: run with make test"]
fn a_rewrite_acts_with_the_callers_rights() {
    let sb = sandbox_with(|d| {
        format!(
            r#"{{"runeVersion": 1, "defaultAction": "allow", "rules": [
            {{"syscalls": ["@open"], "match": {{"path": {{"exact": "{d}/public"}}}}, "action": "rewrite", "rewrite": {{"path": "{d}/rootonly"}}}},
            {{"syscalls": ["@open"], "match": {{"path": {{"exact": "{d}/new"}}}}, "action": "rewrite", "rewrite": {{"path": "{d}/created"}}}}]}}"#
        )
    });
    std::fs::set_permissions(sb.dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let rootonly = sb.write("rootonly", "ROOT ONLY\n");
    std::fs::set_permissions(&rootonly, std::fs::Permissions::from_mode(0o600)).unwrap();
    sb.write("public", "public\n");
    let d = sb.dir.path().display().to_string();
    let script = format!("cat {d}/public; umask 027; echo made > {d}/new; echo done");
    let out = sb.run(&[
        "/usr/bin/setpriv",
        "--reuid",
        "1000",
        "--regid",
        "1000",
        "--clear-groups",
        "/bin/sh",
        "-c",
        &script,
    ]);
    assert!(!out.stdout.contains("ROOT ONLY"), "{out:?}");
    assert!(out.stderr.contains("Permission denied"), "{out:?}");
    let created = std::fs::metadata(sb.path("created")).expect("created through the rewrite");
    assert_eq!((created.uid(), created.gid()), (1000, 1000));
    assert_eq!(created.mode() & 0o777, 0o640, "umask 027 on 0666");
    assert!(!sb.path("new").exists());
}

#[test]
#[ignore = "needs root and a release rune-shim: run with make test"]
fn killing_the_supervisor_fails_trapped_calls_closed() {
    let sb = sandbox_with(deny_secret);
    let public = sb.write("public", "ALLOWED\n");
    let go = sb.path("go");
    let prog = program("open_later");
    let mut child = sb
        .command(&[
            prog.to_str().unwrap(),
            public.to_str().unwrap(),
            go.to_str().unwrap(),
        ])
        .spawn()
        .expect("spawn rune-shim");
    // The supervisor is rune-shim itself; the program is its child.
    std::thread::sleep(Duration::from_millis(300));
    let sup = child.id() as i32;
    let program_pid = std::fs::read_to_string(format!("/proc/{sup}/task/{sup}/children"))
        .unwrap()
        .trim()
        .to_owned();
    assert!(!program_pid.is_empty());
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(sup), nix::sys::signal::SIGKILL).unwrap();
    let _ = child.wait();
    std::fs::write(&go, "").unwrap();
    let pid = nix::unistd::Pid::from_raw(program_pid.parse().unwrap());
    for _ in 0..500 {
        if !std::path::Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z"))
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = sb.outcome(0);
    for call in ["openat", "open", "openat2"] {
        assert!(
            out.stdout.contains(&format!("{call} 38")),
            "{call} did not fail with ENOSYS: {out:?}"
        );
    }
}

#[test]
#[ignore = "needs root and a release rune-shim: run with make test"]
fn a_refused_exec_says_why() {
    let sb = sandbox_with(|d| {
        format!(
            r#"{{"runeVersion": 1, "defaultAction": "allow", "rules": [
            {{"name": "no-exec-here", "syscalls": ["@exec"], "match": {{"path": {{"prefix": "{d}/evil"}}}}, "action": "deny", "errno": "EACCES"}}]}}"#
        )
    });
    std::fs::create_dir(sb.path("evil")).unwrap();
    let evil = sb.path("evil/binary");
    std::fs::copy("/bin/true", &evil).unwrap();
    let out = sb.run(&[evil.to_str().unwrap()]);
    assert_eq!(out.code, 126, "{out:?}");
    let e = &out.events[0];
    assert_eq!(
        (e["syscall"].as_str(), e["rule"].as_str()),
        (Some("execve"), Some("no-exec-here"))
    );
    assert_eq!(e["path"], evil.to_str().unwrap());
    // Elsewhere, exec works; and the kernel (Landlock) refuses the directory even when the
    // path the supervisor saw was another one (a symlink resolved only by the kernel).
    let link = sb.path("innocent");
    std::os::unix::fs::symlink(&evil, &link).unwrap();
    let script = format!("/bin/true && echo ok; {}; echo $?", link.display());
    let out = sb.run(&["/bin/sh", "-c", &script]);
    assert_eq!(out.stdout, "ok\n126\n", "{out:?}");
}

/// ARCHITECTURE.md §6, "never looser than OCI": a call the container's profile denies stays
/// denied when the Rune policy emulates it; a profile that cannot be read or compiled is named
/// and nothing runs.
#[test]
#[ignore = "needs root and a release rune-shim: run with make test"]
fn the_oci_profile_is_never_loosened() {
    let sb = sandbox_with(|_| {
        r#"{"runeVersion": 1, "defaultAction": "allow", "rules": [
        {"name": "fake-ppid", "syscalls": ["getppid"], "action": "emulate", "return": 4242}]}"#
            .to_owned()
    });
    let profile = sb.write(
        "config.json",
        r#"{"ociVersion": "1.0.2", "linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}}}"#,
    );
    let profile = profile.to_str().unwrap();
    let out = sb.run(&["/bin/sh", "-c", "echo $PPID"]);
    assert_eq!(out.stdout.trim(), "4242", "the emulation alone: {out:?}");
    let out = sb.run_with(
        &["--oci-seccomp", profile],
        &["/bin/sh", "-c", "echo $PPID"],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_ne!(
        out.stdout.trim(),
        "4242",
        "the profile's denial was loosened: {out:?}"
    );

    let marker = sb.path("ran");
    let touch = ["/bin/touch", marker.to_str().unwrap()];
    for (text, what) in [
        (
            r#"{"defaultAction": "SCMP_ACT_NOPE"}"#,
            "not an OCI seccomp profile",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"],
               "action": "SCMP_ACT_ERRNO", "args": [{"index": 9, "value": 0, "op": "SCMP_CMP_EQ"}]}]}"#,
            "syscalls[0]: argument index 9 is out of range",
        ),
    ] {
        let bad = sb.write("bad.json", text);
        let out = sb.run_with(&["--oci-seccomp", bad.to_str().unwrap()], &touch);
        assert_eq!(out.code, 125, "{out:?}");
        assert!(
            out.stderr.contains(bad.to_str().unwrap()) && out.stderr.contains(what),
            "{out:?}"
        );
        assert!(!marker.exists(), "the program ran under a bad profile");
    }
}
