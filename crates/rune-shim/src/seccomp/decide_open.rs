//! In the on-behalf helper: one open for a caller, from lookup to descriptor. The helper
//! finds the object, both policies decide on its path, a rewrite is looked up and decided
//! again, and only an allowed object is opened — all in one round trip from the supervisor
//! (each process switch costs more than the rest of the call).

use std::os::fd::OwnedFd;

use serde::{Deserialize, Serialize};

use super::helper::{Opened, Resolved};
use super::open::{Opener, Who};
use crate::handler::{Call, Decision, Policies, Source, Verdict};

/// The open as the caller asked for it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OpenCall {
    pub name: String,
    pub args: [u64; 6],
    pub path: Vec<u8>,
    pub flags: i32,
    pub mode: u32,
    pub resolve: u64,
}

/// What happened; the descriptor, when there is one, travels alongside.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OpenOutcome {
    /// `None` when the lookup failed before anything could be decided.
    pub decision: Option<(Decision, Source)>,
    pub path: Option<String>,
    pub rewritten: Option<String>,
    /// The errno the caller gets when nothing was opened and the decision did not say.
    pub errno: i32,
}

/// How many times a create is decided again when the directory changes under it.
const RETRIES: usize = 8;

/// The flags and mode a rewrite of integer arguments asks for.
fn rewritten_flags(name: &str, new: &Call, flags: i32, mode: u32) -> (i32, u32) {
    let (fi, mi) = match name {
        "open" => (1, 2),
        "openat" => (2, 3),
        "creat" => (usize::MAX, 1),
        _ => return (flags, mode),
    };
    let f = new.args.get(fi).map_or(flags, |v| *v as i32);
    let m = new.args.get(mi).map_or(mode, |v| *v as u32);
    (f, m)
}

fn failed(errno: i32, decision: Option<(Decision, Source)>, path: Option<String>) -> OpenOutcome {
    OpenOutcome {
        decision,
        path,
        rewritten: None,
        errno,
    }
}

impl Opener {
    pub fn serve_open(
        &mut self,
        policies: &Policies,
        who: &Who<'_>,
        fds: &[OwnedFd],
        c: &OpenCall,
    ) -> (OpenOutcome, Option<OwnedFd>) {
        let Some(root) = fds.first().and_then(|r| r.try_clone().ok()) else {
            return (failed(libc::EINVAL, None, None), None);
        };
        let Ok(root2) = root.try_clone() else {
            return (failed(libc::EMFILE, None, None), None);
        };
        let from_root = [root, root2];
        for _ in 0..RETRIES {
            let path = match self.resolve(who, fds, &c.path, c.flags, c.resolve) {
                Resolved::Object(p) | Resolved::Missing(p) => p,
                Resolved::Failed(e) => return (failed(e, None, None), None),
                Resolved::Named(_) => return (failed(libc::EIO, None, None), None),
            };
            let call = Call {
                name: c.name.clone(),
                args: c.args,
                paths: vec![path.clone()],
            };
            let (mut d, mut source) = policies.decide(&call);
            let (mut flags, mut mode) = (c.flags, c.mode);
            let mut rewritten = None;
            if let Verdict::Rewrite(new) = &d.verdict {
                let target = new.paths.first().cloned().unwrap_or_default();
                (flags, mode) = rewritten_flags(&c.name, new, flags, mode);
                // Looked up afresh from the caller's root; where it leads is decided again
                // (not rewritten again), so a rewrite cannot lead where the policies deny.
                match self.resolve(who, &from_root, target.as_bytes(), flags, 0) {
                    Resolved::Object(p) | Resolved::Missing(p) => {
                        let again = Call {
                            name: call.name.clone(),
                            args: new.args,
                            paths: vec![p.clone()],
                        };
                        let (d2, s2) = policies.decide(&again);
                        if matches!(
                            d2.verdict,
                            Verdict::Deny(_) | Verdict::Kill | Verdict::Emulate(_)
                        ) {
                            (d, source) = (d2, s2);
                        }
                        rewritten = Some(p);
                    }
                    Resolved::Failed(e) => {
                        return (failed(e, Some((d, source)), Some(path)), None);
                    }
                    Resolved::Named(_) => {
                        return (failed(libc::EIO, Some((d, source)), Some(path)), None);
                    }
                }
            }
            let outcome = |errno| OpenOutcome {
                decision: Some((d.clone(), source)),
                path: Some(path.clone()),
                rewritten: rewritten.clone(),
                errno,
            };
            if !matches!(
                d.verdict,
                Verdict::Allow | Verdict::Log | Verdict::Rewrite(_)
            ) {
                // Deny, kill or emulate: nothing is opened; the supervisor answers.
                return (outcome(0), None);
            }
            match self.open(who.creds, flags, mode) {
                Ok(fd) => return (outcome(0), Some(fd)),
                Err(Opened::Retry) => continue,
                Err(Opened::Failed(e)) => return (outcome(e), None),
                Err(Opened::Done) => return (outcome(libc::EIO), None),
            }
        }
        (failed(libc::EAGAIN, None, None), None)
    }
}
