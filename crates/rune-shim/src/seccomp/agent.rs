//! Who makes a call on a caller's behalf, and what making it means: the serving thread itself
//! for a caller in the supervisor's user namespace (no second hop, ARCHITECTURE.md §5), a
//! helper process in the caller's namespaces for the others. Both answer the same requests
//! with the same code (`answer`), so the two cannot mean different things.

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};

use super::helper::{Helper, Opened, Reply, Request, Resolved};
use super::open::{Opener, Who};
use crate::handler::Policies;
use crate::object::decide::OpenOutcome;

#[derive(Debug)]
pub(super) enum Agent<'a> {
    /// This thread, in the caller's namespaces but its user and mount ones (see `here`).
    Here(Opener<'a>, &'a Policies),
    Helper(&'a Helper),
}

impl Agent<'_> {
    /// One request. An error means a helper is gone (or out of step): the supervisor drops
    /// it and starts another.
    fn call(&mut self, req: &Request, fds: &[BorrowedFd<'_>]) -> io::Result<(Reply, Vec<OwnedFd>)> {
        match self {
            Agent::Here(opener, policies) => {
                let (reply, fd) = answer(opener, policies, req, fds);
                Ok((reply, fd.into_iter().collect()))
            }
            Agent::Helper(h) => h.call(req, fds),
        }
    }

    /// Serves an open: what was decided and, if it was opened, the descriptor.
    pub(super) fn open(
        &mut self,
        req: &Request,
        fds: &[BorrowedFd<'_>],
    ) -> io::Result<Result<(OpenOutcome, Option<OwnedFd>), i32>> {
        Ok(match self.call(req, fds)? {
            (Reply::Open(r), mut got) => Ok((r, got.pop())),
            _ => Err(libc::EIO),
        })
    }

    pub(super) fn resolve(
        &mut self,
        req: &Request,
        fds: &[BorrowedFd<'_>],
    ) -> io::Result<Resolved> {
        Ok(match self.call(req, fds)? {
            (Reply::Resolved(r), _) => r,
            _ => Resolved::Failed(libc::EIO),
        })
    }

    /// A link or rename after `Name` requests: `Ok(())` or the errno.
    pub(super) fn apply(&mut self, req: &Request) -> io::Result<Result<(), i32>> {
        Ok(match self.call(req, &[])? {
            (Reply::Applied(Opened::Done), _) => Ok(()),
            (Reply::Applied(Opened::Failed(e)), _) => Err(e),
            _ => Err(libc::EIO),
        })
    }
}

/// Answers one request with `opener`; the descriptors are those the request names (the
/// caller's root, then the directory a relative path starts from).
pub(super) fn answer(
    opener: &mut Opener<'_>,
    policies: &Policies,
    req: &Request,
    fds: &[BorrowedFd<'_>],
) -> (Reply, Option<OwnedFd>) {
    let answered = answer_in_place(opener, policies, req, fds);
    opener.rest();
    answered
}

/// `answer`, leaving the thread wherever the request took it.
fn answer_in_place(
    opener: &mut Opener<'_>,
    policies: &Policies,
    req: &Request,
    fds: &[BorrowedFd<'_>],
) -> (Reply, Option<OwnedFd>) {
    match req {
        Request::Open {
            creds,
            ns_pid,
            ns_tid,
            call,
        } => {
            let who = Who {
                creds,
                ns_pid: *ns_pid,
                ns_tid: *ns_tid,
            };
            let (outcome, fd) = opener.serve_open(policies, &who, fds, call);
            (Reply::Open(outcome), fd)
        }
        Request::Name {
            creds,
            ns_pid,
            ns_tid,
            path,
            slot,
            follow,
        } => {
            let who = Who {
                creds,
                ns_pid: *ns_pid,
                ns_tid: *ns_tid,
            };
            let r = opener.name(&who, fds, path, *slot, *follow);
            (Reply::Resolved(r), None)
        }
        Request::Link { creds } => (Reply::Applied(opener.link(creds)), None),
        Request::Rename { creds, flags } => (Reply::Applied(opener.rename(creds, *flags)), None),
    }
}
