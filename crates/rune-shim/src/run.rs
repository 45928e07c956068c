//! `rune-shim run --policy FILE -- PROGRAM ARGS`: one program under the Rune policy, outside
//! any container, like a classic sandbox. The program runs in a child with
//! `no_new_privs` and Rune's filter; this process is its supervisor.

use std::ffi::CString;
use std::io;
use std::os::fd::AsFd;

use nix::sys::wait::WaitStatus;

use crate::events::Sink;
use crate::exec_rules;
use crate::handler::Policies;
use crate::oci_seccomp::OciProfile;
use crate::seccomp::{self, Config, Supervisor, channel, handoff, sys};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Compile(#[from] seccomp::CompileError),
    #[error("{0}: {1}")]
    Io(&'static str, io::Error),
    #[error("program name contains a NUL byte")]
    Nul,
}

/// Runs `argv` under `policies` and returns its exit status as a shell reports it.
/// `oci`, the container's profile when there is one, is installed below Rune's filter, as
/// the runtime would have.
pub fn run(
    policies: Policies,
    oci: Option<&OciProfile>,
    argv: &[String],
    events: Sink,
) -> Result<i32, RunError> {
    let prog = seccomp::compile(&policies)?;
    let layers = exec_rules::layers(&policies);
    let cargv = argv
        .iter()
        .map(|a| CString::new(a.as_bytes()).map_err(|_| RunError::Nul))
        .collect::<Result<Vec<_>, _>>()?;
    let (ours, theirs) = channel::pair().map_err(|e| RunError::Io("socketpair", e))?;
    let child = match sys::fork().map_err(|e| RunError::Io("fork", e))? {
        Some(pid) => pid,
        None => {
            drop(ours);
            let err = enter(theirs.as_fd(), oci, &prog, &layers, &cargv);
            eprintln!("rune-shim: {}: {err}", argv[0]);
            sys::exit_child(if err.kind() == io::ErrorKind::NotFound {
                127
            } else {
                126
            })
        }
    };
    drop(theirs);
    let cfg = Config {
        policies,
        container: String::new(),
        events,
    };
    let mut supervisor =
        Supervisor::new(cfg, vec![ours], None).map_err(|e| RunError::Io("supervisor", e))?;
    supervisor
        .watch_child(child)
        .map_err(|e| RunError::Io("pidfd_open", e))?;
    match supervisor
        .run()
        .map_err(|e| RunError::Io("supervisor", e))?
    {
        Some(WaitStatus::Exited(_, code)) => Ok(code),
        Some(WaitStatus::Signaled(_, sig, _)) => Ok(128 + sig as i32),
        other => Err(RunError::Io(
            "waitpid",
            io::Error::other(format!("the program ended as {other:?}")),
        )),
    }
}

/// In the child: no new privileges, the OCI filter, Rune's filter, exec. Returns only on
/// failure.
fn enter(
    sock: std::os::fd::BorrowedFd<'_>,
    oci: Option<&OciProfile>,
    prog: &[libc::sock_filter],
    layers: &[exec_rules::Layer],
    argv: &[CString],
) -> io::Error {
    // Denied exec prefixes become noexec in a mount namespace of the program's own (a copy of
    // ours, private, so nothing of it reaches the host).
    if exec_rules::denied_prefixes(layers).next().is_some() {
        let private = nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS).and_then(|()| {
            nix::mount::mount(
                None::<&str>,
                "/",
                None::<&str>,
                nix::mount::MsFlags::MS_REC | nix::mount::MsFlags::MS_PRIVATE,
                None::<&str>,
            )
        });
        if let Err(e) = private {
            return io::Error::other(format!(
                "an exec rule on a prefix needs a private mount namespace, where the prefix is made noexec (run as root): {e}"
            ));
        }
        if let Err(e) = exec_rules::mount_noexec(layers, None) {
            return io::Error::other(e);
        }
    }
    if let Err(e) = nix::sys::prctl::set_no_new_privs() {
        return e.into();
    }
    if let Some(Err(e)) = oci.map(|p| sys::install_plain(p.program())) {
        return e;
    }
    if let Err(e) = exec_rules::apply(layers) {
        return io::Error::other(e);
    }
    let listener = match handoff::install_and_announce(sock, prog) {
        Ok(l) => l,
        Err(e) => return e,
    };
    // The listener stays open (close-on-exec) until the exec: see `handoff`.
    std::mem::forget(listener);
    match nix::unistd::execvp(&argv[0], argv) {
        Err(e) => e.into(),
        Ok(never) => match never {},
    }
}
