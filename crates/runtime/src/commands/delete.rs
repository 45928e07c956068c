use std::path::Path;

use anyhow::{Context, Result, bail};
use libcontainer::container::Container;

use crate::{cleanup, commands, hooks, host_mounts, private_bundle, shim};

/// runc's rules: a missing container is an error unless `--force`; a directory whose state
/// cannot be read (a create that died) is removed either way; `--force` kills a running one.
/// Whichever way the container goes, what it left in the host's mount namespace goes with it
/// and its `poststop` hooks run (a failing one is a warning).
pub fn delete(id: &str, force: bool, root: &Path) -> Result<()> {
    let dir = commands::container_dir(root, id)?;
    if force && crate::claim::no_create_running(root, id) {
        for pid in crate::claim::orphans_of_create(root, id) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
    if !dir.exists() {
        // A `create` killed before libcontainer made the state directory.
        private_bundle::remove(root, id);
        if force {
            return Ok(());
        }
        bail!("container {id} does not exist");
    }
    // Read before anything is removed: the state directory holds both.
    let mounts = host_mounts::Record::load(&dir);
    let deferred = hooks::Deferred::load(&dir);
    let mut container = match Container::load(dir.clone()) {
        Ok(c) => c,
        Err(err) => {
            tracing::debug!(%err, "state of {id} unreadable, removing what is left");
            cleanup::remove_leftovers(&dir, id, false)?;
            release(mounts.as_ref());
            private_bundle::remove(root, id);
            if force {
                return Ok(());
            }
            bail!("container {id} does not exist");
        }
    };
    let state = private_bundle::client_state(&container);
    let systemd = container.systemd();
    let supervisor = shim::supervisor::Running::find(&dir);
    match container.delete(force) {
        Ok(()) => {
            // Its listeners closed with the container's processes; it may still be on its way out.
            if let Some(s) = supervisor {
                s.stop();
            }
        }
        Err(err) if force => {
            tracing::debug!(%err, "delete of {id} failed, removing what is left");
            cleanup::remove_leftovers(&dir, id, systemd)?;
        }
        Err(err) => {
            container.refresh_status()?;
            return Err(err).with_context(|| {
                format!(
                    "cannot delete container {id} that is not stopped: {}",
                    container.status()
                )
            });
        }
    }
    release(mounts.as_ref());
    private_bundle::remove(root, id);
    deferred.poststop(&state);
    Ok(())
}

fn release(mounts: Option<&host_mounts::Record>) {
    if let Some(Err(err)) = mounts.map(host_mounts::Record::release) {
        tracing::warn!("{err}");
    }
}
