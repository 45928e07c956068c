//! `policy explain`: for each rule, what enforces it on each backend (ARCHITECTURE.md §5),
//! and whether it can produce events. Calls the kernel decides inside a BPF filter never reach
//! user space and so produce no event: this is where a user learns which those are.

use std::fmt::Write as _;

use super::model::{Action, Policy, Rule};
use crate::syscalls;

fn has_path_match(rule: &Rule) -> bool {
    rule.matches.as_ref().is_some_and(|m| m.path.is_some())
}

fn is_exec(rule: &Rule) -> bool {
    rule.syscalls.iter().any(|s| s == "@exec")
}

/// Who enforces `rule` on the seccomp backend, and whether that produces events.
fn seccomp_mechanism(rule: &Rule) -> (String, &'static str) {
    let path = has_path_match(rule);
    let events = if rule.log || matches!(rule.action, Action::Log | Action::Deny | Action::Kill) {
        "events"
    } else {
        "no events"
    };
    match rule.action {
        Action::Deny | Action::Allow | Action::Kill if !path && !rule.log => (
            "kernel BPF (Rune's own filter)".into(),
            "no events (decided in the kernel)",
        ),
        Action::Deny if is_exec(rule) => {
            let p = rule.matches.as_ref().and_then(|m| m.path.as_ref());
            let kernel = if p.is_some_and(|p| p.prefix.is_some()) {
                "Landlock EXECUTE on everything beside the prefix"
            } else {
                "Landlock EXECUTE allow-list"
            };
            (
                format!("{kernel}; the supervisor refuses the execs it sees first"),
                "events (for the refusals the supervisor makes)",
            )
        }
        _ if path => {
            let guard = if matches!(rule.action, Action::Deny | Action::Kill) {
                "; links and renames of the file are made on behalf and refused, open_by_handle_at refused"
            } else {
                ""
            };
            (
                format!(
                    "the notify supervisor: on-behalf open of the object found, fd injected with ADDFD{guard}"
                ),
                events,
            )
        }
        Action::Emulate => (
            "the notify supervisor: answered without running the call".into(),
            events,
        ),
        _ => (
            "the notify supervisor: decided on the arguments, then continued or refused".into(),
            events,
        ),
    }
}

pub fn explain(policy: &Policy) -> String {
    let mut out = String::new();
    for (i, rule) in policy.rules.iter().enumerate() {
        let name = rule
            .name
            .as_deref()
            .map(|n| format!(" ({n:?})"))
            .unwrap_or_default();
        let calls: Vec<String> = rule
            .syscalls
            .iter()
            .map(|s| match syscalls::family(s) {
                Some(f) => format!("{s} = {}", f.members.join(", ")),
                None => s.clone(),
            })
            .collect();
        let (mech, events) = seccomp_mechanism(rule);
        let _ = writeln!(
            out,
            "rule {i}{name}: {:?} on {}",
            rule.action,
            calls.join("; ")
        );
        let _ = writeln!(out, "  seccomp backend: {mech}; {events}");
        let vs_events =
            if rule.log || matches!(rule.action, Action::Log | Action::Deny | Action::Kill) {
                "events"
            } else {
                "no events"
            };
        let _ = writeln!(
            out,
            "  vsmode backend:  the VS handler, in-process; {vs_events}"
        );
        let resolved = rule
            .matches
            .as_ref()
            .and_then(|m| m.path.as_ref())
            .map(|p| p.resolved.as_slice())
            .unwrap_or_default();
        if !resolved.is_empty() {
            let _ = writeln!(
                out,
                "  paths: behind the root's symlinks also {} (a call is decided on the real path of the object it reaches)",
                resolved.join(", ")
            );
        }
    }
    let _ = writeln!(out, "default: {:?}", policy.default_action);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::parse;

    #[test]
    fn names_the_mechanism_per_rule() {
        let p = parse(
            "t.json",
            r#"{"runeVersion": 1, "defaultAction": "allow", "rules": [
                {"syscalls": ["ptrace"], "action": "kill"},
                {"name": "shadow", "syscalls": ["@open"], "match": {"path": {"prefix": "/etc/shadow"}}, "action": "deny", "log": true},
                {"syscalls": ["@exec"], "match": {"path": {"prefix": "/tmp"}}, "action": "deny"},
                {"syscalls": ["@exec"], "match": {"path": {"notIn": ["/bin/busybox"]}}, "action": "deny"}]}"#,
            None,
        )
        .unwrap();
        let text = explain(&p);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[1],
            "  seccomp backend: kernel BPF (Rune's own filter); no events (decided in the kernel)"
        );
        assert!(
            lines[3]
                .starts_with("rule 1 (\"shadow\"): Deny on @open = open, openat, openat2, creat")
        );
        assert!(
            lines[4].starts_with("  seccomp backend: the notify supervisor: on-behalf open")
                && lines[4].contains("links and renames")
                && lines[4].ends_with("; events"),
            "{text}"
        );
        assert!(lines[7].contains("everything beside the prefix"), "{text}");
        assert!(lines[10].contains("Landlock EXECUTE allow-list"), "{text}");
    }
}
