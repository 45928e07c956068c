//! `rune-shim policy check` as a user runs it: exit status and the message on stderr.

use std::process::Command;

fn check(policy: &str, backend: Option<&str>) -> (bool, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.json");
    std::fs::write(&file, policy).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rune-shim"));
    cmd.args(["policy", "check"]).arg(&file);
    if let Some(b) = backend {
        cmd.args(["--backend", b]);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).replace(&file.display().to_string(), "FILE"),
    )
}

#[test]
fn valid_policy_passes() {
    let (ok, stdout, _) = check(
        r#"{"runeVersion": 1, "defaultAction": "allow", "rules": [
            {"name": "shadow", "syscalls": ["@open"], "match": {"path": {"prefix": "/etc/shadow"}},
             "action": "deny", "errno": "EACCES"}]}"#,
        Some("seccomp"),
    );
    assert!(ok);
    assert!(stdout.ends_with(": ok (1 rules)\n"), "{stdout}");
}

#[test]
fn unenforceable_rule_fails_naming_rule_and_backend() {
    let policy = r#"{"runeVersion": 1, "defaultAction": "allow", "rules": [
        {"name": "no-true", "syscalls": ["@exec"], "match": {"path": {"exact": "/bin/true"}}, "action": "deny"}]}"#;
    let (ok, _, stderr) = check(policy, Some("seccomp"));
    assert!(!ok);
    assert!(
        stderr.starts_with(
            "rune-shim: FILE: rule 0 (\"no-true\"): action: the seccomp backend cannot enforce this"
        ),
        "{stderr}"
    );
    assert!(check(policy, Some("vsmode")).0);
}

#[test]
fn missing_file_is_named() {
    let out = Command::new(env!("CARGO_BIN_EXE_rune-shim"))
        .args(["policy", "check", "/nonexistent/p.json"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/p.json: No such file"));
}

#[test]
fn the_shipped_demo_policy_is_valid_for_both_backends() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../hack/policies/demo.json"
    ))
    .unwrap();
    for backend in ["seccomp", "vsmode"] {
        let (ok, _, stderr) = check(&text, Some(backend));
        assert!(ok, "{backend}: {stderr}");
    }
}
