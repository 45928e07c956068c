//! One open, from lookup to the object opened, the same for both backends: the object is
//! found, both policies decide on its real path, a rewrite target is looked up and decided
//! again by both (so where a rewrite really leads — through a symlink, say — gets the
//! administrator's verdict too, a further rewrite included), and only an allowed object is
//! opened. How a path is looked up and an object opened for the caller is the backend's
//! (`Finder`): the seccomp helper in the caller's root and as the caller, the VS handler
//! in-process.

use serde::{Deserialize, Serialize};

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

/// The flags and mode a rewrite of integer arguments asks for (where they are comes from
/// the system-call table; openat2 keeps them in memory, which a rewrite does not change).
fn rewritten_flags(name: &str, new: &Call, flags: i32, mode: u32) -> (i32, u32) {
    let Some(at) = crate::syscalls::table::entry(name).and_then(|e| e.open_args()) else {
        return (flags, mode);
    };
    let f = at.flags.map_or(flags, |i| new.args[i] as i32);
    let m = at.mode.map_or(mode, |i| new.args[i] as u32);
    (f, m)
}

impl OpenOutcome {
    /// Nothing decided: the open fails with `errno`.
    pub fn failed(errno: i32) -> OpenOutcome {
        failed(errno, None, None)
    }
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

/// Why nothing was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    Failed(i32),
    /// The directory changed under a create (a symlink appeared at the name): decide again.
    Retry,
    /// Opening would block (a FIFO without a reader, a file under a lease).
    Later,
}

/// What a backend provides to open for a caller.
pub trait Finder {
    type Fd;
    /// Looks `path` up as the caller's own open would (from the caller's root rather than its
    /// cwd or dirfd when `from_root`), keeps what it found, and returns its real path (or the
    /// path a create would make).
    fn find(
        &mut self,
        path: &[u8],
        flags: i32,
        resolve: u64,
        from_root: bool,
    ) -> Result<String, i32>;
    /// Opens what the last `find` kept; with `true` when the caller should get it only once
    /// a FIFO has a writer.
    fn open(&mut self, flags: i32, mode: u32) -> Result<(Self::Fd, bool), Failure>;
    /// Whether an `O_PATH` descriptor can reach the caller. Where it cannot, an `O_PATH` open
    /// allowed as it stands is not opened here at all (the backend lets the kernel make it:
    /// it grants no content, and every reopen of it is decided on its object).
    fn hands_o_path(&self) -> bool;
}

/// Decides and, where allowed, opens `c` for the caller.
pub fn decide_open<F: Finder>(
    policies: &Policies,
    finder: &mut F,
    c: &OpenCall,
) -> (OpenOutcome, Option<F::Fd>) {
    for _ in 0..RETRIES {
        let path = match finder.find(&c.path, c.flags, c.resolve, false) {
            Ok(p) => p,
            Err(e) => return (failed(e, None, None), None),
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
            let p = match finder.find(target.as_bytes(), flags, 0, true) {
                Ok(p) => p,
                Err(e) => return (failed(e, Some((d, source)), Some(path)), None),
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
                Verdict::Rewrite(further) if further.paths.first() == Some(&p) => Verdict::Allow,
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
        match finder.open(flags, mode) {
            Ok((fd, true)) => return (outcome(0, Some(Later::Writer)), Some(fd)),
            Ok((fd, false)) => return (outcome(0, None), Some(fd)),
            Err(Failure::Retry) => continue,
            Err(Failure::Later) => return (outcome(0, Some(Later::Retry)), None),
            Err(Failure::Failed(e)) => return (outcome(e, None), None),
        }
    }
    (failed(libc::EAGAIN, None, None), None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::parse;
    use std::collections::HashMap;

    /// Paths as a file system with symlinks would resolve them.
    struct Fake {
        links: HashMap<&'static str, &'static str>,
        opened: Vec<String>,
        last: String,
    }

    impl Finder for Fake {
        type Fd = String;
        fn find(&mut self, path: &[u8], _: i32, _: u64, _: bool) -> Result<String, i32> {
            let p = String::from_utf8_lossy(path).into_owned();
            self.last = self.links.get(p.as_str()).map_or(p, |t| (*t).to_owned());
            Ok(self.last.clone())
        }
        fn open(&mut self, _: i32, _: u32) -> Result<(String, bool), Failure> {
            self.opened.push(self.last.clone());
            Ok((self.last.clone(), false))
        }
        fn hands_o_path(&self) -> bool {
            false
        }
    }

    fn open(path: &str) -> OpenCall {
        OpenCall {
            name: "openat".into(),
            args: [0; 6],
            path: path.as_bytes().to_vec(),
            flags: 0,
            mode: 0,
            resolve: 0,
        }
    }

    fn policies(admin: &str, creator: &str) -> Policies {
        let p = |rules: &str| {
            let t =
                format!(r#"{{"runeVersion": 1, "defaultAction": "allow", "rules": [{rules}]}}"#);
            parse("t.json", &t, None).unwrap()
        };
        Policies {
            admin: Some(p(admin)),
            creator: Some(p(creator)),
        }
    }

    #[test]
    fn the_administrators_rewrite_of_the_object_reached_stands() {
        // The creator rewrites /etc/a to a symlink to the file the administrator rewrites.
        let p = policies(
            r#"{"syscalls": ["@open"], "match": {"path": {"exact": "/etc/b"}}, "action": "rewrite", "rewrite": {"path": "/etc/c"}}"#,
            r#"{"syscalls": ["@open"], "match": {"path": {"exact": "/etc/a"}}, "action": "rewrite", "rewrite": {"path": "/tmp/link"}}"#,
        );
        let mut f = Fake {
            links: HashMap::from([("/tmp/link", "/etc/b")]),
            opened: vec![],
            last: String::new(),
        };
        let (out, fd) = decide_open(&p, &mut f, &open("/etc/a"));
        assert_eq!(fd.as_deref(), Some("/etc/c"), "{out:?}");
        assert_eq!(out.rewritten.as_deref(), Some("/etc/c"));
        // A denial of the object reached stops it, whoever rewrote.
        let p = policies(
            r#"{"syscalls": ["@open"], "match": {"path": {"prefix": "/etc/b"}}, "action": "deny", "errno": "EACCES"}"#,
            r#"{"syscalls": ["@open"], "match": {"path": {"exact": "/etc/a"}}, "action": "rewrite", "rewrite": {"path": "/tmp/link"}}"#,
        );
        let (out, fd) = decide_open(&p, &mut f, &open("/etc/a"));
        assert_eq!(fd, None);
        assert_eq!(out.decision.unwrap().0.verdict, Verdict::Deny(13));
        assert_eq!(f.opened, ["/etc/c"], "nothing opened for the denied one");
    }

    #[test]
    fn a_rewrite_loop_ends_in_eloop() {
        let p = policies(
            r#"{"syscalls": ["@open"], "match": {"path": {"exact": "/x"}}, "action": "rewrite", "rewrite": {"path": "/y"}},
               {"syscalls": ["@open"], "match": {"path": {"exact": "/y"}}, "action": "rewrite", "rewrite": {"path": "/x"}}"#,
            "",
        );
        let mut f = Fake {
            links: HashMap::new(),
            opened: vec![],
            last: String::new(),
        };
        let (out, fd) = decide_open(&p, &mut f, &open("/x"));
        assert_eq!((fd, out.errno), (None, libc::ELOOP));
    }
}
