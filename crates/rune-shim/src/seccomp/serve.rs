//! Serving one trapped call: decide with both policies, then answer. A call whose decision
//! needs no path is answered from its arguments (continue, fail, emulate, kill); a call whose
//! decision needs the object it acts on is made on the caller's behalf (`serve_open`); an
//! exec is only ever refused or continued, its path boundary being the kernel's (Landlock,
//! noexec) so that a continue after a check is never what keeps a file out.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use super::caller;
use super::here::Here;
use super::supervisor::Server;
use super::sys::{self, Notif};
use crate::events::{Event, now};
use crate::handler::{Call, Decision, Source, Verdict};
use crate::syscalls::service::{self, Service};
use crate::syscalls::table;

/// How a call was answered, for its event.
#[derive(Debug, Clone, Copy)]
pub(super) enum Answer {
    Continued,
    Returned(i64),
    Failed(i32),
    Killed,
    /// The caller died (or its thread id was reused) before it could be answered.
    Gone,
}

impl Answer {
    fn result(self) -> Option<i64> {
        match self {
            Answer::Continued | Answer::Killed | Answer::Gone => None,
            Answer::Returned(v) => Some(v),
            Answer::Failed(e) => Some(-i64::from(e)),
        }
    }
}

/// What a trapped call gets back.
#[derive(Debug)]
pub(super) enum Reply {
    /// Let the kernel run the call as it is.
    Continue,
    Value(i64),
    Error(i32),
    /// Install this descriptor in the caller and return its number.
    Fd(OwnedFd, bool),
    /// End the calling process.
    Kill,
}

/// Proof that a call was answered: only `Server::reply` makes one, and every way of serving
/// a call returns one, so no path can leave a caller waiting for an answer that never comes.
#[derive(Debug, Clone, Copy)]
#[must_use]
pub(super) struct Answered(Answer);

impl Answered {
    pub(super) fn answer(self) -> Answer {
        self.0
    }
}

/// A call that cannot be answered yet without blocking the supervisor (an open that would
/// wait for a FIFO's peer or a lease): the supervisor keeps it and answers it later, while
/// it serves every other call. Its caller waits, as it would have in the kernel.
#[derive(Debug)]
#[must_use]
pub(super) struct Deferred {
    pub(super) n: Notif,
    pub(super) wait: Wait,
}

#[derive(Debug)]
pub(super) enum Wait {
    /// Serve the call again from the start.
    Retry,
    /// Install the descriptor once it is readable (a writer came) or hung up, with the
    /// event the decision asked for.
    Readable(OwnedFd, bool, Option<Box<LaterEvent>>),
}

/// The event of a deferred call, written when it is answered.
#[derive(Debug)]
pub(super) struct LaterEvent {
    pub(super) call: Call,
    pub(super) d: Decision,
    pub(super) source: Source,
    pub(super) path: Option<String>,
    pub(super) rewritten: Option<String>,
}

/// How serving a call ended.
#[derive(Debug)]
#[must_use]
pub(super) enum Served {
    Answered(#[allow(dead_code, reason = "a proof, read by the type checker")] Answered),
    Deferred(Deferred),
}

impl From<Answered> for Served {
    fn from(a: Answered) -> Self {
        Served::Answered(a)
    }
}

pub(super) fn tgid_of(tid: u32) -> u32 {
    std::fs::read_to_string(format!("/proc/{tid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Tgid:"))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(tid)
}

impl Server {
    /// Serves call `n`; `here` is the serving thread's own means of acting for callers.
    pub(super) fn serve(
        &self,
        listener: BorrowedFd<'_>,
        n: Notif,
        here: Option<&mut Here>,
    ) -> Served {
        let name = self.arch.name(n.nr).unwrap_or("unknown");
        let policies = &self.cfg.policies;
        Served::Answered(match service::seccomp(name) {
            Service::Open if policies.needs_path(name) => {
                return self.serve_open(listener, &n, name, here);
            }
            Service::Exec => self.serve_exec(listener, &n, name),
            Service::Memfd if policies.limits_exec() => self.serve_memfd(listener, &n),
            Service::Names if policies.guards_names() => self.serve_names(listener, &n, name, here),
            Service::Handle if policies.guards_names() => self.refuse(
                listener,
                &n,
                libc::EPERM,
                "guard: no file by handle while a path is denied",
            ),
            _ if let Some(e) = self.cfg.policies.path_guard(name, &n.args) => {
                self.refuse(listener, &n, e, "guard: no way around a path rule")
            }
            _ => {
                let call = Call {
                    name: name.into(),
                    args: n.args,
                    paths: vec![],
                };
                let (d, source) = self.cfg.policies.decide(&call);
                if d.log
                    && service::seccomp(name) == Service::Open
                    && let Some(path) = path_as_written(&n, name)
                {
                    return self
                        .answer_noting(listener, &n, &call, &d, source, &path)
                        .into();
                }
                self.answer(listener, &n, &call, &d, source, None, "")
            }
        })
    }

    /// Answers a call deferred with `Wait::Readable` once its descriptor is ready.
    pub(super) fn finish(
        &self,
        listener: BorrowedFd<'_>,
        n: &Notif,
        fd: OwnedFd,
        cloexec: bool,
        event: Option<Box<LaterEvent>>,
    ) -> Answered {
        let answered = self.reply(listener, n, Reply::Fd(fd, cloexec));
        if let Some(e) = event {
            let seen = (e.path.as_deref(), e.rewritten.as_deref());
            self.event(n, &e.call, &e.d, e.source, seen, answered.answer(), "");
        }
        answered
    }

    /// Answers call `n`; the one place where a trapped call gets its answer.
    pub(super) fn reply(&self, listener: BorrowedFd<'_>, n: &Notif, reply: Reply) -> Answered {
        let fail = |e: i32| match sys::notif_send(listener, n.id, 0, -e, 0) {
            Ok(()) => Answer::Failed(e),
            Err(_) => Answer::Gone,
        };
        Answered(match reply {
            Reply::Continue => {
                let flags = libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32;
                match sys::notif_send(listener, n.id, 0, 0, flags) {
                    Ok(()) => Answer::Continued,
                    Err(_) => Answer::Gone,
                }
            }
            Reply::Value(v) => match sys::notif_send(listener, n.id, v, 0, 0) {
                Ok(()) => Answer::Returned(v),
                Err(_) => Answer::Gone,
            },
            Reply::Error(e) => fail(e),
            Reply::Fd(fd, cloexec) => {
                match sys::notif_addfd_send(listener, n.id, fd.as_fd(), cloexec) {
                    Ok(v) => Answer::Returned(v),
                    // The descriptor could not be installed (a full table, a gone caller): the
                    // call still gets an answer.
                    Err(e) => fail(e.raw_os_error().unwrap_or(libc::EIO)),
                }
            }
            Reply::Kill => {
                self.kill(listener, n);
                // Refused as well, so that nothing runs should the signal come late.
                let _ = sys::notif_send(listener, n.id, 0, -libc::EPERM, 0);
                Answer::Killed
            }
        })
    }

    /// Refuses a call with `errno` for one of Rune's own guards (not a policy rule), with an
    /// event naming the guard.
    pub(super) fn refuse(
        &self,
        listener: BorrowedFd<'_>,
        n: &Notif,
        errno: i32,
        why: &str,
    ) -> Answered {
        let name = self.arch.name(n.nr).unwrap_or("unknown");
        let call = Call {
            name: name.into(),
            args: n.args,
            paths: vec![],
        };
        let d = Decision {
            verdict: Verdict::Deny(errno),
            rule: None,
            log: true,
        };
        self.answer(listener, n, &call, &d, Source::None, None, why)
    }

    /// Answers a call decided without its object: continue, fail, emulate or kill.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn answer(
        &self,
        listener: BorrowedFd<'_>,
        n: &Notif,
        call: &Call,
        d: &Decision,
        source: Source,
        path: Option<&str>,
        rule_override: &str,
    ) -> Answered {
        let reply = match &d.verdict {
            Verdict::Allow | Verdict::Log => Reply::Continue,
            Verdict::Emulate(v) => Reply::Value(*v),
            Verdict::Deny(e) => Reply::Error(*e),
            // The seccomp backend cannot run a call with other integer arguments from outside;
            // the validator rejects such rules, so this is a refusal, never a continue.
            Verdict::Rewrite(_) => Reply::Error(libc::EPERM),
            Verdict::Kill => Reply::Kill,
        };
        let answered = self.reply(listener, n, reply);
        let denied = matches!(d.verdict, Verdict::Deny(_) | Verdict::Kill);
        if d.log || denied {
            self.event(
                n,
                call,
                d,
                source,
                (path, None),
                answered.answer(),
                rule_override,
            );
        }
        answered
    }

    /// As `answer`, for a call decided without its path, whose event carries the path as
    /// the caller wrote it (for an audit of opens that does not make every open on-behalf).
    fn answer_noting(
        &self,
        listener: BorrowedFd<'_>,
        n: &Notif,
        call: &Call,
        d: &Decision,
        source: Source,
        path: &str,
    ) -> Answered {
        let quiet = Decision {
            log: false,
            ..d.clone()
        };
        let answered = self.answer(listener, n, call, &quiet, source, None, "");
        let rule = self.cfg.policies.rule_label(d, source);
        let event = Event {
            time: now(),
            container: &self.cfg.container,
            pid: tgid_of(n.tid),
            tid: n.tid,
            syscall: &call.name,
            args: n.args,
            path: Some(path),
            path_resolved: Some(false),
            rewritten: None,
            rule,
            policy: source.label(),
            action: d.verdict.action_name(),
            result: answered.answer().result(),
            backend: "seccomp",
        };
        self.emit(&event);
        answered
    }

    /// Ends the caller's process. Its pidfd is taken first and the notification confirmed
    /// pending afterwards: a thread id read while the caller lived cannot name another
    /// process once the pidfd pins it, and a caller that died since is not avenged on
    /// whoever got its number.
    fn kill(&self, listener: BorrowedFd<'_>, n: &Notif) {
        let Ok(pidfd) = sys::pidfd_open(tgid_of(n.tid) as libc::pid_t) else {
            return;
        };
        if sys::notif_id_valid(listener, n.id) {
            let _ = sys::pidfd_kill(pidfd.as_fd(), libc::SIGKILL);
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn event(
        &self,
        n: &Notif,
        call: &Call,
        d: &Decision,
        source: Source,
        (path, rewritten): (Option<&str>, Option<&str>),
        answer: Answer,
        rule_override: &str,
    ) {
        let rule = if !rule_override.is_empty() {
            rule_override.to_owned()
        } else {
            self.cfg.policies.rule_label(d, source)
        };
        let event = Event {
            time: now(),
            container: &self.cfg.container,
            pid: tgid_of(n.tid),
            tid: n.tid,
            syscall: &call.name,
            args: n.args,
            path,
            path_resolved: None,
            rewritten,
            rule,
            policy: source.label(),
            action: d.verdict.action_name(),
            result: answer.result(),
            backend: "seccomp",
        };
        self.emit(&event);
    }

    /// An exec is refused or let through; the path it names is shown and decided on as the
    /// caller wrote it (made absolute against its cwd), which is safe only because a refusal
    /// never lets anything in: what may run is the kernel's to enforce.
    fn serve_exec(&self, listener: BorrowedFd<'_>, n: &Notif, name: &str) -> Answered {
        let path = if self.cfg.policies.needs_path(name) {
            path_as_written(n, name)
        } else {
            None
        };
        let call = Call {
            name: name.into(),
            args: n.args,
            paths: path.iter().cloned().collect(),
        };
        let (d, source) = self.cfg.policies.decide(&call);
        self.answer(listener, n, &call, &d, source, path.as_deref(), "")
    }
}

impl Server {
    /// A memory file for a caller while exec rules hold: made here with `MFD_NOEXEC_SEAL`,
    /// so that it can never be executed (Landlock does not see memory files, and a copy of a
    /// denied program run with `execveat(AT_EMPTY_PATH)` would dodge the rule). `MFD_EXEC`
    /// is refused as `vm.memfd_noexec = 2` refuses it.
    fn serve_memfd(&self, listener: BorrowedFd<'_>, n: &Notif) -> Answered {
        const MFD_CLOEXEC: u32 = 0x1;
        const MFD_NOEXEC_SEAL: u32 = 0x8;
        const MFD_EXEC: u32 = 0x10;
        let flags = n.args[1] as u32;
        if flags & MFD_EXEC != 0 {
            return self.refuse(
                listener,
                n,
                libc::EACCES,
                "guard: no executable memory file while exec rules hold",
            );
        }
        let name = match caller::read_path(n.tid, n.args[0]).map(std::ffi::CString::new) {
            Ok(Ok(name)) => name,
            Ok(Err(_)) => return self.reply(listener, n, Reply::Error(libc::EINVAL)),
            Err(e) => {
                return self.reply(
                    listener,
                    n,
                    Reply::Error(e.raw_os_error().unwrap_or(libc::EFAULT)),
                );
            }
        };
        if !sys::notif_id_valid(listener, n.id) {
            return self.reply(listener, n, Reply::Error(libc::ESRCH));
        }
        match sys::memfd_create(&name, flags | MFD_NOEXEC_SEAL | MFD_CLOEXEC) {
            Ok(fd) => self.reply(listener, n, Reply::Fd(fd, flags & MFD_CLOEXEC != 0)),
            Err(e) => self.reply(
                listener,
                n,
                Reply::Error(e.raw_os_error().unwrap_or(libc::EINVAL)),
            ),
        }
    }
}

/// The (first) path argument of a call, as the caller wrote it, made absolute against its
/// dirfd or cwd.
fn path_as_written(n: &Notif, name: &str) -> Option<String> {
    let at = *table::entry(name)?.paths().first()?;
    let bytes = caller::read_path(n.tid, n.args[at.path]).ok()?;
    let path = String::from_utf8_lossy(&bytes);
    let dirfd = at.dirfd.map_or(libc::AT_FDCWD, |i| n.args[i] as i32);
    if dirfd != libc::AT_FDCWD && !path.starts_with('/') {
        let dir = std::fs::read_link(format!("/proc/{}/fd/{dirfd}", n.tid)).ok()?;
        let root = std::fs::read_link(format!("/proc/{}/root", n.tid)).unwrap_or_default();
        let dir = dir.strip_prefix(&root).unwrap_or(&dir);
        return Some(absolute(n.tid, &format!("/{}/{path}", dir.display())));
    }
    Some(absolute(n.tid, &path))
}

/// `path` as the caller means it, from its own root: joined to its cwd, `.` and `..` folded.
fn absolute(tid: u32, path: &str) -> String {
    let joined = if path.starts_with('/') {
        path.to_owned()
    } else {
        let root = std::fs::read_link(format!("/proc/{tid}/root")).unwrap_or_default();
        let cwd = std::fs::read_link(format!("/proc/{tid}/cwd")).unwrap_or_default();
        let cwd = cwd.strip_prefix(&root).unwrap_or(&cwd);
        format!("/{}/{path}", cwd.display())
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}
