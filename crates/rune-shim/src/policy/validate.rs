//! Checks a parsed policy and names what is wrong: the file, the rule (index and name) and
//! the field. A rule a backend cannot enforce exactly as written is rejected for that backend,
//! never weakened (ARCHITECTURE.md §5).

use std::fmt;

use super::model::{Action, ArgMatch, CmpOp, PathPredicate, Policy, Rewrite, Rule};
use crate::syscalls::{self, Family, Paths};

/// The backends a policy can be checked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    Seccomp,
    Vsmode,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Seccomp => "seccomp",
            Backend::Vsmode => "vsmode",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("{file}: {msg}")]
    Parse { file: String, msg: String },
    #[error("{file}: {field}: {msg}")]
    Policy {
        file: String,
        field: &'static str,
        msg: String,
    },
    #[error("{file}: {rule}: {field}: {msg}")]
    Rule {
        file: String,
        rule: RuleRef,
        field: String,
        msg: String,
    },
}

/// "rule 2" or "rule 2 (\"shadow\")", counting from 0 as the JSON array does.
#[derive(Debug, Clone)]
pub struct RuleRef {
    pub index: usize,
    pub name: Option<String>,
}

impl fmt::Display for RuleRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(n) => write!(f, "rule {} ({n:?})", self.index),
            None => write!(f, "rule {}", self.index),
        }
    }
}

/// Parses and validates a policy file's text.
pub fn parse(file: &str, text: &str, backend: Option<Backend>) -> Result<Policy, PolicyError> {
    let policy: Policy = serde_json::from_str(text).map_err(|e| PolicyError::Parse {
        file: file.to_owned(),
        msg: format!(
            "line {} column {}: {}",
            e.line(),
            e.column(),
            strip_position(&e.to_string())
        ),
    })?;
    if policy.rune_version != 1 {
        return Err(PolicyError::Policy {
            file: file.to_owned(),
            field: "runeVersion",
            msg: format!("{} is not supported (only 1)", policy.rune_version),
        });
    }
    for (index, rule) in policy.rules.iter().enumerate() {
        check_rule(rule, backend).map_err(|(field, msg)| PolicyError::Rule {
            file: file.to_owned(),
            rule: RuleRef {
                index,
                name: rule.name.clone(),
            },
            field,
            msg,
        })?;
    }
    Ok(policy)
}

fn strip_position(msg: &str) -> String {
    msg.rfind(" at line ").map_or(msg, |i| &msg[..i]).to_owned()
}

type Problem = (String, String);

fn problem(field: &str, msg: impl Into<String>) -> Problem {
    (field.to_owned(), msg.into())
}

/// What the rule's `syscalls` name, resolved: each entry a family or a call outside any.
fn resolve(rule: &Rule) -> Result<Vec<Option<&'static Family>>, Problem> {
    if rule.syscalls.is_empty() {
        return Err(problem("syscalls", "must name at least one call or family"));
    }
    rule.syscalls
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let field = format!("syscalls[{i}]");
            if name.starts_with('@') {
                return syscalls::family(name)
                    .map(Some)
                    .ok_or_else(|| problem(&field, format!("unknown family {name:?}")));
            }
            if !syscalls::known(name) {
                return Err(problem(
                    &field,
                    format!("unknown system call {name:?} on x86_64, aarch64 and riscv64"),
                ));
            }
            if let Some(f) = syscalls::family_of(name) {
                return Err(problem(
                    &field,
                    format!(
                        "{name:?} has siblings a libc falls back to ({}): name the family {:?}",
                        f.members.join(", "),
                        f.name
                    ),
                ));
            }
            Ok(None)
        })
        .collect()
}

fn check_rule(rule: &Rule, backend: Option<Backend>) -> Result<(), Problem> {
    let targets = resolve(rule)?;
    let families: Vec<&Family> = targets.iter().flatten().copied().collect();
    let all_have_paths = targets.iter().all(|t| t.is_some_and(|f| f.paths.is_some()));
    let two_paths = families.iter().any(|f| f.paths == Some(Paths::Two));
    let is_exec = families.iter().any(|f| f.name == "@exec");

    if rule.errno.is_some() && rule.action != Action::Deny {
        return Err(problem("errno", "only a deny rule fails with an errno"));
    }
    if let Some(name) = &rule.errno
        && syscalls::errno(name).is_none()
    {
        return Err(problem("errno", format!("unknown errno {name:?}")));
    }
    match (rule.action, rule.ret) {
        (Action::Emulate, None) => {
            return Err(problem("return", "an emulate rule needs a return value"));
        }
        (Action::Emulate, Some(r)) if r < 0 => {
            return Err(problem(
                "return",
                format!("{r} is negative: to fail a call, use deny with an errno"),
            ));
        }
        (a, Some(_)) if a != Action::Emulate => {
            return Err(problem("return", "only an emulate rule returns a value"));
        }
        _ => {}
    }
    match (rule.action, &rule.rewrite) {
        (Action::Rewrite, None) => {
            return Err(problem("rewrite", "a rewrite rule needs a rewrite"));
        }
        (Action::Rewrite, Some(rw)) => check_rewrite(rw, all_have_paths, two_paths)?,
        (_, Some(_)) => return Err(problem("rewrite", "only a rewrite rule rewrites")),
        _ => {}
    }
    if let Some(m) = &rule.matches {
        if let Some(p) = &m.path {
            if !all_have_paths {
                return Err(problem(
                    "match.path",
                    "a path predicate needs calls with a path argument (a family such as @open), on every entry of syscalls",
                ));
            }
            check_path_predicate(p)?;
        }
        for (i, a) in m.args.iter().enumerate() {
            check_arg(a).map_err(|msg| problem(&format!("match.args[{i}]"), msg))?;
        }
    }
    if backend == Some(Backend::Seccomp) {
        check_seccomp(rule, is_exec, all_have_paths)?;
    }
    Ok(())
}

fn check_rewrite(rw: &Rewrite, paths: bool, two_paths: bool) -> Result<(), Problem> {
    let kinds = [
        rw.path.is_some(),
        rw.path_prefix.is_some(),
        rw.args.is_some(),
    ];
    if kinds.iter().filter(|k| **k).count() != 1 {
        return Err(problem(
            "rewrite",
            "exactly one of path, pathPrefix or args",
        ));
    }
    if (rw.path.is_some() || rw.path_prefix.is_some()) && !paths {
        return Err(problem(
            "rewrite",
            "a path rewrite needs calls with a path argument",
        ));
    }
    if two_paths && rw.args.is_none() && rw.which.is_none() {
        return Err(problem(
            "rewrite.which",
            "these calls take two paths: say \"old\" or \"new\"",
        ));
    }
    for p in rw
        .path
        .iter()
        .chain(rw.path_prefix.iter().flat_map(|p| [&p.from, &p.to]))
    {
        if !p.starts_with('/') {
            return Err(problem("rewrite", format!("{p:?} is not an absolute path")));
        }
    }
    for key in rw.args.iter().flat_map(|a| a.keys()) {
        if !matches!(key.parse::<u8>(), Ok(0..=5)) {
            return Err(problem(
                "rewrite.args",
                format!("{key:?} is not an argument index 0..5"),
            ));
        }
    }
    Ok(())
}

fn check_path_predicate(p: &PathPredicate) -> Result<(), Problem> {
    let singles = [
        ("exact", &p.exact),
        ("prefix", &p.prefix),
        ("glob", &p.glob),
    ];
    let lists = [("in", &p.in_list), ("notIn", &p.not_in)];
    let set = singles.iter().filter(|(_, v)| v.is_some()).count()
        + lists.iter().filter(|(_, v)| v.is_some()).count();
    if set != 1 {
        return Err(problem(
            "match.path",
            "exactly one of exact, prefix, glob, in, notIn",
        ));
    }
    let paths = singles
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (*k, v)))
        .chain(
            lists
                .iter()
                .flat_map(|(k, v)| v.iter().flatten().map(move |v| (*k, v))),
        );
    for (kind, path) in paths {
        if !path.starts_with('/') {
            return Err(problem(
                &format!("match.path.{kind}"),
                format!("{path:?} is not an absolute path"),
            ));
        }
    }
    Ok(())
}

fn check_arg(a: &ArgMatch) -> Result<(), String> {
    if a.index > 5 {
        return Err(format!("index {} is not an argument index 0..5", a.index));
    }
    if (a.op == CmpOp::MaskedEq) != a.value_two.is_some() {
        return Err("valueTwo goes with SCMP_CMP_MASKED_EQ, and only with it".to_owned());
    }
    Ok(())
}

/// What the seccomp backend cannot do exactly (§5): it acts from outside the caller, so it
/// cannot change the caller's own state with new integer arguments, cannot exec on someone's
/// behalf (and checking then continuing is a race), and cannot deny exec by an exact name or
/// a glob (only by prefix through a noexec mount, or by an allow-list through Landlock).
fn check_seccomp(rule: &Rule, is_exec: bool, paths: bool) -> Result<(), Problem> {
    let unenforceable = |msg: &str| {
        problem(
            "action",
            format!("the seccomp backend cannot enforce this: {msg}"),
        )
    };
    let own_caps = ["capset", "capget", "prctl"];
    if rule.action == Action::Emulate
        && rule.syscalls.iter().any(|s| own_caps.contains(&s.as_str()))
    {
        return Err(unenforceable(
            "emulating capset, capget or prctl would fake the capability drop that follows the install of Rune's filter",
        ));
    }
    if rule.action == Action::Rewrite
        && rule.rewrite.as_ref().is_some_and(|r| r.args.is_some())
        && !paths
    {
        return Err(unenforceable(
            "rewriting integer arguments needs the call made on the caller's behalf, which only works for path calls",
        ));
    }
    let on_path = rule.matches.as_ref().is_some_and(|m| m.path.is_some())
        || rule
            .rewrite
            .as_ref()
            .is_some_and(|r| r.path.is_some() || r.path_prefix.is_some());
    let opens_or_execs = rule.syscalls.iter().all(|s| {
        syscalls::family_of(s)
            .or_else(|| syscalls::family(s))
            .is_some_and(|f| f.name == "@open" || f.name == "@exec")
    });
    if on_path && !opens_or_execs {
        return Err(unenforceable(
            "path rules are made on the caller's behalf for @open and enforced by the kernel for @exec; other calls cannot be checked and then continued without a race",
        ));
    }
    if is_exec {
        if rule.action == Action::Rewrite {
            return Err(unenforceable(
                "execve cannot be performed on the caller's behalf",
            ));
        }
        let path = rule.matches.as_ref().and_then(|m| m.path.as_ref());
        if let Some(p) = path
            && (p.exact.is_some() || p.glob.is_some() || p.in_list.is_some())
            && rule.action == Action::Deny
        {
            return Err(unenforceable(
                "denying exec by exact name, glob or list (use prefix, or notIn for an allow-list: Landlock enforces those)",
            ));
        }
        if path.is_some() && matches!(rule.action, Action::Log | Action::Emulate) {
            return Err(unenforceable(
                "an exec checked in user space and then continued is a race",
            ));
        }
        if path.is_some() && rule.action == Action::Allow {
            return Err(unenforceable(
                "Landlock layers only add up: an exec allowed by path cannot be carved out of another exec rule (use notIn)",
            ));
        }
        if path.is_some() && rule.action == Action::Kill {
            return Err(unenforceable(
                "the kernel (Landlock) can only refuse an exec by path, not kill the caller: use deny",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(rules: &str, backend: Option<Backend>) -> Result<Policy, String> {
        let text = format!(r#"{{"runeVersion": 1, "defaultAction": "allow", "rules": [{rules}]}}"#);
        parse("p.json", &text, backend).map_err(|e| e.to_string())
    }

    #[test]
    fn the_architecture_example_is_valid_for_both_backends() {
        let rules = r#"
            {"name": "redirect-foo", "syscalls": ["@open"], "match": {"path": {"exact": "/data/foo.txt"}},
             "action": "rewrite", "rewrite": {"path": "/data/bar.txt"}, "log": true},
            {"name": "shadow", "syscalls": ["@open"], "match": {"path": {"prefix": "/etc/shadow"}}, "action": "deny", "errno": "EACCES", "log": true},
            {"name": "exec-allow", "syscalls": ["@exec"], "match": {"path": {"notIn": ["/bin/busybox", "/usr/bin/python3"]}}, "action": "deny"},
            {"syscalls": ["getuid", "geteuid"], "action": "emulate", "return": 0},
            {"syscalls": ["personality"], "match": {"args": [{"index": 0, "op": "SCMP_CMP_NE", "value": 0}]}, "action": "deny", "errno": "EINVAL"},
            {"syscalls": ["ptrace"], "action": "kill"},
            {"syscalls": ["connect"], "action": "log"}"#;
        for backend in [None, Some(Backend::Seccomp), Some(Backend::Vsmode)] {
            let p = check(rules, backend).unwrap();
            assert_eq!(p.rules.len(), 7);
        }
    }

    #[test]
    fn errors_name_file_rule_and_field() {
        let cases = [
            (
                r#"{"name": "x", "syscalls": ["opne"], "action": "deny"}"#,
                "p.json: rule 0 (\"x\"): syscalls[0]: unknown system call \"opne\"",
            ),
            (
                r#"{"syscalls": ["openat"], "action": "deny"}"#,
                "name the family \"@open\"",
            ),
            (
                r#"{"syscalls": ["@open"], "action": "deny", "errno": "EFOO"}"#,
                "rule 0: errno: unknown errno \"EFOO\"",
            ),
            (
                r#"{"syscalls": ["getpid"], "match": {"path": {"exact": "/x"}}, "action": "deny"}"#,
                "match.path: a path predicate needs",
            ),
            (
                r#"{"syscalls": ["getpid"], "action": "emulate", "return": -1}"#,
                "return: -1 is negative",
            ),
            (
                r#"{"syscalls": ["@rename"], "action": "rewrite", "rewrite": {"path": "/x"}}"#,
                "rewrite.which",
            ),
            (
                r#"{"syscalls": ["@open"], "match": {"path": {"exact": "x"}}, "action": "deny"}"#,
                "match.path.exact: \"x\" is not an absolute path",
            ),
            (
                r#"{"syscalls": ["@open"], "match": {"args": [{"index": 7, "op": "SCMP_CMP_EQ", "value": 1}]}, "action": "deny"}"#,
                "match.args[0]: index 7",
            ),
            (
                r#"{"syscalls": ["@open"], "action": "deny", "erno": "EPERM"}"#,
                "unknown field `erno`",
            ),
            (
                r#"{"syscalls": ["@open"], "match": {"args": [{"index": 1, "op": "EQ", "value": 1}]}, "action": "deny"}"#,
                "unknown variant `EQ`, expected one of `SCMP_CMP_EQ`",
            ),
        ];
        for (rule, want) in cases {
            let err = check(rule, None).unwrap_err();
            assert!(err.contains(want), "{rule}\n  got:  {err}\n  want: {want}");
        }
    }

    #[test]
    fn seccomp_rejects_what_it_cannot_enforce_exactly() {
        let cases = [
            r#"{"syscalls": ["mmap"], "action": "rewrite", "rewrite": {"args": {"2": 3}}}"#,
            r#"{"syscalls": ["@exec"], "match": {"path": {"exact": "/bin/x"}}, "action": "deny"}"#,
            r#"{"syscalls": ["@exec"], "match": {"path": {"prefix": "/tmp"}}, "action": "log"}"#,
            r#"{"syscalls": ["@exec"], "action": "rewrite", "rewrite": {"path": "/bin/true"}}"#,
            r#"{"syscalls": ["@exec"], "match": {"path": {"prefix": "/opt"}}, "action": "allow"}"#,
            r#"{"syscalls": ["@exec"], "match": {"path": {"prefix": "/tmp"}}, "action": "kill"}"#,
            r#"{"syscalls": ["@stat"], "match": {"path": {"prefix": "/etc"}}, "action": "deny"}"#,
        ];
        for rule in cases {
            let err = check(rule, Some(Backend::Seccomp)).unwrap_err();
            assert!(
                err.contains("the seccomp backend cannot enforce this"),
                "{rule}: {err}"
            );
            // The VS handler sees every call in-process and can.
            check(rule, Some(Backend::Vsmode)).unwrap();
        }
    }

    #[test]
    fn malformed_json_names_the_position() {
        let err = parse("p.json", "{\n \"runeVersion\": 1,\n oops}", None)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("p.json: line 3 column 2:"), "{err}");
    }
}
