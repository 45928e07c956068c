//! `open`, `openat`, `openat2` and `creat` made on the caller's behalf: the path is copied out
//! of the caller once; its agent (`agent`) finds the object it names inside the caller's root, decides
//! on that object's path and opens only what is allowed (`decide_open`); the descriptor is
//! installed in the caller with `SECCOMP_IOCTL_NOTIF_ADDFD` + `SEND`. Nothing is ever
//! continued after a check.

use std::os::fd::{AsFd, BorrowedFd};

use super::caller::{self, Caller};
use super::helper::Request;
use super::here::Here;
use super::serve::{Deferred, LaterEvent, Reply, Served, Wait};
use super::supervisor::Server;
use super::sys::{self, Notif};
use crate::handler::{Call, Verdict};
use crate::object::decide::Later;
use crate::object::decide::OpenCall;
use crate::syscalls::table;

/// The open as the caller asked for it, with its dirfd; where each argument is comes from
/// the system-call table.
fn read_call(name: &str, n: &Notif) -> std::io::Result<(i32, OpenCall)> {
    let a = n.args;
    let einval = || std::io::Error::from_raw_os_error(libc::EINVAL);
    let at = table::entry(name)
        .and_then(table::Entry::open_args)
        .ok_or_else(einval)?;
    let path = caller::read_path(n.tid, a[at.path.path])?;
    let dirfd = at.path.dirfd.map_or(libc::AT_FDCWD, |i| a[i] as i32);
    let (flags, mode, resolve) = match (at.flags, at.how) {
        (Some(f), _) => (a[f] as i32, at.mode.map_or(0, |m| a[m] as u32), 0),
        (None, Some(h)) => {
            // struct open_how { u64 flags; u64 mode; u64 resolve; }, its size after it.
            let size =
                table::Struct::OpenHow.size(crate::syscalls::Arch::native().ok_or_else(einval)?);
            if a[h + 1] < size {
                return Err(einval());
            }
            let how = caller::read_bytes(n.tid, a[h], size as usize)?;
            let word =
                |i: usize| u64::from_ne_bytes(how[i * 8..i * 8 + 8].try_into().unwrap_or_default());
            (word(0) as i32, word(1) as u32, word(2))
        }
        // creat(2) is open(O_CREAT | O_WRONLY | O_TRUNC).
        (None, None) => (
            libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC,
            at.mode.map_or(0, |m| a[m] as u32),
            0,
        ),
    };
    let call = OpenCall {
        name: name.to_owned(),
        args: a,
        path,
        flags,
        mode,
        resolve,
    };
    Ok((dirfd, call))
}

fn errno_of(e: &std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc::EIO)
}

impl Server {
    pub(super) fn serve_open(
        &self,
        listener: BorrowedFd<'_>,
        n: &Notif,
        name: &str,
        here: Option<&mut Here>,
    ) -> Served {
        let prepared = read_call(name, n).and_then(|(dirfd, call)| {
            let proc = caller::ProcDir::open(n.tid)?;
            let ours = proc.in_our_user_namespace()?;
            let who = Caller::read(&proc, ours)?;
            let root = proc.fd("root")?;
            // An absolute path starts from the root the lookup is made in.
            let base = match call.path.first() {
                Some(b'/') => None,
                _ => Some(caller::base_dir(&proc, &who, dirfd)?),
            };
            Ok((call, who, (proc, ours), root, base))
        });
        let (open_call, who, (proc, ours), root, base) = match prepared {
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
        let fds = [
            root.as_fd(),
            base.as_ref().map_or(root.as_fd(), AsFd::as_fd),
        ];
        let served = self.with_agent((n.tid, &proc, ours), here, |a| a.open(&req, &fds));
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
