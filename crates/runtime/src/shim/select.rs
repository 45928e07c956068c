//! Which Rune policies a container runs under, and on which backend (ARCHITECTURE.md §2):
//! the administrator's `--policy`, the creator's `run.rune.policy` annotation (a name looked
//! up in `--policy-dir`, nothing else is read), `--backend` and the `run.rune.backend`
//! annotation, limited by `--allow-backends`.

use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;
use rune_shim::handler::Policies;
use rune_shim::policy::{self, Backend, Policy};

use crate::cli::{BackendChoice, GlobalOpts};

pub const POLICY_ANNOTATION: &str = "run.rune.policy";
pub const BACKEND_ANNOTATION: &str = "run.rune.backend";

#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    #[error("annotation {POLICY_ANNOTATION}={0:?}: a policy name is [A-Za-z0-9._-]+")]
    BadName(String),
    #[error("annotation {POLICY_ANNOTATION}={name:?}: {}: {err}", path.display())]
    Missing {
        name: String,
        path: PathBuf,
        err: std::io::Error,
    },
    #[error("--policy {}: {err}", path.display())]
    Unreadable { path: PathBuf, err: std::io::Error },
    #[error(transparent)]
    Invalid(#[from] policy::PolicyError),
    #[error("annotation {BACKEND_ANNOTATION}={0:?}: not a backend (auto, seccomp, vsmode)")]
    BadBackend(String),
    #[error("backend {0}: not allowed by the administrator (--allow-backends {1})")]
    NotAllowed(&'static str, String),
    #[error(
        "backend vsmode: containers do not run on it yet (rune-run enforces a container's \
         policies with the seccomp backend; vsmode serves `rune-shim run` only), so a policy \
         validated for vsmode would be enforced by another backend: choose seccomp or auto"
    )]
    VsmodeNotForContainers,
}

/// The policies of one container and the backend that enforces them.
#[derive(Debug, Clone)]
pub struct Selected {
    pub policies: Policies,
    pub backend: Backend,
}

/// The backends this host can run containers on, the first being what `auto` picks. The
/// vsmode backend runs single programs (`rune-shim run`) but not containers yet, so a
/// container's policies are always validated for, and enforced by, the seccomp backend; a
/// host with the H extension changes nothing here until containers run on vsmode.
pub fn available() -> Vec<Backend> {
    vec![Backend::Seccomp]
}

fn parse_choice(s: &str) -> Option<BackendChoice> {
    match s {
        "auto" => Some(BackendChoice::Auto),
        "seccomp" => Some(BackendChoice::Seccomp),
        "vsmode" => Some(BackendChoice::Vsmode),
        _ => None,
    }
}

fn backend(global: &GlobalOpts, spec: &Spec) -> Result<Backend, SelectError> {
    let annotation = spec
        .annotations()
        .as_ref()
        .and_then(|a| a.get(BACKEND_ANNOTATION));
    let choice = match annotation {
        Some(a) => parse_choice(a).ok_or_else(|| SelectError::BadBackend(a.clone()))?,
        None => global.backend,
    };
    let here = available();
    let picked = match choice {
        BackendChoice::Auto => here[0],
        BackendChoice::Seccomp => Backend::Seccomp,
        BackendChoice::Vsmode => return Err(SelectError::VsmodeNotForContainers),
    };
    let allowed = global
        .allow_backends
        .split(',')
        .any(|b| b.trim() == picked.name());
    if annotation.is_some() && !allowed {
        return Err(SelectError::NotAllowed(
            picked.name(),
            global.allow_backends.clone(),
        ));
    }
    Ok(picked)
}

fn load(path: &Path, backend: Backend) -> Result<Policy, SelectError> {
    let text = std::fs::read_to_string(path).map_err(|err| SelectError::Unreadable {
        path: path.to_owned(),
        err,
    })?;
    Ok(policy::parse(
        &path.display().to_string(),
        &text,
        Some(backend),
    )?)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// `None` when no policy applies: the container runs exactly as under runc.
pub fn select(global: &GlobalOpts, spec: &Spec) -> Result<Option<Selected>, SelectError> {
    let named = spec
        .annotations()
        .as_ref()
        .and_then(|a| a.get(POLICY_ANNOTATION))
        .cloned();
    if global.policy.is_none() && named.is_none() {
        return Ok(None);
    }
    let backend = backend(global, spec)?;
    let admin = global
        .policy
        .as_deref()
        .map(|p| load(p, backend))
        .transpose()?;
    let creator = match named {
        None => None,
        Some(name) => {
            if !valid_name(&name) {
                return Err(SelectError::BadName(name));
            }
            let path = global.policy_dir.join(format!("{name}.json"));
            let text = std::fs::read_to_string(&path).map_err(|err| SelectError::Missing {
                name: name.clone(),
                path: path.clone(),
                err,
            })?;
            Some(policy::parse(
                &path.display().to_string(),
                &text,
                Some(backend),
            )?)
        }
    };
    Ok(Some(Selected {
        policies: Policies { admin, creator },
        backend,
    }))
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use oci_spec::runtime::Spec;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        global: GlobalOpts,
    }

    fn global(args: &[&str]) -> GlobalOpts {
        Cli::parse_from(std::iter::once("rune-run").chain(args.iter().copied())).global
    }

    fn annotated(backend: &str) -> Spec {
        let mut spec = Spec::default();
        spec.set_annotations(Some(
            [(BACKEND_ANNOTATION.to_owned(), backend.to_owned())].into(),
        ));
        spec
    }

    #[test]
    fn containers_run_on_seccomp_whatever_the_host() {
        assert_eq!(available(), [Backend::Seccomp]);
        assert_eq!(
            backend(&global(&[]), &Spec::default()).unwrap(),
            Backend::Seccomp
        );
        assert_eq!(
            backend(&global(&["--backend", "seccomp"]), &Spec::default()).unwrap(),
            Backend::Seccomp
        );
        assert_eq!(
            backend(&global(&[]), &annotated("auto")).unwrap(),
            Backend::Seccomp
        );
    }

    #[test]
    fn vsmode_for_a_container_is_refused_naming_why() {
        for (g, spec) in [
            (global(&["--backend", "vsmode"]), Spec::default()),
            (global(&[]), annotated("vsmode")),
        ] {
            let err = backend(&g, &spec).unwrap_err();
            assert!(matches!(err, SelectError::VsmodeNotForContainers), "{err}");
            assert!(err.to_string().contains("containers do not run on it yet"));
        }
    }

    #[test]
    fn a_policy_is_validated_for_the_backend_that_enforces_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        std::fs::write(
            &path,
            r#"{"runeVersion": 1, "defaultAction": "allow", "rules": [{"syscalls": ["getuid"], "action": "emulate", "return": 0}]}"#,
        )
        .unwrap();
        let g = global(&["--policy", path.to_str().unwrap()]);
        let selected = select(&g, &Spec::default()).unwrap().unwrap();
        assert_eq!(selected.backend, Backend::Seccomp);
    }

    #[test]
    fn names_cannot_leave_the_policy_dir() {
        assert!(valid_name("deny-exec.v2"));
        for bad in ["", ".", "..", "../etc/x", "a/b", "a b", "x\0"] {
            assert!(!valid_name(bad), "{bad:?}");
        }
    }
}
