//! Serving one trapped call: decide with both policies, then answer. A call whose decision
//! needs no path is answered from its arguments (continue, fail, emulate, kill); a call whose
//! decision needs the object it acts on is made on the caller's behalf (`serve_open`); an
//! exec is only ever refused or continued, its path boundary being the kernel's (Landlock,
//! noexec) so that a continue after a check is never what keeps a file out.

use std::os::fd::BorrowedFd;

use super::caller;
use super::supervisor::Server;
use super::sys::{self, Notif};
use crate::events::{Event, now};
use crate::handler::{Call, Decision, Source, Verdict};

/// How a call was answered, for its event.
#[derive(Debug, Clone, Copy)]
pub(super) enum Answer {
    Continued,
    Returned(i64),
    Failed(i32),
    Killed,
}

impl Answer {
    fn result(self) -> Option<i64> {
        match self {
            Answer::Continued | Answer::Killed => None,
            Answer::Returned(v) => Some(v),
            Answer::Failed(e) => Some(-i64::from(e)),
        }
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
    pub(super) fn serve(&mut self, listener: BorrowedFd<'_>, n: Notif) {
        let name = self.arch.name(n.nr).unwrap_or("unknown");
        match name {
            "open" | "openat" | "openat2" | "creat" if self.cfg.policies.needs_path(name) => {
                self.serve_open(listener, &n, name);
            }
            "execve" | "execveat" => self.serve_exec(listener, &n, name),
            "link" | "linkat" | "rename" | "renameat" | "renameat2"
                if self.cfg.policies.guards_names() =>
            {
                self.serve_names(listener, &n, name);
            }
            "open_by_handle_at" if self.cfg.policies.guards_names() => {
                // A handle reaches a file by no name at all: a path rule could not see it.
                self.refuse(
                    listener,
                    &n,
                    libc::EPERM,
                    "guard: no file by handle while a path is denied",
                );
            }
            _ if let Some(e) = self.cfg.policies.path_guard(name, &n.args) => {
                self.refuse(listener, &n, e, "guard: no way around a path rule");
            }
            _ => {
                let call = Call {
                    name: name.into(),
                    args: n.args,
                    paths: vec![],
                };
                let (d, source) = self.cfg.policies.decide(&call);
                self.answer(listener, &n, &call, &d, source, None, "");
            }
        }
    }

    /// Refuses a call with `errno` for one of Rune's own guards (not a policy rule), with an
    /// event naming the guard.
    pub(super) fn refuse(&mut self, listener: BorrowedFd<'_>, n: &Notif, errno: i32, why: &str) {
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
        self.answer(listener, n, &call, &d, Source::None, None, why);
    }

    /// Answers a call decided without its object: continue, fail, emulate or kill.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn answer(
        &mut self,
        listener: BorrowedFd<'_>,
        n: &Notif,
        call: &Call,
        d: &Decision,
        source: Source,
        path: Option<&str>,
        rule_override: &str,
    ) {
        let answer = match &d.verdict {
            Verdict::Allow | Verdict::Log => {
                let flags = libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32;
                let _ = sys::notif_send(listener, n.id, 0, 0, flags);
                Answer::Continued
            }
            Verdict::Emulate(v) => {
                let _ = sys::notif_send(listener, n.id, *v, 0, 0);
                Answer::Returned(*v)
            }
            Verdict::Deny(e) => {
                let _ = sys::notif_send(listener, n.id, 0, -e, 0);
                Answer::Failed(*e)
            }
            // The seccomp backend cannot run a call with other integer arguments from outside;
            // the validator rejects such rules, so this is a refusal, never a continue.
            Verdict::Rewrite(_) => {
                let _ = sys::notif_send(listener, n.id, 0, -libc::EPERM, 0);
                Answer::Failed(libc::EPERM)
            }
            Verdict::Kill => {
                self.kill(n.tid);
                Answer::Killed
            }
        };
        let denied = matches!(d.verdict, Verdict::Deny(_) | Verdict::Kill);
        if d.log || denied {
            self.event(n, call, d, source, (path, None), answer, rule_override);
        }
    }

    pub(super) fn kill(&self, tid: u32) {
        if let Ok(pidfd) = sys::pidfd_open(tgid_of(tid) as libc::pid_t) {
            let _ = sys::pidfd_kill(std::os::fd::AsFd::as_fd(&pidfd), libc::SIGKILL);
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn event(
        &mut self,
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
            rewritten,
            rule,
            policy: source.label(),
            action: d.verdict.action_name(),
            result: answer.result(),
            backend: "seccomp",
        };
        self.cfg.events.emit(&event);
    }

    /// An exec is refused or let through; the path it names is shown and decided on as the
    /// caller wrote it (made absolute against its cwd), which is safe only because a refusal
    /// never lets anything in: what may run is the kernel's to enforce.
    fn serve_exec(&mut self, listener: BorrowedFd<'_>, n: &Notif, name: &str) {
        let path_arg = if name == "execveat" { 1 } else { 0 };
        let path = if self.cfg.policies.needs_path(name) {
            caller::read_path(n.tid, n.args[path_arg])
                .ok()
                .map(|p| absolute(n.tid, &String::from_utf8_lossy(&p)))
        } else {
            None
        };
        let call = Call {
            name: name.into(),
            args: n.args,
            paths: path.iter().cloned().collect(),
        };
        let (d, source) = self.cfg.policies.decide(&call);
        if !sys::notif_id_valid(listener, n.id) {
            return;
        }
        self.answer(listener, n, &call, &d, source, path.as_deref(), "");
    }
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
