//! The administrator's and the container creator's policies, taken together (ARCHITECTURE.md
//! §2): what both decide for a call, and what a backend must look at to decide it.

use super::decide::{Call, Decision, Source, decide_both};
use super::matcher::has_prefix;
use crate::policy::Policy;
use crate::policy::model::{Action, Rule};
use crate::syscalls;

/// How a call that reaches files without the path calls is answered while a path rule
/// holds.
#[derive(Debug, Clone, Copy)]
enum Guard {
    Fail(i32),
    /// Fails when its first argument has any of these flags.
    WithFlags(u64, i32),
}

const ENOSYS: i32 = 38;
const CLONE_NEWNS: u64 = 0x0002_0000;
const CLONE_NEWUSER: u64 = 0x1000_0000;

/// The ways to a file around the path calls (a family or a call): io_uring's opens never meet
/// seccomp (ENOSYS: libc falls back), a mount, a `pivot_root` or a new mount or user
/// namespace gives a file another name, `setns` enters one, and `clone3`'s flags are out of BPF's sight (ENOSYS:
/// libc falls back to `clone`).
const AROUND_PATHS: &[(&str, Guard)] = &[
    ("@io_uring", Guard::Fail(ENOSYS)),
    ("clone3", Guard::Fail(ENOSYS)),
    ("setns", Guard::Fail(super::decide::EPERM)),
    (
        "clone",
        Guard::WithFlags(CLONE_NEWNS | CLONE_NEWUSER, super::decide::EPERM),
    ),
    (
        "unshare",
        Guard::WithFlags(CLONE_NEWNS | CLONE_NEWUSER, super::decide::EPERM),
    ),
    ("@mount", Guard::Fail(super::decide::EPERM)),
    ("pivot_root", Guard::Fail(super::decide::EPERM)),
];

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

    /// Resolves both policies' paths inside the container's `root` (`Policy::resolve_paths`).
    pub fn resolve_paths(
        &mut self,
        root: std::os::fd::BorrowedFd<'_>,
    ) -> Result<Vec<crate::policy::resolve::Resolution>, crate::policy::resolve::ResolveError> {
        let mut out = Vec::new();
        for (label, p) in [
            ("--policy", &mut self.admin),
            ("annotation run.rune.policy", &mut self.creator),
        ] {
            if let Some(p) = p {
                out.extend(p.resolve_paths(label, root)?);
            }
        }
        Ok(out)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Policy> {
        self.admin.iter().chain(self.creator.iter())
    }

    pub fn decide(&self, call: &Call) -> (Decision, Source) {
        decide_both(self.admin.as_ref(), self.creator.as_ref(), call)
    }

    pub fn policy(&self, source: Source) -> Option<&Policy> {
        match source {
            Source::Admin => self.admin.as_ref(),
            Source::Creator => self.creator.as_ref(),
            Source::None => None,
        }
    }

    /// The rule that decided, in events: its name, `#N` for an unnamed one, or `default`.
    pub fn rule_label(&self, d: &Decision, source: Source) -> String {
        match d.rule {
            Some(i) => self
                .policy(source)
                .and_then(|p| p.rules.get(i))
                .and_then(|r| r.name.clone())
                .unwrap_or_else(|| format!("#{i}")),
            None => "default".to_owned(),
        }
    }

    /// The decision every call of `name` gets, whatever its arguments, when no rule covering
    /// it looks at arguments or paths: the VS-mode handler answers those without leaving
    /// VS-mode. `None` when the decision depends on the call.
    pub fn fixed_decision(&self, name: &str) -> Option<(Decision, Source)> {
        if self
            .iter()
            .flat_map(|p| &p.rules)
            .any(|r| covers(r, name) && r.matches.is_some())
        {
            return None;
        }
        Some(self.decide(&Call::named(name, [0; 6])))
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
                // A glob guards everything up to its first wildcard.
                let resolved_globs = p.resolved.iter().filter(|_| p.glob.is_some());
                let glob_roots: Vec<String> = p
                    .glob
                    .iter()
                    .chain(resolved_globs)
                    .map(|g| {
                        let fixed = g.split(['*', '?', '[']).next().unwrap_or_default();
                        fixed
                            .rsplit_once('/')
                            .map_or("/", |(dir, _)| dir)
                            .to_owned()
                    })
                    .collect();
                let below = p
                    .exact
                    .iter()
                    .chain(p.prefix.iter())
                    .chain(p.in_list.iter().flatten())
                    .chain(glob_roots.iter())
                    .chain(p.resolved.iter().filter(|_| p.glob.is_none()))
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

    /// While a path decides an open, the ways to reach a file that bypass the path calls are
    /// closed: io_uring (its opens never meet seccomp), mounts and new mount or user
    /// namespaces (another name for a file), `setns`, and `clone3`, whose flags seccomp cannot
    /// read (libc falls back to `clone`). Returns the errno, or `None` when the call may go on.
    pub fn path_guard(&self, name: &str, args: &[u64; 6]) -> Option<i32> {
        let guard = AROUND_PATHS.iter().find_map(|(what, g)| {
            let hit = match syscalls::family(what) {
                Some(f) => f.members.contains(&name),
                None => *what == name,
            };
            hit.then_some(*g)
        })?;
        if !self.needs_path("openat") && !self.guards_names() {
            // Exec rules alone: only a mount call could undo the noexec of a denied prefix
            // (a user namespace's copies of the mounts are locked).
            let mount = syscalls::family("@mount").is_some_and(|f| f.members.contains(&name));
            return (mount && self.limits_exec()).then_some(super::decide::EPERM);
        }
        match guard {
            Guard::Fail(e) => Some(e),
            Guard::WithFlags(flags, e) => (args[0] & flags != 0).then_some(e),
        }
    }

    /// Whether some rule limits what may be executed by path: then no memory file may be
    /// executable (`exec_rules`).
    pub fn limits_exec(&self) -> bool {
        !crate::exec_rules::layers(self).is_empty()
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
