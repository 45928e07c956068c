//! In the on-behalf helper: one open for a caller, from lookup to descriptor. The helper
//! finds the object, both policies decide on its path, a rewrite target is looked up and
//! decided again by both (so where a rewrite really leads — through a symlink, say — gets
//! the administrator's verdict too, a further rewrite included), and only an allowed object
//! is opened — all in one round trip from the supervisor (each process switch costs more
//! than the rest of the call).

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
    /// Opening would block: asked again later, or (with the descriptor) handed over once a
    /// FIFO has a writer.
    pub later: Option<Later>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Later {
    /// Nothing opened yet: serve the call again in a while.
    Retry,
    /// The descriptor alongside, once it is readable or its writers have come and gone.
    Writer,
}

/// How many times a create is decided again when the directory changes under it.
const RETRIES: usize = 8;
/// How many rewrites one open may go through (a rewrite of a rewrite target, …) before it is
/// refused as a loop.
const MAX_REWRITES: usize = 4;

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
        later: None,
    }
}

fn stops(v: &Verdict) -> bool {
    matches!(v, Verdict::Deny(_) | Verdict::Kill | Verdict::Emulate(_))
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
            let mut next = d.verdict.clone();
            let mut hops = 0;
            while let Verdict::Rewrite(new) = next {
                hops += 1;
                if hops > MAX_REWRITES {
                    return (failed(libc::ELOOP, Some((d, source)), Some(path)), None);
                }
                let target = new.paths.first().cloned().unwrap_or_default();
                (flags, mode) = rewritten_flags(&c.name, &new, flags, mode);
                // Looked up afresh from the caller's root; where it leads is decided again by
                // both policies, as if the caller had opened it.
                let p = match self.resolve(who, &from_root, target.as_bytes(), flags, 0) {
                    Resolved::Object(p) | Resolved::Missing(p) => p,
                    Resolved::Failed(e) => {
                        return (failed(e, Some((d, source)), Some(path)), None);
                    }
                    Resolved::Named(_) => {
                        return (failed(libc::EIO, Some((d, source)), Some(path)), None);
                    }
                };
                let again = Call {
                    name: call.name.clone(),
                    args: new.args,
                    paths: vec![p.clone()],
                };
                let (d2, s2) = policies.decide(&again);
                rewritten = Some(p.clone());
                if stops(&d2.verdict) {
                    (d, source) = (d2, s2);
                    break;
                }
                next = match d2.verdict {
                    // A rewrite that leads to itself is where it ends.
                    Verdict::Rewrite(further) if further.paths.first() == Some(&p) => {
                        Verdict::Allow
                    }
                    v => v,
                };
            }
            let outcome = |errno, later| OpenOutcome {
                decision: Some((d.clone(), source)),
                path: Some(path.clone()),
                rewritten: rewritten.clone(),
                errno,
                later,
            };
            if stops(&d.verdict) {
                // Deny, kill or emulate: nothing is opened; the supervisor answers.
                return (outcome(0, None), None);
            }
            match self.open(who.creds, flags, mode) {
                Ok(o) if o.wait_for_writer => return (outcome(0, Some(Later::Writer)), Some(o.fd)),
                Ok(o) => return (outcome(0, None), Some(o.fd)),
                Err(Opened::Retry) => continue,
                Err(Opened::Later) => return (outcome(0, Some(Later::Retry)), None),
                Err(Opened::Failed(e)) => return (outcome(e, None), None),
                Err(Opened::Done) => return (outcome(libc::EIO, None), None),
            }
        }
        (failed(libc::EAGAIN, None, None), None)
    }
}
