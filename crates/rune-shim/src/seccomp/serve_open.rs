//! `open`, `openat`, `openat2` and `creat` made on the caller's behalf: the path is copied out
//! of the caller once, the helper finds the object it names inside the caller's root, both
//! policies decide on that object's path, and only then is it opened (or created) and the
//! descriptor installed in the caller with `SECCOMP_IOCTL_NOTIF_ADDFD` + `SEND`. Nothing is
//! ever continued after a check.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::fcntl::{OFlag, open};
use nix::sys::stat::Mode;

use super::caller::{self, Caller};
use super::helper::{Opened, Request, Resolved};
use super::serve::{Answer, tgid_of};
use super::supervisor::Server;
use super::sys::{self, Notif};
use crate::handler::{Call, Decision, Source, Verdict};

/// The open as the caller asked for it.
#[derive(Debug, Clone)]
struct OpenArgs {
    dirfd: i32,
    path: Vec<u8>,
    flags: i32,
    mode: u32,
    resolve: u64,
}

/// How many times a create is decided again when the directory changes under it.
const RETRIES: usize = 8;

fn read_args(name: &str, n: &Notif) -> std::io::Result<OpenArgs> {
    let a = n.args;
    let path = |i: usize| caller::read_path(n.tid, a[i]);
    Ok(match name {
        "open" => OpenArgs {
            dirfd: libc::AT_FDCWD,
            path: path(0)?,
            flags: a[1] as i32,
            mode: a[2] as u32,
            resolve: 0,
        },
        "creat" => OpenArgs {
            dirfd: libc::AT_FDCWD,
            path: path(0)?,
            flags: libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC,
            mode: a[1] as u32,
            resolve: 0,
        },
        "openat" => OpenArgs {
            dirfd: a[0] as i32,
            path: path(1)?,
            flags: a[2] as i32,
            mode: a[3] as u32,
            resolve: 0,
        },
        _ => {
            // struct open_how { u64 flags; u64 mode; u64 resolve; }, at least 24 bytes.
            if a[3] < 24 {
                return Err(std::io::Error::from_raw_os_error(libc::EINVAL));
            }
            let how = caller::read_bytes(n.tid, a[2], 24)?;
            let word =
                |i: usize| u64::from_ne_bytes(how[i * 8..i * 8 + 8].try_into().unwrap_or_default());
            OpenArgs {
                dirfd: a[0] as i32,
                path: path(1)?,
                flags: word(0) as i32,
                mode: word(1) as u32,
                resolve: word(2),
            }
        }
    })
}

fn errno_of(e: &std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc::EIO)
}

impl Server {
    pub(super) fn serve_open(&mut self, listener: BorrowedFd<'_>, n: &Notif, name: &str) {
        let fail = |e: i32| {
            let _ = sys::notif_send(listener, n.id, 0, -e, 0);
        };
        let args = match read_args(name, n) {
            Ok(a) => a,
            Err(e) => return fail(errno_of(&e)),
        };
        let who = match Caller::read(n.tid) {
            Ok(c) => c,
            Err(e) => return fail(errno_of(&e)),
        };
        let (root, base) = match self.starting_points(n, &args) {
            Ok(fds) => fds,
            Err(e) => return fail(errno_of(&e)),
        };
        // Everything read from /proc/TID above belongs to the caller only if it still waits.
        if !sys::notif_id_valid(listener, n.id) {
            return;
        }
        for _ in 0..RETRIES {
            match self.try_open(listener, n, name, &args, &who, root.as_fd(), base.as_fd()) {
                Some(()) => return,
                None => continue,
            }
        }
        fail(libc::EAGAIN);
    }

    /// The caller's root, and the directory its path starts from.
    fn starting_points(&self, n: &Notif, args: &OpenArgs) -> std::io::Result<(OwnedFd, OwnedFd)> {
        let o_path = OFlag::O_PATH | OFlag::O_CLOEXEC;
        let proc_open = |what: &str| -> std::io::Result<OwnedFd> {
            let fd = open(
                format!("/proc/{}/{what}", n.tid).as_str(),
                o_path,
                Mode::empty(),
            )?;
            Ok(sys::adopt([fd]).remove(0))
        };
        let root = proc_open("root")?;
        let base = if args.dirfd == libc::AT_FDCWD {
            proc_open("cwd")?
        } else {
            let pidfd = sys::pidfd_open(tgid_of(n.tid) as libc::pid_t)?;
            sys::pidfd_getfd(pidfd.as_fd(), args.dirfd)?
        };
        Ok((root, base))
    }

    /// One round of resolve, decide, open. `None`: decide again.
    #[allow(clippy::too_many_arguments)]
    fn try_open(
        &mut self,
        listener: BorrowedFd<'_>,
        n: &Notif,
        name: &str,
        args: &OpenArgs,
        who: &Caller,
        root: BorrowedFd<'_>,
        base: BorrowedFd<'_>,
    ) -> Option<()> {
        let fail = |e: i32| {
            let _ = sys::notif_send(listener, n.id, 0, -e, 0);
        };
        let resolved = match self.resolve(who, root, base, &args.path, args.flags, args.resolve) {
            Ok(r) => r,
            Err(e) => {
                fail(errno_of(&e));
                return Some(());
            }
        };
        let path = match resolved {
            Resolved::Object(p) | Resolved::Missing(p) => p,
            Resolved::Failed(e) => {
                fail(e);
                return Some(());
            }
            Resolved::Named(_) => {
                fail(libc::EIO);
                return Some(());
            }
        };
        let call = Call {
            name: name.into(),
            args: n.args,
            paths: vec![path.clone()],
        };
        let (mut d, mut source) = self.cfg.policies.decide(&call);
        let (mut flags, mut mode) = (args.flags, args.mode);
        let mut shown = path;
        if let Verdict::Rewrite(new) = &d.verdict {
            let target = new.paths.first().cloned().unwrap_or_default();
            (flags, mode) = rewritten_flags(name, new, flags, mode);
            // The rewritten path is looked up afresh from the caller's root; what it leads to
            // is decided again, so a rewrite cannot lead anywhere the policies deny.
            match self.resolve(who, root, root, target.as_bytes(), flags, 0) {
                Ok(Resolved::Object(p) | Resolved::Missing(p) | Resolved::Named(Some(p))) => {
                    let again = Call {
                        paths: vec![p.clone()],
                        ..call.clone()
                    };
                    let (d2, s2) = self.cfg.policies.decide(&again);
                    // Where a rewrite leads is not rewritten again, but may be refused.
                    if matches!(
                        d2.verdict,
                        Verdict::Deny(_) | Verdict::Kill | Verdict::Emulate(_)
                    ) {
                        (d, source) = (d2, s2);
                    }
                    shown = p;
                }
                Ok(r @ (Resolved::Named(None) | Resolved::Failed(_))) => {
                    let e = match r {
                        Resolved::Failed(e) => e,
                        _ => libc::ENOENT,
                    };
                    self.event(n, &call, &d, source, Some(&shown), Answer::Failed(e), "");
                    fail(e);
                    return Some(());
                }
                Err(e) => {
                    fail(errno_of(&e));
                    return Some(());
                }
            }
        }
        match d.verdict {
            Verdict::Allow | Verdict::Log | Verdict::Rewrite(_) => {
                let opened = self.helper(n.tid).and_then(|h| {
                    h.open(&Request::Open {
                        creds: who.creds.clone(),
                        flags,
                        mode,
                    })
                });
                let answer = match opened {
                    Ok(Ok(fd)) => {
                        let cloexec = flags & libc::O_CLOEXEC != 0;
                        match sys::notif_addfd_send(listener, n.id, fd.as_fd(), cloexec) {
                            Ok(v) => Answer::Returned(v),
                            Err(e) => Answer::Failed(errno_of(&e)),
                        }
                    }
                    Ok(Err(Opened::Retry)) => return None,
                    Ok(Err(Opened::Failed(e))) => {
                        fail(e);
                        Answer::Failed(e)
                    }
                    Ok(Err(Opened::Fd | Opened::Done)) => {
                        fail(libc::EIO);
                        Answer::Failed(libc::EIO)
                    }
                    Err(e) => {
                        fail(errno_of(&e));
                        Answer::Failed(errno_of(&e))
                    }
                };
                if d.log {
                    self.event(n, &call, &d, source, Some(&shown), answer, "");
                }
            }
            _ => {
                // Decided without opening anything: deny, kill or emulate.
                self.answer_decided(listener, n, &call, &d, source, &shown);
            }
        }
        Some(())
    }

    fn answer_decided(
        &mut self,
        listener: BorrowedFd<'_>,
        n: &Notif,
        call: &Call,
        d: &Decision,
        source: Source,
        path: &str,
    ) {
        self.answer(listener, n, call, d, source, Some(path), "");
    }

    fn resolve(
        &mut self,
        who: &Caller,
        root: BorrowedFd<'_>,
        base: BorrowedFd<'_>,
        path: &[u8],
        flags: i32,
        resolve: u64,
    ) -> std::io::Result<Resolved> {
        let req = Request::Resolve {
            creds: who.creds.clone(),
            ns_pid: who.ns_pid,
            ns_tid: who.ns_tid,
            path: path.to_vec(),
            flags,
            resolve,
        };
        self.helper(who.tid)?.resolve(&req, &[root, base])
    }
}

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
