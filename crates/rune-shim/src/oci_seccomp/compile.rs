//! An OCI seccomp profile to BPF with libseccomp, the way runc and youki build the filter the
//! kernel runs: unknown syscall names are skipped, a rule whose conditions name one argument
//! twice becomes one rule per condition, SCMP_ACT_ERRNO defaults to EPERM.

use std::str::FromStr as _;

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction as Act, LinuxSeccompOperator as Op};

#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error("libseccomp: {0}")]
    Libseccomp(#[from] libseccomp::error::SeccompError),
    #[error("exporting BPF: {0}")]
    Export(#[from] std::io::Error),
    #[error("syscalls[{0}]: argument index {1} is out of range (0-5)")]
    ArgIndex(usize, usize),
}

fn action(act: Act, errno: Option<u32>, default_errno: Option<u32>) -> ScmpAction {
    let errno = errno.or(default_errno).unwrap_or(libc::EPERM as u32) as i32;
    match act {
        Act::ScmpActKill | Act::ScmpActKillThread => ScmpAction::KillThread,
        Act::ScmpActKillProcess => ScmpAction::KillProcess,
        Act::ScmpActTrap => ScmpAction::Trap,
        Act::ScmpActErrno => ScmpAction::Errno(errno),
        Act::ScmpActNotify => ScmpAction::Notify,
        Act::ScmpActTrace => ScmpAction::Trace(errno as u16),
        Act::ScmpActLog => ScmpAction::Log,
        Act::ScmpActAllow => ScmpAction::Allow,
    }
}

fn compare(index: u32, op: Op, value: u64, two: Option<u64>) -> ScmpArgCompare {
    let op = match op {
        Op::ScmpCmpNe => ScmpCompareOp::NotEqual,
        Op::ScmpCmpLt => ScmpCompareOp::Less,
        Op::ScmpCmpLe => ScmpCompareOp::LessOrEqual,
        Op::ScmpCmpEq => ScmpCompareOp::Equal,
        Op::ScmpCmpGe => ScmpCompareOp::GreaterEqual,
        Op::ScmpCmpGt => ScmpCompareOp::Greater,
        // OCI: value is the mask, valueTwo the datum.
        Op::ScmpCmpMaskedEq => ScmpCompareOp::MaskedEqual(value),
    };
    let datum = match op {
        ScmpCompareOp::MaskedEqual(_) => two.unwrap_or(0),
        _ => value,
    };
    ScmpArgCompare::new(index, op, datum)
}

pub fn compile(profile: &LinuxSeccomp) -> Result<Vec<libc::sock_filter>, CompileError> {
    let default_errno = profile.default_errno_ret();
    let default = action(profile.default_action(), None, default_errno);
    let mut ctx = ScmpFilterContext::new(default)?;
    for arch in profile.architectures().iter().flatten() {
        // Architectures libseccomp does not know here are skipped, as runc does.
        let name = serde_json::to_value(arch)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned));
        if let Some(arch) = name.and_then(|n| ScmpArch::from_str(&n).ok()) {
            ctx.add_arch(arch)?;
        }
    }
    for (i, rule) in profile.syscalls().iter().flatten().enumerate() {
        let act = action(rule.action(), rule.errno_ret(), default_errno);
        if act == default {
            continue;
        }
        let mut cmps = Vec::new();
        let mut indices = Vec::new();
        for a in rule.args().iter().flatten() {
            let index = u32::try_from(a.index())
                .ok()
                .filter(|&x| x < 6)
                .ok_or(CompileError::ArgIndex(i, a.index()))?;
            cmps.push(compare(index, a.op(), a.value(), a.value_two()));
            indices.push(index);
        }
        indices.sort_unstable();
        indices.dedup();
        let distinct = indices.len() == cmps.len();
        for name in rule.names() {
            let Ok(nr) = ScmpSyscall::from_name(name) else {
                continue;
            };
            if cmps.is_empty() {
                ctx.add_rule(act, nr)?;
            } else if distinct {
                ctx.add_rule_conditional(act, nr, &cmps)?;
            } else {
                for c in &cmps {
                    ctx.add_rule_conditional(act, nr, std::slice::from_ref(c))?;
                }
            }
        }
    }
    Ok(crate::seccomp::export(&ctx)?)
}

/// The calls the profile allows whatever their arguments: named only by rules that allow
/// them unconditionally, or named by no rule under a default that allows.
pub fn always_allowed(profile: &LinuxSeccomp) -> Vec<String> {
    let allows = |a: Act| matches!(a, Act::ScmpActAllow | Act::ScmpActLog);
    let rules = profile.syscalls().clone().unwrap_or_default();
    crate::syscalls::Arch::native()
        .map(|arch| {
            arch.calls()
                .into_iter()
                .map(|(name, _)| name.to_owned())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter()
        .filter(|name| {
            let naming: Vec<_> = rules.iter().filter(|r| r.names().contains(name)).collect();
            if naming.is_empty() {
                allows(profile.default_action())
            } else {
                naming
                    .iter()
                    .all(|r| allows(r.action()) && r.args().as_ref().is_none_or(Vec::is_empty))
            }
        })
        .collect()
}
