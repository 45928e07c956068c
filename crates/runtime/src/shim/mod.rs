//! rune-run's side of the Rune shim: choosing the policies and backend of a container,
//! starting its supervisor, and handing its processes over to it from the executor.

pub mod grant;
pub mod select;
pub mod supervisor;

use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use oci_spec::runtime::Spec;
use rune_shim::exec_rules::{self, Layer};
use rune_shim::handler::Policies;
use rune_shim::seccomp::{self, channel, handoff, sys};

use grant::Grant;

/// What the container's process does in the executor, right before it execs its program:
/// install Rune's filter, hand the listener over, drop what was borrowed for the install.
#[derive(Clone)]
pub struct Handoff {
    sock: RawFd,
    prog: Arc<Vec<libc::sock_filter>>,
    layers: Vec<Layer>,
    grant: Option<Grant>,
}

impl std::fmt::Debug for Handoff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handoff")
            .field("sock", &self.sock)
            .field("instructions", &self.prog.len())
            .field("grant", &self.grant)
            .finish()
    }
}

impl Handoff {
    pub fn enter(&self) -> Result<(), String> {
        // The socket was opened by rune-run before libcontainer forked this process and is
        // not closed before the exec that ends this function's caller.
        let sock = sys::borrow(self.sock);
        exec_rules::apply(&self.layers).map_err(|e| e.to_string())?;
        let listener = handoff::install_and_announce(sock, &self.prog)
            .map_err(|e| format!("installing Rune's seccomp filter: {e}"))?;
        // Closed by the exec (close-on-exec), once the supervisor holds its copy.
        std::mem::forget(listener);
        if let Some(g) = &self.grant {
            g.drop_exactly().map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// A container about to be created under Rune.
#[derive(Debug)]
pub struct Prepared {
    pub policies: Policies,
    prog: Arc<Vec<libc::sock_filter>>,
    layers: Vec<Layer>,
    ours: OwnedFd,
    theirs: OwnedFd,
    pub grant: Option<Grant>,
}

impl Handoff {
    /// Whether some exec rule's prefix is made noexec in the container.
    pub fn makes_noexec(&self) -> bool {
        exec_rules::denied_prefixes(&self.layers).next().is_some()
    }
}

impl Prepared {
    /// Compiles the filter and adds to `spec` what its install needs; no side effects.
    pub fn new(policies: Policies, spec: &mut Spec) -> Result<Prepared> {
        let prog = seccomp::compile(&policies)?;
        let layers = exec_rules::layers(&policies);
        let grant = spec.process_mut().as_mut().and_then(Grant::add_to);
        let (ours, theirs) = channel::pair().context("socketpair for the Rune supervisor")?;
        Ok(Prepared {
            policies,
            prog: Arc::new(prog),
            layers,
            ours,
            theirs,
            grant,
        })
    }

    pub fn handoff(&self) -> Handoff {
        Handoff {
            sock: self.theirs.as_raw_fd(),
            prog: self.prog.clone(),
            layers: self.layers.clone(),
            grant: self.grant.clone(),
        }
    }

    /// After libcontainer built the container: start its supervisor and keep the filter for
    /// later `exec`s.
    /// Makes the denied exec prefixes noexec in the container's own mount namespace (see
    /// `exec_rules`); a container that shares rune-run's has none to change, and is refused.
    pub fn mount_noexec(&self, init: nix::unistd::Pid) -> Result<()> {
        if exec_rules::denied_prefixes(&self.layers).next().is_none() {
            return Ok(());
        }
        if !crate::container_mounts::has_own_namespace(init)? {
            anyhow::bail!(
                "a Rune exec rule on a prefix needs the container's own mount namespace (the prefix is made noexec there): add a \"mount\" namespace to config.json"
            );
        }
        let layers = self.layers.clone();
        let info = std::fs::read_to_string(format!("/proc/{}/mountinfo", init.as_raw()))
            .context("the container's mounts")?;
        crate::container_mounts::inside(init, move || {
            exec_rules::mount_noexec(&layers, Some(&info)).map_err(|e| e.to_string())
        })?;
        Ok(())
    }

    pub fn start_supervisor(
        mut self,
        dir: &Path,
        id: &str,
        init: i32,
        events_dir: Option<&Path>,
    ) -> Result<()> {
        // The rules' paths as the container reaches them, every mount in place, before its
        // first process runs anything of the image.
        let root = std::fs::File::open(format!("/proc/{init}/root"))
            .context("the container's root directory")?;
        for r in self
            .policies
            .resolve_paths(std::os::fd::AsFd::as_fd(&root))?
        {
            tracing::info!(
                "Rune policy rule {}: {} is {} in the container",
                r.rule,
                r.path,
                r.resolved
            );
        }
        std::fs::write(dir.join(supervisor::FILTER), seccomp::encode(&self.prog))
            .context("save Rune's filter")?;
        std::fs::write(
            dir.join(supervisor::EXEC_RULES),
            serde_json::to_vec(&self.layers)?,
        )
        .context("save Rune's exec rules")?;
        supervisor::spawn(dir, id, self.policies, self.ours, events_dir)
            .context("start the Rune supervisor")?;
        // The init holds its own copy until its exec; ours must go so the supervisor sees the
        // end of the conversation if the init dies first.
        drop(self.theirs);
        Ok(())
    }
}

/// For `exec` into a container that runs under Rune: the hand-over of the new process.
pub fn exec_handoff(
    dir: &Path,
    process: &mut oci_spec::runtime::Process,
) -> Result<Option<(Handoff, OwnedFd)>> {
    let Some(sock) = supervisor::connect_to(dir)? else {
        return Ok(None);
    };
    let bytes = std::fs::read(dir.join(supervisor::FILTER)).context("read Rune's filter")?;
    let layers =
        std::fs::read(dir.join(supervisor::EXEC_RULES)).context("read Rune's exec rules")?;
    let grant = Grant::add_to(process);
    let handoff = Handoff {
        sock: sock.as_fd().as_raw_fd(),
        prog: Arc::new(seccomp::decode(&bytes)),
        layers: serde_json::from_slice(&layers)?,
        grant,
    };
    Ok(Some((handoff, sock)))
}
