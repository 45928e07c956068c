//! `open`, `openat`, `openat2` and `creat` made on the caller's behalf: the path is copied out
//! of the caller once; the helper finds the object it names inside the caller's root, decides
//! on that object's path and opens only what is allowed (`decide_open`); the descriptor is
//! installed in the caller with `SECCOMP_IOCTL_NOTIF_ADDFD` + `SEND`. Nothing is ever
//! continued after a check.

use std::os::fd::{AsFd, BorrowedFd};

use super::caller::{self, Caller};
use super::helper::Request;
use super::serve::{Deferred, LaterEvent, Reply, Served, Wait};
use super::supervisor::Server;
use super::sys::{self, Notif};
use crate::handler::{Call, Verdict};
use crate::object::decide::Later;
use crate::object::decide::OpenCall;

fn read_call(name: &str, n: &Notif) -> std::io::Result<(i32, OpenCall)> {
    let a = n.args;
    let path = |i: usize| caller::read_path(n.tid, a[i]);
    let call = |path, flags, mode, resolve| OpenCall {
        name: name.to_owned(),
        args: a,
        path,
        flags,
        mode,
        resolve,
    };
    Ok(match name {
        "open" => (libc::AT_FDCWD, call(path(0)?, a[1] as i32, a[2] as u32, 0)),
        "creat" => (
            libc::AT_FDCWD,
            call(
                path(0)?,
                libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC,
                a[1] as u32,
                0,
            ),
        ),
        "openat" => (a[0] as i32, call(path(1)?, a[2] as i32, a[3] as u32, 0)),
        _ => {
            // struct open_how { u64 flags; u64 mode; u64 resolve; }, at least 24 bytes.
            if a[3] < 24 {
                return Err(std::io::Error::from_raw_os_error(libc::EINVAL));
            }
            let how = caller::read_bytes(n.tid, a[2], 24)?;
            let word =
                |i: usize| u64::from_ne_bytes(how[i * 8..i * 8 + 8].try_into().unwrap_or_default());
            (
                a[0] as i32,
                call(path(1)?, word(0) as i32, word(1) as u32, word(2)),
            )
        }
    })
}

fn errno_of(e: &std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc::EIO)
}

impl Server {
    pub(super) fn serve_open(&mut self, listener: BorrowedFd<'_>, n: &Notif, name: &str) -> Served {
        let prepared = read_call(name, n).and_then(|(dirfd, call)| {
            let who = Caller::read(n.tid)?;
            let (root, base) = (
                caller::proc_fd(n.tid, "root")?,
                caller::base_dir(n.tid, dirfd)?,
            );
            Ok((call, who, root, base))
        });
        let (open_call, who, root, base) = match prepared {
            Ok(p) => p,
            Err(e) => return Served::from(self.reply(listener, n, Reply::Error(errno_of(&e)))),
        };
        // Everything read from /proc/TID above belongs to the caller only if it still waits.
        if !sys::notif_id_valid(listener, n.id) {
            return Served::from(self.reply(listener, n, Reply::Error(libc::ESRCH)));
        }
        let flags = open_call.flags;
        let req = Request::Open {
            creds: who.creds.clone(),
            ns_pid: who.ns_pid,
            ns_tid: who.ns_tid,
            call: open_call,
        };
        let served = self.with_helper(n.tid, |h| h.open(&req, &[root.as_fd(), base.as_fd()]));
        let (outcome, fd) = match served {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => return Served::from(self.reply(listener, n, Reply::Error(e))),
            Err(e) => return Served::from(self.reply(listener, n, Reply::Error(errno_of(&e)))),
        };
        let call = Call {
            name: name.into(),
            args: n.args,
            paths: outcome.path.iter().cloned().collect(),
        };
        let nothing = if outcome.errno == 0 {
            libc::EIO
        } else {
            outcome.errno
        };
        let Some((d, source)) = outcome.decision else {
            return Served::from(self.reply(listener, n, Reply::Error(nothing)));
        };
        let path = outcome.path.as_deref();
        let reply = match (&d.verdict, fd) {
            // An O_PATH descriptor cannot be installed from here (SECCOMP_IOCTL_NOTIF_ADDFD
            // takes only open files). Allowed as it stands, the kernel makes it: an O_PATH
            // descriptor gives no access to content, and every reopen of it (through /proc,
            // or as a dirfd) comes back here and is decided on the object it holds.
            (Verdict::Allow | Verdict::Log, _) if flags & libc::O_PATH != 0 => Reply::Continue,
            (Verdict::Deny(_) | Verdict::Kill | Verdict::Emulate(_), None) => {
                return self.answer(listener, n, &call, &d, source, path, "").into();
            }
            (_, None) if outcome.later == Some(Later::Retry) => {
                return Served::Deferred(Deferred {
                    n: *n,
                    wait: Wait::Retry,
                });
            }
            (_, Some(fd)) if outcome.later == Some(Later::Writer) => {
                let event = d.log.then(|| {
                    Box::new(LaterEvent {
                        call,
                        d: d.clone(),
                        source,
                        path: outcome.path.clone(),
                        rewritten: outcome.rewritten.clone(),
                    })
                });
                let cloexec = flags & libc::O_CLOEXEC != 0;
                return Served::Deferred(Deferred {
                    n: *n,
                    wait: Wait::Readable(fd, cloexec, event),
                });
            }
            (_, Some(fd)) => Reply::Fd(fd, flags & libc::O_CLOEXEC != 0),
            // Allowed yet nothing opened and no errno: never answer 0 (that is stdin).
            (_, None) => Reply::Error(nothing),
        };
        let answered = self.reply(listener, n, reply);
        if d.log {
            let seen = (path, outcome.rewritten.as_deref());
            self.event(n, &call, &d, source, seen, answered.answer(), "");
        }
        answered.into()
    }
}
