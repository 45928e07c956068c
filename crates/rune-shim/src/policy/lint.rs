//! Warnings about policies that are valid and enforced as written, but whose effect is
//! likely not what their author meant.

use super::Policy;
use crate::handler::Decision;
use crate::handler::{Call, Verdict};

/// Ids a program reads in pairs: emulating one without the other shows it a mismatch.
const PAIRS: [(&str, &str); 2] = [("getuid", "geteuid"), ("getgid", "getegid")];

/// One line per warning, naming the calls and why.
pub fn warnings(policy: &Policy) -> Vec<String> {
    let emulated = |name: &str| match policy.decide(&Call::named(name, [0; 6])) {
        Decision {
            verdict: Verdict::Emulate(v),
            ..
        } => Some(v),
        _ => None,
    };
    let mut out = Vec::new();
    for (real, effective) in PAIRS {
        let (a, b) = (emulated(real), emulated(effective));
        if a == b {
            continue;
        }
        let say =
            |v: Option<i64>| v.map_or("is not emulated".to_owned(), |v| format!("returns {v}"));
        out.push(format!(
            "{real} {} but {effective} {}: a shell that sees them differ calls \
             set{}(get{}()), which with CAP_SETUID/CAP_SETGID really changes the process's ids; \
             emulate both with the same value",
            say(a),
            say(b),
            &real[3..],
            &real[3..],
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::parse;

    fn policy(rules: &str) -> Policy {
        let text = format!(r#"{{"runeVersion": 1, "defaultAction": "allow", "rules": [{rules}]}}"#);
        parse("t.json", &text, None).unwrap()
    }

    #[test]
    fn a_lone_getuid_emulation_is_warned_about() {
        let w = warnings(&policy(
            r#"{"syscalls": ["getuid"], "action": "emulate", "return": 0}"#,
        ));
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].starts_with("getuid returns 0 but geteuid is not emulated"),
            "{w:?}"
        );
        assert!(w[0].contains("setuid(getuid())"), "{w:?}");
        let both =
            policy(r#"{"syscalls": ["getuid", "geteuid"], "action": "emulate", "return": 0}"#);
        assert!(warnings(&both).is_empty());
        let differ = policy(
            r#"{"syscalls": ["getegid"], "action": "emulate", "return": 5},
               {"syscalls": ["getgid"], "action": "emulate", "return": 6}"#,
        );
        assert_eq!(warnings(&differ).len(), 1);
    }
}
