//! Does a rule match a call? Argument comparisons with the OCI seccomp operators, and path
//! predicates on the already-resolved path the call would act on.

use crate::policy::model::{ArgMatch, CmpOp, PathPredicate};

/// `prefix` matches whole components: `/etc/ssl` matches `/etc/ssl` and `/etc/ssl/x`, not
/// `/etc/sslx`.
pub fn has_prefix(path: &str, prefix: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    if prefix.is_empty() {
        return path.starts_with('/');
    }
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Shell-style glob: `*` and `?` stay within a component, `**` crosses them.
pub fn glob(pattern: &str, path: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match p {
            [] => s.is_empty(),
            [b'*', b'*', rest @ ..] => (0..=s.len()).any(|i| go(rest, &s[i..])),
            [b'*', rest @ ..] => (0..=s.len())
                .take_while(|&i| i == 0 || s[i - 1] != b'/')
                .any(|i| go(rest, &s[i..])),
            [b'?', rest @ ..] => s.first().is_some_and(|&c| c != b'/') && go(rest, &s[1..]),
            [c, rest @ ..] => s.first() == Some(c) && go(rest, &s[1..]),
        }
    }
    go(pattern.as_bytes(), path.as_bytes())
}

/// Whether `path` (the real path of the object a call acts on) matches: the predicate's own
/// paths or their resolved forms (`PathPredicate::resolved`).
pub fn path_matches(p: &PathPredicate, path: &str) -> bool {
    let listed = |list: &[String]| list.iter().chain(&p.resolved).any(|x| x == path);
    if let Some(e) = &p.exact {
        return path == e || listed(&[]);
    }
    if let Some(pre) = &p.prefix {
        return std::iter::once(pre)
            .chain(&p.resolved)
            .any(|pre| has_prefix(path, pre));
    }
    if let Some(g) = &p.glob {
        return std::iter::once(g).chain(&p.resolved).any(|g| glob(g, path));
    }
    if let Some(list) = &p.in_list {
        return listed(list);
    }
    if let Some(list) = &p.not_in {
        return !listed(list);
    }
    false
}

pub fn arg_matches(m: &ArgMatch, args: &[u64; 6]) -> bool {
    let v = args[usize::from(m.index)];
    match m.op {
        CmpOp::Eq => v == m.value,
        CmpOp::Ne => v != m.value,
        CmpOp::Lt => v < m.value,
        CmpOp::Le => v <= m.value,
        CmpOp::Gt => v > m.value,
        CmpOp::Ge => v >= m.value,
        // libseccomp's order: (arg & value) == valueTwo; the validator makes valueTwo present.
        CmpOp::MaskedEq => m.value_two.is_some_and(|want| v & m.value == want),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_is_by_component() {
        assert!(has_prefix("/etc/ssl", "/etc/ssl"));
        assert!(has_prefix("/etc/ssl/x", "/etc/ssl/"));
        assert!(!has_prefix("/etc/sslx", "/etc/ssl"));
        assert!(has_prefix("/anything", "/"));
    }

    #[test]
    fn globs() {
        assert!(glob("/etc/*.conf", "/etc/a.conf"));
        assert!(!glob("/etc/*.conf", "/etc/x/a.conf"));
        assert!(glob("/etc/**.conf", "/etc/x/a.conf"));
        assert!(glob("/tmp/?", "/tmp/a"));
        assert!(!glob("/tmp/?", "/tmp/ab"));
    }

    #[test]
    fn operators() {
        let m = |op, value, two| ArgMatch {
            index: 1,
            op,
            value,
            value_two: two,
        };
        let args = [0, 0o644, 0, 0, 0, 0];
        assert!(arg_matches(&m(CmpOp::Eq, 0o644, None), &args));
        assert!(arg_matches(&m(CmpOp::Gt, 0o600, None), &args));
        assert!(!arg_matches(&m(CmpOp::Lt, 0o600, None), &args));
        assert!(arg_matches(&m(CmpOp::MaskedEq, 0o7, Some(0o4)), &args));
    }
}
