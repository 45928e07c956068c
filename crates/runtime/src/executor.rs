//! The last step of the container's init: find the program and exec it. libcontainer's
//! default executor insists on a `PATH` even for an absolute `args[0]`, which breaks the CRI
//! sandbox (`/pause`, no environment); this one resolves the program the way runc does.

use std::ffi::CString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use libcontainer::workload::{Executor, ExecutorError, ExecutorValidationError};
use oci_spec::runtime::Spec;

use crate::hooks::StartContainer;
use crate::shim::Handoff;

/// Runs the container's program, through the Rune shim's hand-over when the container has a
/// Rune policy.
#[derive(Clone, Debug, Default)]
pub struct RuneExecutor {
    pub handoff: Option<Handoff>,
    /// Run here when libcontainer's own run would give them the private bundle (`hooks`).
    pub start_container: Option<StartContainer>,
}

/// runc's rule (Go's `exec.LookPath`): a name with a slash is used as it is; any other name
/// is searched in the process's own `PATH`, and without one it is not found.
fn resolve(program: &str, env: &[String]) -> Result<PathBuf, String> {
    if program.contains('/') {
        return check_executable(Path::new(program)).map(|()| PathBuf::from(program));
    }
    let path_var = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or_default();
    path_var
        .split(':')
        .filter(|dir| !dir.is_empty())
        .map(|dir| Path::new(dir).join(program))
        .find(|candidate| check_executable(candidate).is_ok())
        .ok_or_else(|| format!("{program:?}: executable file not found in $PATH ({path_var:?})"))
}

fn check_executable(path: &Path) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.is_dir() || meta.permissions().mode() & 0o111 == 0 {
        return Err(format!("{}: not an executable file", path.display()));
    }
    Ok(())
}

fn args_and_env(spec: &Spec) -> Option<(&[String], &[String])> {
    let process = spec.process().as_ref()?;
    let args = process.args().as_deref().filter(|a| !a.is_empty())?;
    Some((args, process.env().as_deref().unwrap_or_default()))
}

impl Executor for RuneExecutor {
    fn validate(&self, spec: &Spec) -> Result<(), ExecutorValidationError> {
        let (args, env) = args_and_env(spec).ok_or_else(|| {
            ExecutorValidationError::ArgValidationError("process.args is empty".into())
        })?;
        resolve(&args[0], env).map(drop).map_err(|e| {
            ExecutorValidationError::ArgValidationError(format!("process.args[0]: {e}"))
        })
    }

    fn exec(&self, spec: &Spec) -> Result<(), ExecutorError> {
        let (args, env) = args_and_env(spec).ok_or(ExecutorError::InvalidArg)?;
        let program = resolve(&args[0], env).map_err(ExecutorError::Other)?;
        let to_c = |s: &str| CString::new(s).map_err(|_| ExecutorError::InvalidArg);
        let program = to_c(&program.to_string_lossy())?;
        let argv = args
            .iter()
            .map(|a| to_c(a))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(hooks) = &self.start_container {
            hooks
                .run()
                .map_err(|e| ExecutorError::Other(e.to_string()))?;
        }
        if let Some(h) = &self.handoff {
            // The init entered its working directory before `create` made the denied exec
            // prefixes noexec: entered again, it is on the noexec mount like any later lookup.
            if h.makes_noexec()
                && let Some(cwd) = spec.process().as_ref().map(|p| p.cwd())
            {
                nix::unistd::chdir(cwd.as_path())
                    .map_err(|e| ExecutorError::Other(format!("chdir {}: {e}", cwd.display())))?;
            }
            h.enter().map_err(ExecutorError::Other)?;
        }
        // libcontainer has already replaced the environment with process.env.
        let err = nix::unistd::execv(&program, &argv).unwrap_err();
        Err(ExecutorError::Other(format!("exec {:?}: {err}", args[0])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_like_runc() {
        let env = vec!["PATH=/nonexistent:/bin".to_owned()];
        assert_eq!(resolve("sh", &env).unwrap(), PathBuf::from("/bin/sh"));
        assert_eq!(resolve("/bin/sh", &[]).unwrap(), PathBuf::from("/bin/sh"));
        let err = resolve("sh", &[]).unwrap_err();
        assert!(err.contains("not found in $PATH"), "{err}");
        assert!(
            resolve("/etc/passwd", &[])
                .unwrap_err()
                .contains("not an executable")
        );
        assert!(resolve("/nope", &[]).is_err());
    }
}
