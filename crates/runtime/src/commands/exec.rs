//! `exec`: a new process in a running container. Inline flags start from the container's own
//! `process` (its user, env, capabilities, as runc does), not from a blank one.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};
use liboci_cli::Exec;
use nix::sys::wait::waitpid;
use oci_spec::runtime::{Capability, LinuxCapabilities, Process};

use crate::console::{self, OwnConsole};
use crate::executor::RuneExecutor;
use crate::{commands, exit_status, shim};

pub fn exec(args: Exec, root: &Path) -> Result<u8> {
    let id = args.container_id.clone();
    let container = commands::load(&id, root)?;
    let mut process = match &args.process {
        Some(file) => read_process(file)?,
        None => {
            let spec = commands::spec(&container)?;
            inline_process(&args, spec.process().clone().unwrap_or_default())?
        }
    };
    // Under Rune, the new process hands its listener to the container's supervisor; the
    // connection must exist before libcontainer forks it.
    let (handoff, _conn) = match shim::exec_handoff(&container.root, &mut process)? {
        Some((h, conn)) => (Some(h), Some(conn)),
        None => (None, None),
    };
    // libcontainer reads the process from a file; keep it inside the state directory.
    let process_file = container
        .root
        .join(format!("exec-{}.json", std::process::id()));
    fs::write(&process_file, serde_json::to_vec(&process)?)
        .with_context(|| format!("write {}", process_file.display()))?;

    let terminal = process.terminal().unwrap_or(false);
    let own_console =
        OwnConsole::when_needed(args.detach, args.console_socket.as_deref(), terminal)?;
    let console_socket = own_console
        .as_ref()
        .map(OwnConsole::path)
        .or(args.console_socket.as_deref());
    let built = commands::builder(
        &id,
        root,
        RuneExecutor {
            handoff,
            start_container: None,
        },
    )
    .and_then(|b| {
        Ok(b.with_console_socket(console_socket)
            .with_pid_file(args.pid_file.as_deref())?
            .with_preserved_fds(args.preserve_fds)
            .as_tenant()
            // libcontainer 0.7 reads `detach` only to decide whether a console is needed.
            .with_detach(args.detach || own_console.is_some())
            .with_process(Some(&process_file))
            .with_ignore_paused(args.ignore_paused)
            .with_sub_cgroup(args.cgroup.clone())
            .build()?)
    });
    let _ = fs::remove_file(&process_file);
    let pid = built.with_context(|| format!("exec in container {id}"))?;
    if args.detach {
        return Ok(0);
    }
    let relay = match own_console {
        Some(console) => Some(console::relay(console.master()?)?),
        None => None,
    };
    let status = waitpid(pid, None).context("wait for the exec'd process")?;
    if let Some(relay) = relay {
        relay.finish();
    }
    exit_status::from_wait(status).context("exec'd process neither exited nor was killed")
}

fn read_process(file: &Path) -> Result<Process> {
    let text = fs::read_to_string(file).with_context(|| format!("read {}", file.display()))?;
    serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{}: line {} column {}: {e}",
            file.display(),
            e.line(),
            e.column()
        )
    })
}

fn inline_process(args: &Exec, mut process: Process) -> Result<Process> {
    if args.command.is_empty() {
        bail!("exec: no command given (pass ARGS or --process FILE)");
    }
    process.set_args(Some(args.command.clone()));
    process.set_terminal(Some(args.tty));
    let mut env = process.env().clone().unwrap_or_default();
    for (k, v) in &args.env {
        env.retain(|e| e.split_once('=').map_or(e != k, |(ek, _)| ek != k));
        env.push(format!("{k}={v}"));
    }
    process.set_env(Some(env));
    if let Some(cwd) = &args.cwd {
        process.set_cwd(cwd.clone());
    }
    if let Some((uid, gid)) = args.user {
        process.user_mut().set_uid(uid);
        process.user_mut().set_gid(gid.unwrap_or(0));
    }
    if !args.additional_gids.is_empty() {
        process
            .user_mut()
            .set_additional_gids(Some(args.additional_gids.clone()));
    }
    if args.no_new_privs {
        process.set_no_new_privileges(Some(true));
    }
    if !args.cap.is_empty() {
        let mut caps = process.capabilities().clone().unwrap_or_default();
        for name in &args.cap {
            let cap = parse_cap(name)
                .ok_or_else(|| anyhow::anyhow!("exec --cap: unknown capability {name:?}"))?;
            add_cap(&mut caps, cap);
        }
        process.set_capabilities(Some(caps));
    }
    Ok(process)
}

/// runc's names (`CAP_KILL`, as in `config.json`), and the bare ones (`KILL`).
fn parse_cap(name: &str) -> Option<Capability> {
    name.strip_prefix("CAP_").unwrap_or(name).parse().ok()
}

/// runc's `--cap` adds to every set but the ambient one.
fn add_cap(caps: &mut LinuxCapabilities, cap: Capability) {
    let add = |set: &Option<oci_spec::runtime::Capabilities>| {
        let mut set = set.clone().unwrap_or_default();
        set.insert(cap);
        Some(set)
    };
    let (b, e, i, p) = (
        add(caps.bounding()),
        add(caps.effective()),
        add(caps.inheritable()),
        add(caps.permitted()),
    );
    caps.set_bounding(b)
        .set_effective(e)
        .set_inheritable(i)
        .set_permitted(p);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_names_as_runc_takes_them() {
        assert_eq!(parse_cap("CAP_KILL"), Some(Capability::Kill));
        assert_eq!(parse_cap("KILL"), Some(Capability::Kill));
        assert_eq!(
            parse_cap("CAP_NET_BIND_SERVICE"),
            Some(Capability::NetBindService)
        );
        assert_eq!(parse_cap("CAP_NOPE"), None);
    }
}
