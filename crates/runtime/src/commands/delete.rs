use std::path::Path;

use anyhow::{Context, Result, bail};
use libcontainer::container::Container;

use crate::{cleanup, commands, private_bundle, shim};

/// runc's rules: a missing container is an error unless `--force`; a directory whose state
/// cannot be read (a create that died) is removed either way; `--force` kills a running one.
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
    let mut container = match Container::load(dir.clone()) {
        Ok(c) => c,
        Err(err) => {
            tracing::warn!(%err, "state of {id} unreadable, removing what is left");
            cleanup::remove_leftovers(&dir, id, false)?;
            private_bundle::remove(root, id);
            if force {
                return Ok(());
            }
            bail!("container {id} does not exist");
        }
    };
    let systemd = container.systemd();
    let supervisor = shim::supervisor::Running::find(&dir);
    match container.delete(force) {
        Ok(()) => {
            // Its listeners closed with the container's processes; it may still be on its way out.
            if let Some(s) = supervisor {
                s.stop();
            }
            private_bundle::remove(root, id);
            Ok(())
        }
        Err(err) if force => {
            tracing::warn!(%err, "delete of {id} failed, removing what is left");
            cleanup::remove_leftovers(&dir, id, systemd)?;
            private_bundle::remove(root, id);
            Ok(())
        }
        Err(err) => {
            container.refresh_status()?;
            Err(err).with_context(|| {
                format!(
                    "cannot delete container {id} that is not stopped: {}",
                    container.status()
                )
            })
        }
    }
}
