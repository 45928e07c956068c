//! Policy paths as the container reaches them. A rule names paths (`/var/run/secrets`), but
//! the backends decide on the real path of the object a call reaches (`/run/secrets` when
//! the image has `/var/run` → `../run`, as Debian, Ubuntu and Alpine do, and Kubernetes
//! mounts service-account tokens there). So each path of a predicate is looked up inside the
//! container's root once, before its first process runs (every mount in place), and the
//! predicate holds for either form. What is not there yet is resolved as far as it exists.
//! A path that can only be reached through a magic link, or that leads outside the root, is
//! refused: a rule that cannot be resolved safely cannot be enforced exactly.
//!
//! The image is the container creator's, so its symlinks may only ever make a policy
//! stricter: only what a `deny` or `kill` rule matches is resolved (with `exact`, `prefix`,
//! `glob` or `in`). An `allow`, `log`, `emulate` or `rewrite` rule matching more would shadow
//! the rules after it, and a `notIn` list grown by resolved names would deny less: an image
//! that links `/opt/app` to `/etc` must not open `/etc` to a rule that allows `/opt/app`.

use std::ffi::OsStr;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;

use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag, openat2};

use super::model::{Action, PathPredicate, Policy};

/// One predicate path whose real path differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    pub rule: String,
    pub path: String,
    pub resolved: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(
        "{file}: rule {rule}: match.path {path:?} cannot be resolved safely in the container ({why})"
    )]
    Unsafe {
        file: String,
        rule: String,
        path: String,
        why: String,
    },
}

/// How often a lookup with `..` is tried again when the kernel says something was renamed
/// or mounted meanwhile (openat2's documented EAGAIN).
const RETRIES: usize = 16;

fn real_path(fd: BorrowedFd<'_>) -> Result<String, Errno> {
    let p = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
        .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
    Ok(p.to_string_lossy().into_owned())
}

/// The real path, inside `root`, of what `path` names: its longest existing ancestor looked
/// up by the kernel (symlinks followed within the root), the rest appended as written.
fn resolve_one(root: BorrowedFd<'_>, root_path: &str, path: &str) -> Result<String, String> {
    let parts: Vec<&str> = path
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    // `/proc/self` means whichever process looks: here, not the caller.
    if matches!(parts[..], ["proc", "self" | "thread-self", ..]) {
        return Ok(path.to_owned());
    }
    if parts.contains(&"..") {
        return Err("it contains '..'".into());
    }
    for keep in (0..=parts.len()).rev() {
        let prefix = format!("/{}", parts[..keep].join("/"));
        let how = OpenHow::new()
            .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
            .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
        let mut found = Err(Errno::EAGAIN);
        for _ in 0..RETRIES {
            found = openat2(root.as_raw_fd(), OsStr::from_bytes(prefix.as_bytes()), how);
            if found != Err(Errno::EAGAIN) {
                break;
            }
        }
        let fd = match found {
            Ok(fd) => crate::seccomp::sys::adopt([fd]).remove(0),
            Err(Errno::ENOENT | Errno::ENOTDIR) => continue,
            Err(Errno::ELOOP) => return Err(format!("{prefix} leads through a magic link")),
            Err(e) => return Err(format!("{prefix}: {e}")),
        };
        let real = real_path(std::os::fd::AsFd::as_fd(&fd)).map_err(|e| e.to_string())?;
        let inside = if root_path == "/" {
            Some(real.as_str())
        } else {
            real.strip_prefix(root_path)
                .filter(|r| r.is_empty() || r.starts_with('/'))
        };
        let Some(inside) = inside else {
            return Err(format!("{prefix} is reached outside the root"));
        };
        let mut out = if inside.is_empty() {
            "/".to_owned()
        } else {
            inside.to_owned()
        };
        for part in &parts[keep..] {
            if !out.ends_with('/') {
                out.push('/');
            }
            out.push_str(part);
        }
        return Ok(out);
    }
    Ok(path.to_owned())
}

/// The literal directory part of a glob (up to its first wildcard component) and the rest.
fn glob_split(g: &str) -> (String, String) {
    let parts: Vec<&str> = g.split('/').collect();
    let first_wild = parts
        .iter()
        .position(|c| c.contains(['*', '?', '[']))
        .unwrap_or(parts.len());
    let fixed = parts[..first_wild].join("/");
    let rest = parts[first_wild..].join("/");
    (if fixed.is_empty() { "/".into() } else { fixed }, rest)
}

fn resolve_predicate(
    p: &mut PathPredicate,
    mut one: impl FnMut(&str) -> Result<String, String>,
) -> Result<Vec<(String, String)>, (String, String)> {
    let mut changed = Vec::new();
    let literal: Vec<String> = p
        .exact
        .iter()
        .chain(p.prefix.iter())
        .chain(p.in_list.iter().flatten())
        .cloned()
        .collect();
    for path in literal {
        let real = one(&path).map_err(|why| (path.clone(), why))?;
        if real != path {
            changed.push((path, real));
        }
    }
    if let Some(g) = p.glob.clone() {
        let (fixed, rest) = glob_split(&g);
        let real = one(&fixed).map_err(|why| (g.clone(), why))?;
        if real != fixed {
            let joined = format!("{}/{rest}", real.trim_end_matches('/'));
            changed.push((g, joined));
        }
    }
    p.resolved = changed.iter().map(|(_, r)| r.clone()).collect();
    Ok(changed)
}

impl Policy {
    /// Resolves every path predicate inside `root` (a descriptor of the container's root
    /// directory): afterwards each holds for the paths as written and as resolved. Returns
    /// what resolved differently, for `policy explain` and the log.
    pub fn resolve_paths(
        &mut self,
        file: &str,
        root: BorrowedFd<'_>,
    ) -> Result<Vec<Resolution>, ResolveError> {
        let root_path = real_path(root).map_err(|e| ResolveError::Unsafe {
            file: file.into(),
            rule: "-".into(),
            path: "/".into(),
            why: e.to_string(),
        })?;
        let mut out = Vec::new();
        for (i, rule) in self.rules.iter_mut().enumerate() {
            let label = rule.name.clone().unwrap_or_else(|| format!("#{i}"));
            if !matches!(rule.action, Action::Deny | Action::Kill) {
                continue;
            }
            let Some(p) = rule.matches.as_mut().and_then(|m| m.path.as_mut()) else {
                continue;
            };
            let changed = resolve_predicate(p, |path| resolve_one(root, &root_path, path))
                .map_err(|(path, why)| ResolveError::Unsafe {
                    file: file.into(),
                    rule: label.clone(),
                    path,
                    why,
                })?;
            out.extend(changed.into_iter().map(|(path, resolved)| Resolution {
                rule: label.clone(),
                path,
                resolved,
            }));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use crate::handler::matcher::path_matches;
    use crate::policy::parse;
    use std::os::fd::AsFd;

    #[test]
    fn a_predicate_holds_for_the_object_behind_an_image_symlink() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("run/secrets")).unwrap();
        std::fs::create_dir(root.path().join("var")).unwrap();
        std::os::unix::fs::symlink("../run", root.path().join("var/run")).unwrap();
        let mut p = parse(
            "t.json",
            r#"{"runeVersion": 1, "defaultAction": "allow", "rules": [
                {"name": "tokens", "syscalls": ["@open"], "match": {"path": {"prefix": "/var/run/secrets"}}, "action": "deny"},
                {"name": "later", "syscalls": ["@open"], "match": {"path": {"exact": "/var/run/not/yet"}}, "action": "deny"},
                {"name": "g", "syscalls": ["@open"], "match": {"path": {"glob": "/var/run/*/token"}}, "action": "deny"},
                {"name": "plain", "syscalls": ["@open"], "match": {"path": {"prefix": "/etc"}}, "action": "deny"},
                {"name": "app", "syscalls": ["@open"], "match": {"path": {"prefix": "/var/run/app"}}, "action": "allow"},
                {"name": "only", "syscalls": ["@open"], "match": {"path": {"notIn": ["/var/run/x"]}}, "action": "deny"}]}"#,
            None,
        )
        .unwrap();
        let dir = std::fs::File::open(root.path()).unwrap();
        let got = p.resolve_paths("t.json", dir.as_fd()).unwrap();
        let said: Vec<(&str, &str)> = got
            .iter()
            .map(|r| (r.path.as_str(), r.resolved.as_str()))
            .collect();
        assert_eq!(
            said,
            [
                ("/var/run/secrets", "/run/secrets"),
                ("/var/run/not/yet", "/run/not/yet"),
                ("/var/run/*/token", "/run/*/token"),
            ]
        );
        let pred = |i: usize| p.rules[i].matches.as_ref().unwrap().path.as_ref().unwrap();
        assert!(path_matches(pred(0), "/run/secrets/kubernetes.io/token"));
        assert!(path_matches(pred(0), "/var/run/secrets/x"));
        assert!(path_matches(pred(2), "/run/a/token"));
        assert!(!path_matches(pred(3), "/run/secrets"));
        // An image's symlink never widens what is allowed, nor narrows a notIn denial.
        assert!(!path_matches(pred(4), "/run/app/x"));
        assert!(path_matches(pred(5), "/run/x"));
    }

    #[test]
    fn a_path_through_a_magic_link_is_refused() {
        let mut p = parse(
            "t.json",
            r#"{"runeVersion": 1, "defaultAction": "allow", "rules": [
                {"name": "m", "syscalls": ["@open"], "match": {"path": {"prefix": "/proc/1/root/etc/shadow"}}, "action": "deny"}]}"#,
            None,
        )
        .unwrap();
        let host = std::fs::File::open("/").unwrap();
        let err = p
            .resolve_paths("t.json", host.as_fd())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "t.json: rule m: match.path \"/proc/1/root/etc/shadow\" cannot be resolved safely"
            ),
            "{err}"
        );
    }
}
