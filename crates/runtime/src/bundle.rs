//! Checks made before `create` touches anything: the container id, the bundle and its
//! `config.json`, and limits this host cannot grant. libcontainer's own errors for these are
//! terse ("failed to load spec"); a user needs the file, the line and the field.

use std::fs;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{PosixRlimit, Spec};

use crate::sys;

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("invalid container id {id:?}: {why}")]
    InvalidId { id: String, why: &'static str },
    #[error("container with id {0} already exists")]
    Exists(String),
    #[error("bundle {0}: no such directory")]
    MissingBundle(PathBuf),
    #[error("{0}: no such file")]
    MissingConfig(PathBuf),
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: line {line} column {column}: {msg}")]
    Malformed {
        path: PathBuf,
        line: usize,
        column: usize,
        msg: String,
    },
    #[error("{path}: ociVersion {version:?} is not supported (only 1.x)")]
    Version { path: PathBuf, version: String },
    #[error("{path}: {field}: {why}")]
    Field {
        path: PathBuf,
        field: &'static str,
        why: String,
    },
}

/// runc's rule: letters, digits, `_`, `+`, `-`, `.`; not `.` or `..` (the id names a directory).
pub fn validate_id(id: &str) -> Result<(), BundleError> {
    let invalid = |why| BundleError::InvalidId {
        id: id.to_owned(),
        why,
    };
    if id.is_empty() {
        return Err(invalid("empty"));
    }
    if id == "." || id == ".." {
        return Err(invalid("must not be . or .."));
    }
    if id == crate::private_bundle::RESERVED {
        return Err(invalid("reserved for rune-run's own files"));
    }
    if id.len() > 1024 {
        return Err(invalid("longer than 1024 bytes"));
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'-' | b'.'))
    {
        return Err(invalid(
            "only letters, digits, '_', '+', '-' and '.' are allowed",
        ));
    }
    Ok(())
}

/// A short list of the hooks a spec runs, for an error that must say which one may have failed.
pub fn describe_hooks(spec: &Spec) -> String {
    let Some(hooks) = spec.hooks() else {
        return "none".to_owned();
    };
    let phases = [
        ("prestart", hooks.prestart()),
        ("createRuntime", hooks.create_runtime()),
        ("createContainer", hooks.create_container()),
        ("startContainer", hooks.start_container()),
        ("poststart", hooks.poststart()),
        ("poststop", hooks.poststop()),
    ];
    let listed: Vec<String> = phases
        .iter()
        .filter_map(|(phase, list)| {
            let paths: Vec<String> = list
                .as_ref()?
                .iter()
                .map(|h| h.path().display().to_string())
                .collect();
            (!paths.is_empty()).then(|| format!("{phase}: {}", paths.join(", ")))
        })
        .collect();
    listed.join("; ")
}

/// Loads `bundle/config.json` and checks what must hold before any side effect.
pub fn load(bundle: &Path) -> Result<Spec, BundleError> {
    if !bundle.is_dir() {
        return Err(BundleError::MissingBundle(bundle.to_owned()));
    }
    let path = bundle.join("config.json");
    let text = fs::read_to_string(&path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => BundleError::MissingConfig(path.clone()),
        _ => BundleError::Read {
            path: path.clone(),
            source,
        },
    })?;
    let spec: Spec = serde_json::from_str(&text).map_err(|e| BundleError::Malformed {
        path: path.clone(),
        line: e.line(),
        column: e.column(),
        msg: strip_position(&e.to_string()),
    })?;
    if !spec.version().starts_with("1.") {
        return Err(BundleError::Version {
            path,
            version: spec.version().clone(),
        });
    }
    check_spec(&spec).map_err(|(field, why)| BundleError::Field {
        path: path.clone(),
        field,
        why,
    })?;
    if let Some(root) = spec.root() {
        let rootfs = bundle.join(root.path());
        if !rootfs.is_dir() {
            return Err(BundleError::Field {
                path,
                field: "root.path",
                why: format!("{}: no such directory", rootfs.display()),
            });
        }
    }
    Ok(spec)
}

/// serde_json appends " at line L column C"; the error already says that in its own words.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

fn check_spec(spec: &Spec) -> Result<(), (&'static str, String)> {
    let process = spec
        .process()
        .as_ref()
        .ok_or(("process", "missing".to_owned()))?;
    if process.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(("process.args", "must name a program to run".to_owned()));
    }
    if spec.root().is_none() {
        return Err(("root", "missing".to_owned()));
    }
    if let Some(adj) = process.oom_score_adj() {
        check_oom_score_adj(adj).map_err(|why| ("process.oomScoreAdj", why))?;
    }
    for rlimit in process.rlimits().iter().flatten() {
        check_rlimit(rlimit).map_err(|why| ("process.rlimits", why))?;
    }
    Ok(())
}

/// The container's init sets its limits as a child of rune-run: a hard limit above
/// rune-run's own needs CAP_SYS_RESOURCE (and `RLIMIT_NOFILE` stays below `fs.nr_open`).
/// Raising one cannot be undone, so a forked child asks the kernel. runc fails later with
/// "error setting rlimit type 7".
fn check_rlimit(rlimit: &PosixRlimit) -> Result<(), String> {
    let name = serde_json::to_value(rlimit.typ())
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{:?}", rlimit.typ()));
    let (soft, hard) = (rlimit.soft(), rlimit.hard());
    if soft > hard {
        return Err(format!(
            "{name}: soft limit {soft} is above its hard limit {hard}"
        ));
    }
    // The enum's discriminants are the kernel's resource numbers, as libcontainer uses them.
    let resource = rlimit.typ() as u32;
    let (_, host_hard) = sys::getrlimit(resource).map_err(|e| format!("{name}: {e}"))?;
    if hard <= host_hard {
        return Ok(());
    }
    sys::in_child(|| sys::setrlimit(resource, soft, hard).map_err(|e| e.to_string())).map_err(
        |why| {
            format!(
                "{name} {hard} is above this host's hard limit {host_hard}: the kernel \
                 refuses it ({why}); raising a hard limit needs CAP_SYS_RESOURCE"
            )
        },
    )
}

const OOM_SCORE_ADJ: &str = "/proc/self/oom_score_adj";

/// The kernel refuses a value below the process's hidden `oom_score_adj_min` without
/// CAP_SYS_RESOURCE; that minimum is not readable, so ask the kernel: set the value on
/// rune-run itself (its container processes inherit it anyway) and put the old one back
/// (always allowed: it was valid). runc fails here with "can't get final child's PID from
/// pipe: EOF".
fn check_oom_score_adj(wanted: i32) -> Result<(), String> {
    if !(-1000..=1000).contains(&wanted) {
        return Err(format!("{wanted} is outside -1000..1000"));
    }
    let current = fs::read_to_string(OOM_SCORE_ADJ).map_err(|e| format!("{OOM_SCORE_ADJ}: {e}"))?;
    match fs::write(OOM_SCORE_ADJ, wanted.to_string()) {
        Ok(()) => {
            let _ = fs::write(OOM_SCORE_ADJ, current.trim());
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Err(format!(
            "{wanted} is below what this host lets rune-run set (currently {}): lowering it \
             needs CAP_SYS_RESOURCE, which rune-run does not have",
            current.trim()
        )),
        Err(e) => Err(format!("{wanted}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_runc_rules() {
        assert!(validate_id("abc-1_2+x.y").is_ok());
        for bad in ["", ".", "..", "a/b", "a b", "../x"] {
            assert!(validate_id(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn oom_score_adj_is_checked_against_the_kernel() {
        let before = fs::read_to_string(OOM_SCORE_ADJ).unwrap();
        assert!(check_oom_score_adj(2000).is_err());
        // Raising is always allowed, and leaves the process as it was.
        assert!(check_oom_score_adj(999).is_ok());
        assert_eq!(fs::read_to_string(OOM_SCORE_ADJ).unwrap(), before);
    }

    #[test]
    fn malformed_config_names_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("config.json"),
            "{\n  \"ociVersion\": \"1.0.2\",\n  oops\n}",
        )
        .unwrap();
        let err = load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("config.json: line 3 column 3"), "{err}");
    }

    #[test]
    fn missing_bundle_and_config_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = load(&dir.path().join("nope")).unwrap_err().to_string();
        assert!(err.contains("nope: no such directory"), "{err}");
        let err = load(dir.path()).unwrap_err().to_string();
        assert!(err.ends_with("config.json: no such file"), "{err}");
        let spec = serde_json::to_string(&Spec::default()).unwrap();
        fs::write(dir.path().join("config.json"), spec).unwrap();
        let err = load(dir.path()).unwrap_err().to_string();
        assert!(
            err.ends_with(
                "root.path: {}/rootfs: no such directory"
                    .replace("{}", &dir.path().display().to_string())
                    .as_str()
            ),
            "{err}"
        );
    }
}
