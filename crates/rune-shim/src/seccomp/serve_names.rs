//! Links and renames while a policy denies opening some path: a file must not be reachable by
//! a new name the policy allows (ARCHITECTURE.md §3). Both are made on the caller's behalf:
//! its agent finds the object at the old name, the policies are asked whether that object
//! (or anything below it, for a directory) is denied, and only then is exactly that name
//! linked or renamed.

use std::os::fd::{AsFd, BorrowedFd};

use super::agent::Agent;
use super::caller::{self, Caller};
use super::helper::{Request, Resolved};
use super::here::Here;
use super::serve::{Answer, Answered, Reply};
use super::supervisor::Server;
use super::sys::{self, Notif};
use crate::handler::{Call, Verdict};
use crate::object::names::{Names, names};

impl Server {
    pub(super) fn serve_names(
        &self,
        listener: BorrowedFd<'_>,
        n: &Notif,
        name: &str,
        here: Option<&mut Here>,
    ) -> Answered {
        let call = Call {
            name: name.into(),
            args: n.args,
            paths: vec![],
        };
        let (d, source) = self.cfg.policies.decide(&call);
        if !matches!(d.verdict, Verdict::Allow | Verdict::Log) {
            return self.answer(listener, n, &call, &d, source, None, "");
        }
        let Some(spec) = names(name, n.args) else {
            return self.refuse(
                listener,
                n,
                libc::EPERM,
                "guard: no link by descriptor while a path is denied",
            );
        };
        // One agent for the whole of it: it keeps the names found for the link or rename.
        let result = caller::ProcDir::open(n.tid).and_then(|proc| {
            let ours = proc.in_our_user_namespace()?;
            self.with_agent((n.tid, &proc, ours), here, |a| {
                self.link_or_rename(listener, n, &call, &spec, (&proc, ours), a)
            })
        });
        match result {
            Ok(Ok(object)) => {
                let answered = self.reply(listener, n, Reply::Value(0));
                if d.log {
                    self.event(
                        n,
                        &call,
                        &d,
                        source,
                        (Some(&object), None),
                        answered.answer(),
                        "",
                    );
                }
                answered
            }
            Ok(Err((e, _))) => self.reply(listener, n, Reply::Error(e)),
            Err(e) => self.reply(
                listener,
                n,
                Reply::Error(e.raw_os_error().unwrap_or(libc::EIO)),
            ),
        }
    }

    /// The names of a link or rename found by agent `h`, the policies asked about the
    /// object they name, then the call made there: the object's path, or the errno.
    fn link_or_rename(
        &self,
        listener: BorrowedFd<'_>,
        n: &Notif,
        call: &Call,
        spec: &Names,
        (proc, ours): (&caller::ProcDir, bool),
        h: &mut Agent<'_>,
    ) -> std::io::Result<Result<String, (i32, Option<String>)>> {
        let who = Caller::read(proc, ours)?;
        let root = proc.fd("root")?;
        let mut found = None;
        let mut exchanged = None;
        for (slot, (dirfd, addr)) in [spec.old, spec.new].into_iter().enumerate() {
            let path = caller::read_path(n.tid, addr)?;
            let base = caller::base_dir(proc, &who, dirfd)?;
            if !sys::notif_id_valid(listener, n.id) {
                return Ok(Err((libc::ESRCH, None)));
            }
            let req = Request::Name {
                creds: who.creds.clone(),
                ns_pid: who.ns_pid,
                ns_tid: who.ns_tid,
                path,
                slot,
                follow: slot == 0 && spec.follow,
            };
            match h.resolve(&req, &[root.as_fd(), base.as_fd()])? {
                Resolved::Named(Some(p)) if slot == 0 => found = Some(p),
                Resolved::Named(p) if slot == 1 => exchanged = p,
                Resolved::Failed(e) => return Ok(Err((e, None))),
                _ => return Ok(Err((libc::ENOENT, None))),
            }
        }
        let object = found.unwrap_or_default();
        // With RENAME_EXCHANGE the object at the new name moves to the old one.
        let swapped = (spec.flags & libc::RENAME_EXCHANGE != 0)
            .then_some(exchanged)
            .flatten();
        let guarded = std::iter::once(&object)
            .chain(swapped.as_ref())
            .find_map(|o| self.cfg.policies.guards(o).map(|g| (g, o.clone())));
        if let Some(((d, s), object)) = guarded {
            let e = match d.verdict {
                Verdict::Deny(e) => e,
                _ => libc::EPERM,
            };
            self.event(n, call, &d, s, (Some(&object), None), Answer::Failed(e), "");
            return Ok(Err((e, Some(object))));
        }
        let req = if call.name.starts_with("link") {
            Request::Link {
                creds: who.creds.clone(),
            }
        } else {
            Request::Rename {
                creds: who.creds.clone(),
                flags: spec.flags,
            }
        };
        Ok(h.apply(&req)?.map(|()| object).map_err(|e| (e, None)))
    }
}
