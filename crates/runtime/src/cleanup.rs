//! Removing what a container left behind when its state cannot be trusted: a `create` that
//! failed half-way, or one whose rune-run was killed (`kill -9`) before it saved the state.
//! libcontainer's `delete` needs a readable `state.json`; this needs only the directory.

use std::fs;
use std::path::Path;

use libcgroups::common::{CgroupConfig, CgroupManager, create_cgroup_manager};
use libcontainer::config::YoukiConfig;
use libcontainer::container::State;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

#[derive(Debug, thiserror::Error)]
pub enum CleanupError {
    #[error("remove cgroup {path}: {msg}")]
    Cgroup { path: String, msg: String },
    #[error("remove state directory {path}: {source}")]
    StateDir {
        path: String,
        source: std::io::Error,
    },
}

/// Kills whatever belongs to the container, removes its cgroup, then its state directory.
/// The cgroup goes first: once the directory is gone nothing records where the cgroup was.
pub fn remove_leftovers(container_dir: &Path, id: &str, systemd: bool) -> Result<(), CleanupError> {
    // The init may not have joined the cgroup yet when create died; its pid is in the state.
    if container_dir.join("state.json").exists()
        && let Ok(state) = State::load(container_dir)
        && let Some(pid) = state.pid
        && pid > 0
    {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
    if let Some(s) = crate::shim::supervisor::Running::find(container_dir) {
        s.stop();
    }
    // No config file means create died before libcontainer made the cgroup.
    if let Ok(config) = YoukiConfig::load(container_dir) {
        let cgroup = CgroupConfig {
            cgroup_path: config.cgroup_path.clone(),
            systemd_cgroup: systemd,
            container_name: id.to_owned(),
        };
        let err = |msg: String| CleanupError::Cgroup {
            path: config.cgroup_path.display().to_string(),
            msg,
        };
        let manager = create_cgroup_manager(cgroup).map_err(|e| err(e.to_string()))?;
        manager.remove().map_err(|e| err(e.to_string()))?;
    }
    remove_state_dir(container_dir)
}

/// A concurrent verb on the same container (a `kill` saving the state it just changed) can
/// add a file while the directory is being emptied; try again a few times before giving up.
fn remove_state_dir(dir: &Path) -> Result<(), CleanupError> {
    let mut attempts = 0;
    loop {
        match fs::remove_dir_all(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::DirectoryNotEmpty && attempts < 5 => {
                attempts += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(e) => {
                return Err(CleanupError::StateDir {
                    path: dir.display().to_string(),
                    source: e,
                });
            }
        }
    }
}
