//! OCI hooks with the runtime spec's semantics, where libcontainer 0.7's differ.
//!
//! - **The client's bundle.** Every hook reads the state on stdin, whose `bundle` must be the
//!   directory the client passed. When libcontainer reads a private copy of `config.json`
//!   (`private_bundle`), its state names the copy. In that copy the hooks of the create phases
//!   that run in the runtime's namespaces or before `pivot_root` (`prestart`,
//!   `createRuntime`, `createContainer`) run through `rune-run hook`, which puts the client's
//!   bundle into the state and execs the real hook (same pid, so `timeout` still holds);
//!   `startContainer` runs inside the container, where no rune-run binary can be reached, so
//!   the executor runs it at the same point (after `start`, just before the program).
//! - **Failures after the fact.** A failing `poststart` or `poststop` hook is a warning; the
//!   operation carries on. libcontainer fails `start` and `delete` instead (and leaves the state
//!   directory), so rune-run takes those two phases out of the configuration libcontainer
//!   keeps and runs them itself, on every `start` and every `delete` (`--force` and the end of
//!   a foreground `run` included).

use std::collections::HashMap;
use std::ffi::{CString, OsString};
use std::fs;
use std::io::{Read, Seek, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use libcontainer::config::YoukiConfig;
use libcontainer::container::{ContainerStatus, State};
use oci_spec::runtime::{Hook, HookBuilder, Spec};
use serde::{Deserialize, Serialize};

/// Where the state directory keeps the hooks rune-run runs itself.
const DEFERRED: &str = "rune-hooks.json";

/// The wrapper: this binary (a sealed copy when it runs a container) as it appears to the
/// process that runs the hook, which is rune-run or the container's init before `pivot_root`.
const SELF: &str = "/proc/self/exe";

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("take the poststart and poststop hooks out of {path}: {source}")]
    Config {
        path: PathBuf,
        source: libcontainer::config::ConfigError,
    },
    #[error("record the poststart and poststop hooks in {path}: {source}")]
    Save {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{phase} hook {path}: {source}")]
    Failed {
        phase: &'static str,
        path: PathBuf,
        source: libcontainer::hooks::HookError,
    },
    #[error("hook {path}: {msg}")]
    Wrapper { path: PathBuf, msg: String },
}

/// The `poststart` and `poststop` hooks of a container, kept in its state directory.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Deferred {
    poststart: Vec<Hook>,
    poststop: Vec<Hook>,
}

impl Deferred {
    /// After `create`: moves both phases out of the configuration libcontainer saved in
    /// `state_dir`, into a file of rune-run's own.
    pub fn take(state_dir: &Path) -> Result<(), HookError> {
        let config_err = |source| HookError::Config {
            path: state_dir.to_owned(),
            source,
        };
        let mut config = YoukiConfig::load(state_dir).map_err(config_err)?;
        let Some(hooks) = config.hooks.as_mut() else {
            return Ok(());
        };
        let deferred = Deferred {
            poststart: hooks.poststart_mut().take().unwrap_or_default(),
            poststop: hooks.poststop_mut().take().unwrap_or_default(),
        };
        if deferred.poststart.is_empty() && deferred.poststop.is_empty() {
            return Ok(());
        }
        let path = state_dir.join(DEFERRED);
        let text = serde_json::to_vec(&deferred).expect("hooks serialize");
        fs::write(&path, text).map_err(|source| HookError::Save { path, source })?;
        config.save(state_dir).map_err(config_err)
    }

    pub fn load(state_dir: &Path) -> Deferred {
        fs::read(state_dir.join(DEFERRED))
            .ok()
            .and_then(|text| serde_json::from_slice(&text).ok())
            .unwrap_or_default()
    }

    /// Runs `poststart` with `state` (the container's, bundle the client's); a failure is
    /// logged and the start stands.
    pub fn poststart(&self, state: &State) {
        warn_on_failure(run("poststart", &self.poststart, state, None));
    }

    /// Runs `poststop` once the container is gone; a failure is logged and the delete stands.
    pub fn poststop(&self, state: &State) {
        let mut stopped = state.clone();
        stopped.status = ContainerStatus::Stopped;
        stopped.pid = None;
        warn_on_failure(run("poststop", &self.poststop, &stopped, None));
    }
}

fn warn_on_failure(result: Result<(), HookError>) {
    if let Err(err) = result {
        tracing::warn!("{err}");
    }
}

fn run(
    phase: &'static str,
    hooks: &[Hook],
    state: &State,
    env: Option<&HashMap<String, String>>,
) -> Result<(), HookError> {
    for hook in hooks {
        libcontainer::hooks::run_hooks(Some(&vec![hook.clone()]), Some(state), None, None, env)
            .map_err(|source| HookError::Failed {
                phase,
                path: hook.path().clone(),
                source,
            })?;
    }
    Ok(())
}

/// The `startContainer` hooks, which the executor runs in the container's init.
#[derive(Clone, Debug)]
pub struct StartContainer {
    hooks: Vec<Hook>,
    state: State,
}

impl StartContainer {
    /// Runs in the init after `start`, before the program; its environment is the process's.
    pub fn run(&self) -> Result<(), HookError> {
        let mut state = self.state.clone();
        state.status = ContainerStatus::Created;
        state.pid = Some(std::process::id() as i32);
        let env: HashMap<String, String> = std::env::vars().collect();
        run("startContainer", &self.hooks, &state, Some(&env))
    }
}

/// Rewrites the hooks of `spec` (the private copy libcontainer will read) so that each gets
/// the client's `bundle`; returns the `startContainer` hooks for the executor.
pub fn for_private_bundle(spec: &mut Spec, id: &str, bundle: &Path) -> Option<StartContainer> {
    let hooks = spec.hooks_mut().as_mut()?;
    let wrap = |list: &mut Option<Vec<Hook>>| {
        for hook in list.iter_mut().flatten() {
            *hook = wrapped(hook, bundle);
        }
    };
    wrap(hooks.prestart_mut());
    wrap(hooks.create_runtime_mut());
    wrap(hooks.create_container_mut());
    let start = hooks
        .start_container_mut()
        .take()
        .filter(|h| !h.is_empty())?;
    let mut state = State::new(id, ContainerStatus::Created, None, bundle.to_owned());
    state.annotations = spec.annotations().clone();
    Some(StartContainer {
        hooks: start,
        state,
    })
}

fn wrapped(hook: &Hook, bundle: &Path) -> Hook {
    let path = hook.path().display().to_string();
    let mut args = vec![
        "rune-run".to_owned(),
        "hook".to_owned(),
        "--bundle".to_owned(),
        bundle.display().to_string(),
        "--".to_owned(),
        path.clone(),
    ];
    // The hook's own argv, arg0 included; without one, arg0 is the path, as runc does.
    args.extend(hook.args().clone().unwrap_or_else(|| vec![path]));
    let mut builder = HookBuilder::default().path(SELF).args(args);
    if let Some(env) = hook.env() {
        builder = builder.env(env.clone());
    }
    if let Some(timeout) = hook.timeout() {
        builder = builder.timeout(timeout);
    }
    builder.build().expect("a hook with a path builds")
}

/// `rune-run hook --bundle B -- PATH ARGV...`: reads the state on stdin, sets its `bundle`,
/// and execs PATH with ARGV (ARGV[0] as its name) and the state on stdin. Returns only on error.
pub fn exec_with_bundle(bundle: &Path, command: &[OsString]) -> Result<(), HookError> {
    let (path, argv) = command.split_first().ok_or_else(|| HookError::Wrapper {
        path: PathBuf::new(),
        msg: "no hook to run".to_owned(),
    })?;
    let fail = |msg: String| HookError::Wrapper {
        path: PathBuf::from(path),
        msg,
    };
    let mut text = Vec::new();
    std::io::stdin()
        .read_to_end(&mut text)
        .map_err(|e| fail(format!("read the state: {e}")))?;
    let mut state: serde_json::Value =
        serde_json::from_slice(&text).map_err(|e| fail(format!("the state is not JSON: {e}")))?;
    state["bundle"] = serde_json::Value::String(bundle.display().to_string());
    // A file, not a pipe: a hook that never reads its stdin must not block us, or it.
    let memfd = nix::sys::memfd::memfd_create(
        c"rune-hook-state",
        nix::sys::memfd::MemFdCreateFlag::empty(),
    )
    .map_err(|e| fail(format!("memfd_create: {e}")))?;
    let mut file = fs::File::from(memfd);
    file.write_all(&serde_json::to_vec(&state).expect("state serializes"))
        .and_then(|()| file.rewind())
        .map_err(|e| fail(format!("write the state: {e}")))?;
    nix::unistd::dup2(std::os::fd::AsRawFd::as_raw_fd(&file), 0)
        .map_err(|e| fail(format!("dup2: {e}")))?;
    let c = |s: &std::ffi::OsStr| {
        CString::new(s.as_bytes()).map_err(|_| fail("NUL in an argument".into()))
    };
    let program = c(path)?;
    let argv = argv.iter().map(|a| c(a)).collect::<Result<Vec<_>, _>>()?;
    let err = nix::unistd::execv(&program, &argv).unwrap_err();
    Err(fail(format!("exec: {err}")))
}
