use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use libcontainer::container::Container;
use libcontainer::error::LibcontainerError;
use liboci_cli::Create;

use crate::cli::GlobalOpts;
use crate::commands::update;
use crate::console::OwnConsole;
use crate::executor::RuneExecutor;
use crate::{bundle, commands, hooks, private_bundle, shim};
use crate::{cgroup_mounts, cleanup, devices, host_mounts, loopback};

pub fn create(args: Create, global: &GlobalOpts) -> Result<()> {
    let init = Init {
        id: &args.container_id,
        bundle: &args.bundle,
        pid_file: args.pid_file.as_deref(),
        console_socket: args.console_socket.as_deref(),
        preserve_fds: args.preserve_fds,
        no_pivot: args.no_pivot,
        detach: true,
    };
    init.build(global).map(drop)
}

/// A container in the `created` state, and the pty rune-run kept for it, if it kept one.
#[derive(Debug)]
pub struct Built {
    pub container: Container,
    pub console: Option<OwnConsole>,
}

/// What `create` and `run` share: everything up to a container in the `created` state.
#[derive(Debug)]
pub struct Init<'a> {
    pub id: &'a str,
    pub bundle: &'a Path,
    pub pid_file: Option<&'a Path>,
    pub console_socket: Option<&'a Path>,
    pub preserve_fds: i32,
    pub no_pivot: bool,
    pub detach: bool,
}

impl Init<'_> {
    /// Checks the bundle before any side effect; if libcontainer then fails half-way, removes
    /// whatever it left (processes, cgroup, state directory) so that the id can be reused.
    ///
    /// A foreground container (`detach` false) whose process wants a terminal, with no
    /// console socket to hand it to, gets one rune-run listens on itself (see `console`).
    pub fn build(&self, global: &GlobalOpts) -> Result<Built> {
        let id = self.id;
        let dir = commands::container_dir(&global.root, id)?;
        commands::ensure_root(&global.root)?;
        let _claim = crate::claim::Claim::take(&global.root, id)?;
        if dir.exists() {
            return Err(bundle::BundleError::Exists(id.to_owned()).into());
        }
        let bundle_dir = absolute(self.bundle)?;
        let mut spec = bundle::load(&bundle_dir)?;
        let host_mounts = host_mounts::Record::before_create(&spec, &bundle_dir)?;
        let shim = match shim::select::select(global, &spec)? {
            Some(selected) => {
                tracing::info!(backend = ?selected.backend, "container {id} runs under Rune policies");
                Some(shim::Prepared::new(selected.policies, &mut spec)?)
            }
            None => None,
        };
        // libcontainer reads config.json itself: from a copy when it must see another spec.
        let fixed = private_bundle::fix_masked_eq(&mut spec);
        let granted = shim.as_ref().is_some_and(|p| p.grant.is_some());
        let mut start_container = None;
        let private = if fixed || granted {
            let mut copy = spec.clone();
            start_container = hooks::for_private_bundle(&mut copy, id, &bundle_dir);
            Some(private_bundle::write(&global.root, id, &copy, &bundle_dir)?)
        } else {
            None
        };
        let executor = RuneExecutor {
            handoff: shim.as_ref().map(shim::Prepared::handoff),
            start_container,
        };
        let lc_bundle = private.clone().unwrap_or_else(|| bundle_dir.clone());
        let terminal = spec.process().as_ref().and_then(|p| p.terminal()) == Some(true);

        // From here on anything that fails leaves something to remove.
        let made = (|| {
            let console = OwnConsole::when_needed(self.detach, self.console_socket, terminal)?;
            let console_socket = console
                .as_ref()
                .map(OwnConsole::path)
                .or(self.console_socket);
            let container = commands::builder(id, &global.root, executor)?
                .with_pid_file(self.pid_file)?
                .with_console_socket(console_socket)
                .with_preserved_fds(self.preserve_fds)
                .as_init(&lc_bundle)
                .with_systemd(global.systemd_cgroup)
                // libcontainer 0.7 reads `detach` only to decide whether a console is needed.
                .with_detach(self.detach || console.is_some())
                .with_no_pivot(self.no_pivot)
                .build()?;
            if let Some(record) = &host_mounts {
                record.save(&container.root)?;
            }
            hooks::Deferred::take(&container.root)?;
            let pid = container.pid().context("no init pid after create")?;
            loopback::bring_up(&spec, pid)?;
            cgroup_mounts::harden(&spec, pid)?;
            if let Some(p) = &shim {
                p.mount_noexec(pid)?;
            }
            match spec.linux().as_ref().and_then(|l| l.resources().as_ref()) {
                Some(resources) if update::oom_killer_disabled(&spec) => {
                    update::apply(&container, resources, &spec)?;
                }
                _ => {
                    let config = libcontainer::config::YoukiConfig::load(&container.root)?;
                    devices::revoke_console(&spec, &config.cgroup_path)?;
                }
            }
            if private.is_some() {
                private_bundle::record_client_bundle(&container.root, &bundle_dir)?;
            }
            if let Some(p) = shim {
                p.start_supervisor(
                    &container.root,
                    id,
                    pid.as_raw(),
                    global.events_dir.as_deref(),
                )?;
            }
            Ok(Built { container, console })
        })();
        made.map_err(|err: anyhow::Error| {
            // A concurrent create of the same id won the race for the directory: it is that
            // container's, not ours to remove.
            let lost_race = matches!(
                err.downcast_ref::<LibcontainerError>(),
                Some(LibcontainerError::Exist)
            );
            if lost_race {
                return bundle::BundleError::Exists(id.to_owned()).into();
            }
            private_bundle::remove(&global.root, id);
            if let Err(cleanup_err) = cleanup::remove_leftovers(&dir, id, global.systemd_cgroup) {
                tracing::error!(%cleanup_err, "cleanup after a failed create");
            }
            if let Some(Err(cleanup_err)) = host_mounts.as_ref().map(host_mounts::Record::release) {
                tracing::error!(%cleanup_err, "cleanup after a failed create");
            }
            // Hook failures in the container's processes reach us as text, not as a HookError.
            let err = if format!("{err:#}").contains("hook") {
                err.context(format!(
                    "OCI hook failed (hooks: {})",
                    bundle::describe_hooks(&spec)
                ))
            } else {
                err
            };
            err.context(format!("create container {id}"))
        })
    }
}

/// The state records the bundle; a relative path would mean nothing to a later `state`.
fn absolute(bundle: &Path) -> Result<PathBuf> {
    std::path::absolute(bundle).with_context(|| format!("bundle {}", bundle.display()))
}
