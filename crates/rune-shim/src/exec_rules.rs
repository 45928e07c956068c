//! Path rules on `@exec`. What they promise, and what enforces it (the kernel, never a check
//! followed by a continue):
//!
//! - `prefix: P` with `deny`: no file under P runs as code. P is made `noexec` in the
//!   container's own mount namespace (`mount_noexec`: a bind of P onto itself, then
//!   `MOUNT_ATTR_NOEXEC` on it and every mount below), so neither `execve` nor the dynamic
//!   loader (`ld.so /tmp/prog`, `LD_PRELOAD`) nor an allowed program's `mmap(PROT_EXEC)` of
//!   such a file succeeds; Landlock (`LANDLOCK_ACCESS_FS_EXECUTE`) refuses `execve` of
//!   anything under P as well, also through names created later. Landlock can only allow, so
//!   its layer allows every entry beside each component of P (`/` minus `tmp`, `/tmp` minus
//!   `evil`, …), taken when the rule is applied; symlinks are not followed (their targets are
//!   judged where they are). Stricter than the rule in one way: a program created later
//!   directly in one of P's ancestors cannot be executed either.
//! - `notIn: [A, B]` with `deny`: only A and B may be executed (`execve`, `execveat`, and as
//!   the interpreter of a program): a Landlock allow-list. A listed program may still map
//!   code from elsewhere (`dlopen`, `LD_PRELOAD`): list only programs that load no code the
//!   container can write, or add a prefix rule for its writable directories.
//! - With either, no memory file can be executed: `memfd_create` is made on the caller's
//!   behalf with `MFD_NOEXEC_SEAL` (`MFD_EXEC` is refused), as `vm.memfd_noexec = 2` would,
//!   because Landlock does not see memory files. Code a program writes into anonymous memory
//!   and maps executable itself (a JIT) is its own and is not what these rules are about.
//!
//! Each rule becomes one Landlock layer; layers intersect, as the rules' denials add up.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use landlock::{
    AccessFs, CompatLevel, Compatible, PathBeneath, Ruleset, RulesetAttr, RulesetCreatedAttr,
};
use nix::fcntl::{OFlag, open};
use nix::sys::stat::{Mode, SFlag, fstat};

use crate::handler::Policies;
use crate::handler::policies::covers;
use crate::policy::model::Action;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Layer {
    AllowOnly(Vec<String>),
    AllExcept(String),
}

#[derive(Debug, thiserror::Error)]
pub enum ExecRuleError {
    #[error("Landlock (exec rules): {0}")]
    Landlock(#[from] landlock::RulesetError),
    #[error("Landlock (exec rules): {path}: {err}")]
    Path { path: String, err: io::Error },
    #[error(
        "exec rule on prefix {prefix}: not in the container's file system (it is made noexec there, so it must exist)"
    )]
    Missing { prefix: String },
    #[error(
        "exec rule on prefix {prefix}: {path} is on a mount shared with the host (rshared propagation): its noexec bind would reach the host; use private or slave propagation for it"
    )]
    Shared { prefix: String, path: String },
    #[error("exec rule on prefix {prefix}: making {path} noexec in the container: {err}")]
    Noexec {
        prefix: String,
        path: String,
        err: io::Error,
    },
}

/// The Landlock layers the exec rules of `policies` need.
pub fn layers(policies: &Policies) -> Vec<Layer> {
    let mut out = Vec::new();
    for rule in policies.iter().flat_map(|p| &p.rules) {
        if !covers(rule, "execve") || !matches!(rule.action, Action::Deny | Action::Kill) {
            continue;
        }
        let Some(p) = rule.matches.as_ref().and_then(|m| m.path.as_ref()) else {
            continue;
        };
        if let Some(list) = &p.not_in {
            out.push(Layer::AllowOnly(list.clone()));
        } else if let Some(prefix) = &p.prefix {
            out.push(Layer::AllExcept(prefix.clone()));
        }
    }
    out
}

/// `path` with its longest existing ancestor resolved (symlinks followed), the rest appended.
fn resolve_existing(path: &Path) -> PathBuf {
    let mut rest = Vec::new();
    let mut cur = path.to_path_buf();
    loop {
        if let Ok(real) = std::fs::canonicalize(&cur) {
            return rest.iter().rev().fold(real, |acc, part| acc.join(part));
        }
        match (cur.parent(), cur.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                cur = parent.to_path_buf();
            }
            _ => return path.to_path_buf(),
        }
    }
}

fn open_nofollow(path: &Path) -> io::Result<Option<OwnedFd>> {
    let fd = open(
        path,
        OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let fd = crate::seccomp::sys::adopt([fd]).remove(0);
    let st = fstat(std::os::fd::AsRawFd::as_raw_fd(&fd))?;
    let symlink = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) == SFlag::S_IFLNK;
    Ok((!symlink).then_some(fd))
}

/// What a layer allows to be executed, as open descriptors.
fn allowed(layer: &Layer) -> Result<Vec<OwnedFd>, ExecRuleError> {
    let err = |path: &Path, err: io::Error| ExecRuleError::Path {
        path: path.display().to_string(),
        err,
    };
    let mut fds = Vec::new();
    match layer {
        Layer::AllowOnly(list) => {
            for p in list {
                let path = Path::new(p);
                match open(path, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty()) {
                    Ok(fd) => fds.push(crate::seccomp::sys::adopt([fd]).remove(0)),
                    // A listed program that does not exist allows nothing.
                    Err(nix::errno::Errno::ENOENT) => {}
                    Err(e) => return Err(err(path, e.into())),
                }
            }
        }
        Layer::AllExcept(prefix) => {
            // The prefix as the kernel will reach it (a symlinked /bin is /usr/bin).
            let resolved = resolve_existing(Path::new(prefix));
            let mut dir = PathBuf::from("/");
            for part in resolved.components().skip(1) {
                let entries = match std::fs::read_dir(&dir) {
                    Ok(e) => e,
                    // Nothing under the prefix exists: nothing beside it to allow below here.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                    Err(e) => return Err(err(&dir, e)),
                };
                for entry in entries {
                    let entry = entry.map_err(|e| err(&dir, e))?;
                    if entry.file_name() == part.as_os_str() {
                        continue;
                    }
                    let p = entry.path();
                    match open_nofollow(&p) {
                        Ok(Some(fd)) => fds.push(fd),
                        Ok(None) => {}
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                        Err(e) => return Err(err(&p, e)),
                    }
                }
                dir.push(part);
            }
        }
    }
    Ok(fds)
}

/// The prefixes the layers deny execution under.
pub fn denied_prefixes(layers: &[Layer]) -> impl Iterator<Item = &str> {
    layers.iter().filter_map(|l| match l {
        Layer::AllExcept(p) => Some(p.as_str()),
        Layer::AllowOnly(_) => None,
    })
}

/// Makes every denied prefix `noexec`, in the calling process's mount namespace and as its
/// root sees it: the caller has entered the container's own (never the host's).
/// `mountinfo` is that namespace's, as its root sees it (the container init's), to refuse a
/// prefix on a mount shared with the host; `None` for a namespace made private.
pub fn mount_noexec(layers: &[Layer], mountinfo: Option<&str>) -> Result<(), ExecRuleError> {
    for prefix in denied_prefixes(layers) {
        let real = std::fs::canonicalize(prefix).map_err(|_| ExecRuleError::Missing {
            prefix: prefix.to_owned(),
        })?;
        let failed = |err: io::Error| ExecRuleError::Noexec {
            prefix: prefix.to_owned(),
            path: real.display().to_string(),
            err,
        };
        // A mount made on a mount shared with the host would appear on the host too.
        if mountinfo.is_some_and(|info| on_shared_mount(info, &real)) {
            return Err(ExecRuleError::Shared {
                prefix: prefix.to_owned(),
                path: real.display().to_string(),
            });
        }
        nix::mount::mount(
            Some(&real),
            &real,
            None::<&str>,
            nix::mount::MsFlags::MS_BIND | nix::mount::MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(|e| failed(e.into()))?;
        let c = std::ffi::CString::new(real.as_os_str().as_encoded_bytes())
            .map_err(|_| failed(io::Error::from_raw_os_error(libc::EINVAL)))?;
        crate::seccomp::sys::mount_noexec_recursive(&c).map_err(failed)?;
    }
    Ok(())
}

/// Whether `path` lies on a mount whose propagation is shared (`shared:N` in `mountinfo`):
/// the mount with the longest mount point above it decides.
fn on_shared_mount(mountinfo: &str, path: &Path) -> bool {
    mountinfo
        .lines()
        .filter_map(|l| {
            let (left, _) = l.split_once(" - ")?;
            let f: Vec<&str> = left.split_whitespace().collect();
            let point = PathBuf::from(f.get(4)?.replace("\\040", " "));
            let shared = f.iter().skip(6).any(|o| o.starts_with("shared:"));
            path.starts_with(&point)
                .then_some((point.as_os_str().len(), shared))
        })
        .max_by_key(|(len, _)| *len)
        .is_some_and(|(_, shared)| shared)
}

/// Restricts the calling process (and what it execs) by `layers`. Needs `no_new_privs` or
/// `CAP_SYS_ADMIN`, like a seccomp filter; does not set `no_new_privs` itself.
pub fn apply(layers: &[Layer]) -> Result<(), ExecRuleError> {
    for layer in layers {
        let fds = allowed(layer)?;
        let mut ruleset = Ruleset::default()
            .set_compatibility(CompatLevel::HardRequirement)
            .handle_access(AccessFs::Execute)?
            .create()?
            .no_new_privs(false);
        for fd in &fds {
            ruleset = ruleset.add_rule(PathBeneath::new(fd.as_fd(), AccessFs::Execute))?;
        }
        ruleset.restrict_self()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::parse;

    #[test]
    fn a_prefix_on_a_shared_mount_is_seen() {
        let info = "1 0 0:1 / / rw - ext4 /dev/x rw\n\
                    2 1 0:2 / /data rw shared:7 - ext4 /dev/y rw\n\
                    3 2 0:3 / /data/own rw master:7 - tmpfs t rw";
        assert!(on_shared_mount(info, Path::new("/data/x")));
        assert!(!on_shared_mount(info, Path::new("/data/own/x")));
        assert!(!on_shared_mount(info, Path::new("/tmp")));
    }

    #[test]
    fn one_layer_per_exec_rule() {
        let p = parse(
            "t.json",
            r#"{"runeVersion": 1, "defaultAction": "allow", "rules": [
                {"syscalls": ["@exec"], "match": {"path": {"prefix": "/tmp"}}, "action": "deny"},
                {"syscalls": ["@exec"], "match": {"path": {"notIn": ["/bin/busybox"]}}, "action": "deny"},
                {"syscalls": ["@open"], "match": {"path": {"prefix": "/etc"}}, "action": "deny"}]}"#,
            None,
        )
        .unwrap();
        let policies = Policies {
            admin: Some(p),
            creator: None,
        };
        assert_eq!(
            layers(&policies),
            vec![
                Layer::AllExcept("/tmp".into()),
                Layer::AllowOnly(vec!["/bin/busybox".into()])
            ]
        );
    }
}
