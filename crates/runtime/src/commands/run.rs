//! `run` = `create` + `start`, then (in the foreground) wait for the init, forward signals to
//! it, delete the container and exit with the init's status, as runc does.

use anyhow::{Context, Result};
use liboci_cli::Run;
use nix::sys::signal::{Signal, kill};
use nix::sys::signalfd::SigSet;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::cli::GlobalOpts;
use crate::commands::create::{Built, Init};
use crate::commands::{delete, start};
use crate::console;
use crate::exit_status;

pub fn run(args: Run, global: &GlobalOpts) -> Result<u8> {
    let init = Init {
        id: &args.container_id,
        bundle: &args.bundle,
        pid_file: args.pid_file.as_deref(),
        console_socket: args.console_socket.as_deref(),
        preserve_fds: args.preserve_fds,
        no_pivot: args.no_pivot,
        detach: args.detach,
    };
    let Built {
        mut container,
        console,
    } = init.build(global)?;
    let relay = match console {
        Some(console) => Some(console::relay(console.master()?)?),
        None => None,
    };
    // Block signals only now: the container's processes are forked during `build` and would
    // inherit the mask across exec. From here on, none is lost between start and the wait.
    let signals = SigSet::all();
    if !args.detach {
        signals.thread_block().context("block signals")?;
    }
    let id = args.container_id.as_str();
    if let Err(err) = start::start_container(&mut container) {
        let _ = delete::delete(id, true, &global.root);
        return Err(err);
    }
    if args.detach {
        return Ok(0);
    }
    let pid = container
        .pid()
        .context("container state has no init pid after start")?;
    let status = wait_forwarding(pid, &signals);
    if !args.keep {
        delete::delete(id, true, &global.root)?;
    }
    if let Some(relay) = relay {
        relay.finish();
    }
    status
}

/// Reaps children until the init exits; every other signal goes on to the init.
fn wait_forwarding(init: Pid, signals: &SigSet) -> Result<u8> {
    // The init may have ended before the signals were blocked; its SIGCHLD is then gone.
    if let Some(code) = reap(init)? {
        return Ok(code);
    }
    loop {
        match signals.wait().context("wait for signals")? {
            Signal::SIGCHLD => {
                if let Some(code) = reap(init)? {
                    return Ok(code);
                }
            }
            // Go's runtime preemption signal in runc; nothing to forward.
            Signal::SIGURG | Signal::SIGWINCH => {}
            sig => {
                if let Err(err) = kill(init, sig) {
                    tracing::warn!(%err, ?sig, "forward signal to the container init");
                }
            }
        }
    }
}

/// Reaps every exited child; returns the init's exit code once it is among them.
fn reap(init: Pid) -> Result<Option<u8>> {
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(nix::errno::Errno::ECHILD) => return Ok(None),
            Ok(status) if status.pid() == Some(init) => {
                if let Some(code) = exit_status::from_wait(status) {
                    return Ok(Some(code));
                }
            }
            Ok(_) => {}
            Err(e) => return Err(e).context("waitpid"),
        }
    }
}
