//! The decision both backends share: which rule of a policy covers a call, and what the
//! administrator's and the container creator's policies decide together. Nothing here knows
//! about seccomp or VS-mode; it sees a call as its name, its six arguments and the paths the
//! backend has already resolved (and copied out of the caller's reach).

use super::matcher::{arg_matches, has_prefix, path_matches};
use super::policies::covers;
use crate::policy::Policy;
use crate::policy::model::{Action, DefaultAction, Rewrite, Rule, Which};
use crate::syscalls;

/// One system call as the handler sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Call {
    pub name: String,
    pub args: [u64; 6],
    /// The object(s) the call acts on, resolved inside the container: none, one, or two for
    /// link/rename/symlink (old, new).
    pub paths: Vec<String>,
}

impl Call {
    /// A call that names no object.
    pub fn named(name: &str, args: [u64; 6]) -> Self {
        Call {
            name: name.to_owned(),
            args,
            paths: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Verdict {
    Allow,
    Log,
    Emulate(i64),
    /// Run the call as this one instead.
    Rewrite(Call),
    Deny(i32),
    Kill,
}

impl Verdict {
    /// The action's name in events.
    pub fn action_name(&self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Log => "log",
            Verdict::Emulate(_) => "emulate",
            Verdict::Rewrite(_) => "rewrite",
            Verdict::Deny(_) => "deny",
            Verdict::Kill => "kill",
        }
    }

    /// kill > deny > emulate/rewrite > log > allow.
    pub fn strictness(&self) -> u8 {
        match self {
            Verdict::Allow => 0,
            Verdict::Log => 1,
            Verdict::Emulate(_) | Verdict::Rewrite(_) => 2,
            Verdict::Deny(_) => 3,
            Verdict::Kill => 4,
        }
    }
}

/// A verdict, the rule that gave it (`None`: the default action), and whether to emit an event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Decision {
    pub verdict: Verdict,
    pub rule: Option<usize>,
    pub log: bool,
}

pub(crate) const EPERM: i32 = 1;

fn matches(rule: &Rule, call: &Call) -> bool {
    let Some(m) = &rule.matches else {
        return true;
    };
    // For two-path calls the predicate holds if it holds for either path, so that a denied
    // file cannot be given a new name.
    let path_ok = m
        .path
        .as_ref()
        .is_none_or(|p| call.paths.iter().any(|path| path_matches(p, path)));
    path_ok && m.args.iter().all(|a| arg_matches(a, &call.args))
}

/// The call `rewrite` turns `call` into.
pub fn rewritten(rewrite: &Rewrite, call: &Call) -> Call {
    let mut out = call.clone();
    let slot = match rewrite.which {
        Some(Which::New) => 1,
        _ => 0,
    };
    if let Some(p) = &rewrite.path
        && let Some(target) = out.paths.get_mut(slot)
    {
        *target = p.clone();
    }
    if let Some(pp) = &rewrite.path_prefix {
        for (i, path) in out.paths.iter_mut().enumerate() {
            if (rewrite.which.is_none() || i == slot) && has_prefix(path, &pp.from) {
                let rest = &path[pp.from.trim_end_matches('/').len()..];
                *path = format!("{}{rest}", pp.to.trim_end_matches('/'));
            }
        }
    }
    for (k, v) in rewrite.args.iter().flatten() {
        if let Ok(i @ 0..=5) = k.parse::<usize>() {
            out.args[i] = *v;
        }
    }
    out
}

impl Policy {
    /// First matching rule wins; the default action covers the rest.
    pub fn decide(&self, call: &Call) -> Decision {
        for (i, rule) in self.rules.iter().enumerate() {
            if covers(rule, &call.name) && matches(rule, call) {
                let verdict = match rule.action {
                    Action::Allow => Verdict::Allow,
                    Action::Log => Verdict::Log,
                    Action::Deny => Verdict::Deny(
                        rule.errno
                            .as_deref()
                            .and_then(syscalls::errno)
                            .unwrap_or(EPERM),
                    ),
                    Action::Kill => Verdict::Kill,
                    Action::Emulate => Verdict::Emulate(rule.ret.unwrap_or(0)),
                    Action::Rewrite => match &rule.rewrite {
                        Some(rw) => Verdict::Rewrite(rewritten(rw, call)),
                        None => Verdict::Deny(EPERM),
                    },
                };
                let log = rule.log || rule.action == Action::Log;
                return Decision {
                    verdict,
                    rule: Some(i),
                    log,
                };
            }
        }
        let verdict = match self.default_action {
            DefaultAction::Allow => Verdict::Allow,
            DefaultAction::Log => Verdict::Log,
            DefaultAction::Deny => Verdict::Deny(EPERM),
            DefaultAction::Kill => Verdict::Kill,
        };
        let log = verdict == Verdict::Log;
        Decision {
            verdict,
            rule: None,
            log,
        }
    }
}

/// Which policy gave the final verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Source {
    None,
    Admin,
    Creator,
}

impl Source {
    /// Whose policy decided, in events: `admin`, `container`, or `rune` for Rune's own guards.
    pub fn label(self) -> &'static str {
        match self {
            Source::Admin => "admin",
            Source::Creator => "container",
            Source::None => "rune",
        }
    }
}

/// Both policies decide; the stricter verdict wins (the administrator's on a tie), and a call
/// the creator rewrites is decided again, with its new arguments, by the administrator's, so
/// that a rewrite cannot lead the creator around the administrator.
pub fn decide_both(
    admin: Option<&Policy>,
    creator: Option<&Policy>,
    call: &Call,
) -> (Decision, Source) {
    let allow = Decision {
        verdict: Verdict::Allow,
        rule: None,
        log: false,
    };
    let a = admin.map(|p| p.decide(call));
    let c = creator.map(|p| p.decide(call));
    match (a, c) {
        (None, None) => (allow, Source::None),
        (Some(a), None) => (a, Source::Admin),
        (None, Some(c)) => (c, Source::Creator),
        (Some(a), Some(c)) => {
            if a.verdict.strictness() >= c.verdict.strictness() {
                return (a, Source::Admin);
            }
            if let (Verdict::Rewrite(new_call), Some(admin)) = (&c.verdict, admin) {
                let again = admin.decide(new_call);
                // The administrator may forbid where the rewrite leads, or rewrite it further.
                if again.verdict.strictness() >= c.verdict.strictness() {
                    return (again, Source::Admin);
                }
            }
            (c, Source::Creator)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::parse;

    fn policy(rules: &str, default: &str) -> Policy {
        let text =
            format!(r#"{{"runeVersion": 1, "defaultAction": "{default}", "rules": [{rules}]}}"#);
        parse("t.json", &text, None).unwrap()
    }

    fn open(path: &str) -> Call {
        Call {
            name: "openat".into(),
            args: [0; 6],
            paths: vec![path.into()],
        }
    }

    #[test]
    fn first_match_wins_and_families_cover_siblings() {
        let p = policy(
            r#"{"syscalls": ["@open"], "match": {"path": {"prefix": "/etc/shadow"}}, "action": "deny", "errno": "EACCES", "log": true},
               {"syscalls": ["@open"], "action": "log"}"#,
            "allow",
        );
        for name in ["open", "openat", "openat2", "creat"] {
            let call = Call {
                name: name.into(),
                ..open("/etc/shadow")
            };
            assert_eq!(
                p.decide(&call),
                Decision {
                    verdict: Verdict::Deny(13),
                    rule: Some(0),
                    log: true
                }
            );
        }
        assert_eq!(p.decide(&open("/etc/shadowx")).verdict, Verdict::Log);
        let getpid = Call {
            name: "getpid".into(),
            args: [0; 6],
            paths: vec![],
        };
        assert_eq!(
            p.decide(&getpid),
            Decision {
                verdict: Verdict::Allow,
                rule: None,
                log: false
            }
        );
    }

    #[test]
    fn a_denied_file_cannot_be_given_a_new_name() {
        let p = policy(
            r#"{"syscalls": ["@link", "@rename"], "match": {"path": {"prefix": "/secret"}}, "action": "deny"}"#,
            "allow",
        );
        let link = Call {
            name: "linkat".into(),
            args: [0; 6],
            paths: vec!["/secret/a".into(), "/tmp/b".into()],
        };
        assert_eq!(p.decide(&link).verdict, Verdict::Deny(1));
    }

    #[test]
    fn rewrites() {
        let p = policy(
            r#"{"syscalls": ["@open"], "match": {"path": {"exact": "/data/foo.txt"}}, "action": "rewrite", "rewrite": {"path": "/data/bar.txt"}},
               {"syscalls": ["@open"], "match": {"path": {"prefix": "/old"}}, "action": "rewrite", "rewrite": {"pathPrefix": {"from": "/old", "to": "/new"}}},
               {"syscalls": ["@chmod"], "action": "rewrite", "rewrite": {"args": {"2": 420}}}"#,
            "allow",
        );
        assert_eq!(
            p.decide(&open("/data/foo.txt")).verdict,
            Verdict::Rewrite(open("/data/bar.txt"))
        );
        assert_eq!(
            p.decide(&open("/old/x/y")).verdict,
            Verdict::Rewrite(open("/new/x/y"))
        );
        let chmod = Call {
            name: "fchmodat".into(),
            args: [0, 0, 0o777, 0, 0, 0],
            paths: vec!["/f".into()],
        };
        let Verdict::Rewrite(new) = p.decide(&chmod).verdict else {
            panic!("not rewritten")
        };
        assert_eq!(new.args[2], 420);
    }

    #[test]
    fn the_stricter_policy_wins() {
        let admin = policy(r#"{"syscalls": ["ptrace"], "action": "kill"}"#, "allow");
        let creator = policy(
            r#"{"syscalls": ["ptrace"], "action": "allow"}, {"syscalls": ["getuid"], "action": "emulate", "return": 0}"#,
            "allow",
        );
        let call = |n: &str| Call {
            name: n.into(),
            args: [0; 6],
            paths: vec![],
        };
        let (d, src) = decide_both(Some(&admin), Some(&creator), &call("ptrace"));
        assert_eq!((d.verdict, src), (Verdict::Kill, Source::Admin));
        let (d, src) = decide_both(Some(&admin), Some(&creator), &call("getuid"));
        assert_eq!((d.verdict, src), (Verdict::Emulate(0), Source::Creator));
        assert_eq!(
            decide_both(None, None, &call("getuid")).0.verdict,
            Verdict::Allow
        );
    }

    #[test]
    fn a_rewrite_cannot_lead_around_the_administrator() {
        let admin = policy(
            r#"{"syscalls": ["@open"], "match": {"path": {"prefix": "/etc/shadow"}}, "action": "deny", "errno": "EACCES"}"#,
            "allow",
        );
        let creator = policy(
            r#"{"syscalls": ["@open"], "match": {"path": {"exact": "/tmp/innocent"}}, "action": "rewrite", "rewrite": {"path": "/etc/shadow"}}"#,
            "allow",
        );
        let (d, src) = decide_both(Some(&admin), Some(&creator), &open("/tmp/innocent"));
        assert_eq!((d.verdict, src), (Verdict::Deny(13), Source::Admin));
        // A rewrite to somewhere the administrator allows goes through.
        let creator = policy(
            r#"{"syscalls": ["@open"], "match": {"path": {"exact": "/tmp/a"}}, "action": "rewrite", "rewrite": {"path": "/tmp/b"}}"#,
            "allow",
        );
        let (d, src) = decide_both(Some(&admin), Some(&creator), &open("/tmp/a"));
        assert_eq!(
            (d.verdict, src),
            (Verdict::Rewrite(open("/tmp/b")), Source::Creator)
        );
    }
}
