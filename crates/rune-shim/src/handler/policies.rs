//! The administrator's and the container creator's policies, taken together (ARCHITECTURE.md
//! §2): what both decide for a call, and what a backend must look at to decide it.

use super::decide::{Call, Decision, Source, decide_both};
use super::matcher::has_prefix;
use crate::policy::Policy;
use crate::policy::model::{Action, Rule};
use crate::syscalls;

#[derive(Debug, Clone, Default)]
pub struct Policies {
    pub admin: Option<Policy>,
    pub creator: Option<Policy>,
}

pub(crate) fn covers(rule: &Rule, name: &str) -> bool {
    rule.syscalls.iter().any(|s| match syscalls::family(s) {
        Some(f) => f.members.contains(&name),
        None => s == name,
    })
}

fn uses_path(rule: &Rule) -> bool {
    rule.matches.as_ref().is_some_and(|m| m.path.is_some())
        || rule
            .rewrite
            .as_ref()
            .is_some_and(|r| r.path.is_some() || r.path_prefix.is_some())
}

impl Policies {
    pub fn is_empty(&self) -> bool {
        self.admin.is_none() && self.creator.is_none()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Policy> {
        self.admin.iter().chain(self.creator.iter())
    }

    pub fn decide(&self, call: &Call) -> (Decision, Source) {
        decide_both(self.admin.as_ref(), self.creator.as_ref(), call)
    }

    /// Whether deciding `name` needs the object it acts on: then the call is made on the
    /// caller's behalf, never continued after a check.
    pub fn needs_path(&self, name: &str) -> bool {
        self.iter()
            .flat_map(|p| &p.rules)
            .any(|r| covers(r, name) && uses_path(r))
    }

    /// Whether giving `path` another name (a hard link, a rename) would let a file that the
    /// policies deny opening be reached by a name they allow: `path` itself is denied, or a
    /// denied exact or prefix path lies below it.
    pub fn guards(&self, path: &str) -> Option<(Decision, Source)> {
        let open = Call {
            name: "openat".into(),
            args: [0; 6],
            paths: vec![path.to_owned()],
        };
        let (d, s) = self.decide(&open);
        if matches!(d.verdict, super::Verdict::Deny(_) | super::Verdict::Kill) {
            return Some((d, s));
        }
        for (policy, source) in [
            (self.admin.as_ref(), Source::Admin),
            (self.creator.as_ref(), Source::Creator),
        ] {
            let Some(policy) = policy else { continue };
            for (i, r) in policy.rules.iter().enumerate() {
                let Some(p) = r.matches.as_ref().and_then(|m| m.path.as_ref()) else {
                    continue;
                };
                if !covers(r, "openat") || !matches!(r.action, Action::Deny | Action::Kill) {
                    continue;
                }
                let below = p
                    .exact
                    .iter()
                    .chain(p.prefix.iter())
                    .chain(p.in_list.iter().flatten())
                    .any(|denied| has_prefix(denied, path));
                if below {
                    let d = Decision {
                        verdict: super::Verdict::Deny(super::decide::EPERM),
                        rule: Some(i),
                        log: true,
                    };
                    return Some((d, source));
                }
            }
        }
        None
    }

    /// Whether some rule denies opening files by path. Then a file must not be reachable by
    /// another name or by handle: renames and links of a denied file and `open_by_handle_at`
    /// are guarded too.
    pub fn guards_names(&self) -> bool {
        self.iter().flat_map(|p| &p.rules).any(|r| {
            covers(r, "openat")
                && r.matches.as_ref().is_some_and(|m| m.path.is_some())
                && matches!(r.action, Action::Deny | Action::Kill)
        })
    }
}
