//! Rune's own seccomp filter, compiled from the policies with libseccomp and exported as BPF
//! (it is installed with raw seccomp(2), see `sys`). What BPF can decide exactly stays in the
//! kernel; everything else goes to the supervisor (`SCMP_ACT_NOTIFY`), which then decides
//! with the same first-match semantics as the VS handler.

use std::io::{Read, Seek};

use libseccomp::{ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext};

use crate::handler::Policies;
use crate::handler::policies::covers;
use crate::policy::Policy;
use crate::policy::model::{Action, ArgMatch, CmpOp, DefaultAction};
use crate::syscalls::{self, Arch};

#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error("Rune's seccomp filter: this host's architecture is not supported")]
    Arch,
    #[error("Rune's seccomp filter: libseccomp: {0}")]
    Libseccomp(#[from] libseccomp::error::SeccompError),
    #[error("Rune's seccomp filter: exporting BPF: {0}")]
    Export(#[from] std::io::Error),
}

/// What the kernel does with one call.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Plan {
    Allow,
    Deny(i32),
    Kill,
    /// A kernel action when all the comparisons hold, the policy's default otherwise.
    When(Box<Plan>, Vec<ArgMatch>),
    /// A kernel action when any one of the comparisons holds, allow otherwise.
    WhenAny(Box<Plan>, Vec<ArgMatch>),
    Notify,
}

impl Plan {
    fn strictness(&self) -> u8 {
        match self {
            Plan::Allow => 0,
            Plan::Notify | Plan::When(..) | Plan::WhenAny(..) => 1,
            Plan::Deny(_) => 2,
            Plan::Kill => 3,
        }
    }
}

const EPERM: i32 = 1;

fn kernel_action(action: Action, errno: Option<&str>) -> Option<Plan> {
    match action {
        Action::Allow => Some(Plan::Allow),
        Action::Deny => Some(Plan::Deny(errno.and_then(syscalls::errno).unwrap_or(EPERM))),
        Action::Kill => Some(Plan::Kill),
        _ => None,
    }
}

fn default_plan(policy: &Policy) -> Plan {
    match policy.default_action {
        DefaultAction::Allow => Plan::Allow,
        DefaultAction::Deny => Plan::Deny(EPERM),
        DefaultAction::Kill => Plan::Kill,
        DefaultAction::Log => Plan::Notify,
    }
}

/// One policy's plan for call `name`: the first covering rule decides, in the kernel when it
/// needs no path, no event and at most one set of comparisons before the default.
fn plan_one(policy: &Policy, name: &str) -> Plan {
    let covering: Vec<_> = policy.rules.iter().filter(|r| covers(r, name)).collect();
    let Some(first) = covering.first() else {
        return default_plan(policy);
    };
    let Some(action) = kernel_action(first.action, first.errno.as_deref()).filter(|_| !first.log)
    else {
        return Plan::Notify;
    };
    match &first.matches {
        None => action,
        Some(m) if m.path.is_some() => Plan::Notify,
        Some(m) if m.args.is_empty() => action,
        Some(m) => {
            let fallback = default_plan(policy);
            if covering.len() == 1 && fallback != Plan::Notify {
                Plan::When(Box::new(action), m.args.clone())
            } else {
                Plan::Notify
            }
        }
    }
}

/// Both policies' plan: the stricter one; comparisons are left to the kernel only when the
/// other policy has nothing to say about the call.
fn plan(policies: &Policies, name: &str) -> Plan {
    let plans: Vec<Plan> = policies.iter().map(|p| plan_one(p, name)).collect();
    let mut plan = match plans.as_slice() {
        [] => Plan::Allow,
        [one] => one.clone(),
        // With two policies the kernel's fallback for a comparison would be the stricter
        // default, not the one the comparison's own policy has: user space decides.
        [a, b] => match (a, b) {
            (Plan::Kill, _) | (_, Plan::Kill) => Plan::Kill,
            (Plan::When(..), _) | (_, Plan::When(..)) => Plan::Notify,
            _ if a.strictness() >= b.strictness() => a.clone(),
            _ => b.clone(),
        },
        _ => unreachable!("at most two policies"),
    };
    // The hand-over: the process that installs the filter blocks in its execve until the
    // supervisor holds the listener (see `handoff`), so exec always reaches the supervisor.
    if plan == Plan::Allow && matches!(name, "execve" | "execveat") {
        plan = Plan::Notify;
    }
    if plan == Plan::Allow {
        match name {
            "clone" | "unshare"
                if policies
                    .path_guard(name, &[0x1002_0000, 0, 0, 0, 0, 0])
                    .is_some() =>
            {
                plan = Plan::WhenAny(Box::new(Plan::Deny(EPERM)), namespace_flags());
            }
            _ => {
                if let Some(e) = policies.path_guard(name, &[0; 6]) {
                    plan = Plan::Deny(e);
                }
            }
        }
    }
    if plan == Plan::Allow && name == "memfd_create" && policies.limits_exec() {
        plan = Plan::Notify;
    }
    if plan == Plan::Allow && policies.guards_names() {
        let guarded = syscalls::family("@link")
            .into_iter()
            .chain(syscalls::family("@rename"))
            .any(|f| f.members.contains(&name));
        if guarded || name == "open_by_handle_at" {
            plan = Plan::Notify;
        }
    }
    plan
}

/// `arg0 & CLONE_NEWUSER` and `arg0 & CLONE_NEWNS`, each set.
fn namespace_flags() -> Vec<ArgMatch> {
    [0x1000_0000u64, 0x0002_0000]
        .into_iter()
        .map(|flag| ArgMatch {
            index: 0,
            op: CmpOp::MaskedEq,
            value: flag,
            value_two: Some(flag),
        })
        .collect()
}

fn scmp(plan: &Plan) -> ScmpAction {
    match plan {
        Plan::Allow => ScmpAction::Allow,
        Plan::Deny(e) => ScmpAction::Errno(*e),
        Plan::Kill => ScmpAction::KillProcess,
        Plan::Notify | Plan::When(..) | Plan::WhenAny(..) => ScmpAction::Notify,
    }
}

fn compare(m: &ArgMatch) -> ScmpArgCompare {
    let (op, datum) = match m.op {
        CmpOp::Eq => (ScmpCompareOp::Equal, m.value),
        CmpOp::Ne => (ScmpCompareOp::NotEqual, m.value),
        CmpOp::Lt => (ScmpCompareOp::Less, m.value),
        CmpOp::Le => (ScmpCompareOp::LessOrEqual, m.value),
        CmpOp::Gt => (ScmpCompareOp::Greater, m.value),
        CmpOp::Ge => (ScmpCompareOp::GreaterEqual, m.value),
        CmpOp::MaskedEq => (
            ScmpCompareOp::MaskedEqual(m.value),
            m.value_two.unwrap_or_default(),
        ),
    };
    ScmpArgCompare::new(u32::from(m.index), op, datum)
}

/// Whether `policies` need Rune's filter at all and, if so, whether it notifies.
pub fn needs_supervisor(policies: &Policies) -> bool {
    Arch::native().is_some_and(|arch| {
        arch.calls()
            .iter()
            .any(|(name, _)| matches!(plan(policies, name), Plan::Notify))
    })
}

/// The BPF program of Rune's filter for this host's architecture.
pub fn compile(policies: &Policies) -> Result<Vec<libc::sock_filter>, CompileError> {
    let arch = Arch::native().ok_or(CompileError::Arch)?;
    let defaults: Vec<Plan> = policies.iter().map(default_plan).collect();
    let default = defaults
        .iter()
        .max_by_key(|p| p.strictness())
        .cloned()
        .unwrap_or(Plan::Allow);
    let mut ctx = ScmpFilterContext::new(scmp(&default))?;
    // Calls of another ABI (i386, x32) would dodge every rule: they end the process.
    ctx.set_act_badarch(ScmpAction::KillProcess)?;
    if ScmpArch::native() == ScmpArch::X8664 {
        ctx.remove_arch(ScmpArch::X32).ok();
    }
    for (name, nr) in arch.calls() {
        let p = plan(policies, name);
        let nr = i32::try_from(nr).unwrap_or(i32::MAX);
        match &p {
            Plan::When(action, args) if **action != default => {
                let cmps: Vec<ScmpArgCompare> = args.iter().map(compare).collect();
                ctx.add_rule_conditional_exact(scmp(action), nr, &cmps)?;
            }
            Plan::When(..) => {}
            // Comparisons whose fallback is allow: exact only where the filter allows by
            // default; elsewhere the supervisor applies the same guard.
            Plan::WhenAny(action, args) if default == Plan::Allow => {
                for a in args {
                    ctx.add_rule_conditional_exact(scmp(action), nr, &[compare(a)])?;
                }
            }
            Plan::WhenAny(..) => {
                ctx.add_rule_exact(ScmpAction::Notify, nr)?;
            }
            _ if p == default => {}
            _ => {
                ctx.add_rule_exact(scmp(&p), nr)?;
            }
        }
    }
    Ok(export(&ctx)?)
}

/// The BPF program of a libseccomp filter (through a file: libseccomp 2.5 has no in-memory
/// export).
pub fn export(ctx: &ScmpFilterContext) -> std::io::Result<Vec<libc::sock_filter>> {
    let mut file = tempfile::tempfile()?;
    ctx.export_bpf(&file).map_err(std::io::Error::other)?;
    file.rewind()?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(decode(&bytes))
}

/// A BPF program from its in-memory form (`struct sock_filter` after `struct sock_filter`),
/// as libseccomp exports it and as rune-run keeps it in the state directory for `exec`.
pub fn decode(bytes: &[u8]) -> Vec<libc::sock_filter> {
    bytes
        .chunks_exact(8)
        .map(|c| libc::sock_filter {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect()
}

pub fn encode(prog: &[libc::sock_filter]) -> Vec<u8> {
    prog.iter()
        .flat_map(|i| {
            let mut b = [0u8; 8];
            b[..2].copy_from_slice(&i.code.to_ne_bytes());
            b[2] = i.jt;
            b[3] = i.jf;
            b[4..].copy_from_slice(&i.k.to_ne_bytes());
            b
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::parse;

    fn policies(rules: &str, default: &str) -> Policies {
        let text =
            format!(r#"{{"runeVersion": 1, "defaultAction": "{default}", "rules": [{rules}]}}"#);
        Policies {
            admin: None,
            creator: Some(parse("t.json", &text, None).unwrap()),
        }
    }

    #[test]
    fn what_bpf_can_decide_stays_in_the_kernel() {
        let p = policies(
            r#"{"syscalls": ["ptrace"], "action": "kill"},
               {"syscalls": ["personality"], "match": {"args": [{"index": 0, "op": "SCMP_CMP_NE", "value": 0}]}, "action": "deny", "errno": "EINVAL"},
               {"syscalls": ["@open"], "match": {"path": {"prefix": "/etc/shadow"}}, "action": "deny"},
               {"syscalls": ["getuid"], "action": "emulate", "return": 0},
               {"syscalls": ["connect"], "action": "deny", "log": true}"#,
            "allow",
        );
        assert_eq!(plan(&p, "ptrace"), Plan::Kill);
        assert!(matches!(plan(&p, "personality"), Plan::When(..)));
        assert_eq!(plan(&p, "openat"), Plan::Notify);
        assert_eq!(plan(&p, "getuid"), Plan::Notify);
        // An event is asked for: only user space can write it.
        assert_eq!(plan(&p, "connect"), Plan::Notify);
        assert_eq!(plan(&p, "getpid"), Plan::Allow);
        // A denied path guards the other names of the file.
        assert_eq!(plan(&p, "linkat"), Plan::Notify);
        assert_eq!(plan(&p, "open_by_handle_at"), Plan::Notify);
        assert_eq!(plan(&p, "execve"), Plan::Notify);
        assert_eq!(plan(&p, "memfd_create"), Plan::Allow);
        assert!(!compile(&p).unwrap().is_empty());
        let exec = policies(
            r#"{"syscalls": ["@exec"], "match": {"path": {"prefix": "/tmp"}}, "action": "deny"}"#,
            "allow",
        );
        assert_eq!(plan(&exec, "memfd_create"), Plan::Notify);
    }

    #[test]
    fn the_stricter_policy_wins_in_the_kernel_too() {
        let mut p = policies(r#"{"syscalls": ["@mount"], "action": "allow"}"#, "allow");
        p.admin = policies(r#"{"syscalls": ["@mount"], "action": "deny"}"#, "allow").creator;
        assert_eq!(plan(&p, "mount"), Plan::Deny(1));
        p.admin = policies(r#"{"syscalls": ["@mount"], "action": "kill"}"#, "allow").creator;
        assert_eq!(plan(&p, "mount"), Plan::Kill);
    }
}
