//! Syscall families. A libc falls back from a call to its sibling when the first fails with
//! ENOSYS (openat2 → openat, statx → newfstatat, faccessat2 → faccessat, clone3 → clone), and
//! x86_64 keeps legacy calls (open, creat, stat) the generic table dropped; a rule on one
//! member that missed another would be dodged by the fallback. A family names every member;
//! on an architecture, only the members that exist there count.

use super::Arch;

/// Where the path arguments of a family's calls are, for path predicates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paths {
    /// One path: the object the call acts on.
    One,
    /// Two paths (link, rename, symlink): a predicate must hold for either.
    Two,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Family {
    pub name: &'static str,
    pub members: &'static [&'static str],
    pub paths: Option<Paths>,
}

const FAMILIES: &[Family] = &[
    Family {
        name: "@open",
        members: &["open", "openat", "openat2", "creat"],
        paths: Some(Paths::One),
    },
    Family {
        name: "@exec",
        members: &["execve", "execveat"],
        paths: Some(Paths::One),
    },
    Family {
        name: "@stat",
        members: &["stat", "lstat", "newfstatat", "statx"],
        paths: Some(Paths::One),
    },
    Family {
        name: "@access",
        members: &["access", "faccessat", "faccessat2"],
        paths: Some(Paths::One),
    },
    Family {
        name: "@link",
        members: &["link", "linkat", "symlink", "symlinkat"],
        paths: Some(Paths::Two),
    },
    Family {
        name: "@rename",
        members: &["rename", "renameat", "renameat2"],
        paths: Some(Paths::Two),
    },
    Family {
        name: "@unlink",
        members: &["unlink", "unlinkat", "rmdir"],
        paths: Some(Paths::One),
    },
    Family {
        name: "@mkdir",
        members: &["mkdir", "mkdirat", "mknod", "mknodat"],
        paths: Some(Paths::One),
    },
    Family {
        name: "@chmod",
        members: &["chmod", "fchmodat", "fchmodat2"],
        paths: Some(Paths::One),
    },
    Family {
        name: "@chown",
        members: &["chown", "lchown", "fchownat"],
        paths: Some(Paths::One),
    },
    Family {
        name: "@xattr",
        members: &[
            "setxattr",
            "lsetxattr",
            "getxattr",
            "lgetxattr",
            "listxattr",
            "llistxattr",
            "removexattr",
            "lremovexattr",
        ],
        paths: Some(Paths::One),
    },
    Family {
        name: "@mount",
        members: &[
            "mount",
            "umount2",
            "move_mount",
            "open_tree",
            "fsopen",
            "fsmount",
            "fsconfig",
            "fspick",
            "mount_setattr",
        ],
        paths: None,
    },
    Family {
        name: "@io_uring",
        members: &["io_uring_setup", "io_uring_enter", "io_uring_register"],
        paths: None,
    },
    Family {
        name: "@clone",
        members: &["clone", "clone3", "fork", "vfork"],
        paths: None,
    },
];

/// The family `name` (with its `@`), if there is one.
pub fn family(name: &str) -> Option<&'static Family> {
    FAMILIES.iter().find(|f| f.name == name)
}

/// The family a single call belongs to, if any.
pub fn family_of(call: &str) -> Option<&'static Family> {
    FAMILIES.iter().find(|f| f.members.contains(&call))
}

impl Family {
    /// The members that exist on `arch`.
    pub fn on(&self, arch: Arch) -> impl Iterator<Item = &'static str> + '_ {
        self.members.iter().copied().filter(move |m| arch.has(m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_member_is_a_real_call_somewhere() {
        for f in FAMILIES {
            for m in f.members {
                assert!(super::super::known(m), "{} lists unknown call {m}", f.name);
            }
            assert!(
                Arch::ALL.iter().all(|a| f.on(*a).next().is_some()),
                "{} empty on an arch",
                f.name
            );
        }
    }

    #[test]
    fn open_family_per_arch() {
        let open = family("@open").unwrap();
        assert_eq!(
            open.on(Arch::X86_64).collect::<Vec<_>>(),
            ["open", "openat", "openat2", "creat"]
        );
        assert_eq!(
            open.on(Arch::Riscv64).collect::<Vec<_>>(),
            ["openat", "openat2"]
        );
        assert_eq!(family_of("openat2").unwrap().name, "@open");
    }
}
