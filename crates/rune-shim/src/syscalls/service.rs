//! The table's last column: how each backend serves a call once a policy has let it go on.
//! Both dispatchers (`seccomp/serve.rs`, `vsmode/serve.rs`) match on this and nothing else, so
//! a call that one backend makes on the object meant cannot be forwarded by the other, and a
//! new guard is one row here.

use super::family;

/// Which code answers a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// The kernel runs it as asked, after the policies' decision on its arguments (continued
    /// or never trapped under seccomp; checked, copied and forwarded under VS-mode).
    Kernel,
    /// While a path rule needs it, made on the caller's behalf on the object it meant
    /// (`object::open`).
    Open,
    /// A new name for an existing object (a hard link, a rename): while a path is denied,
    /// refused when that object is denied, else made on exactly the names found.
    Names,
    /// A file by handle, reached by no name at all: refused while a path is denied.
    Handle,
    /// A new program image: refused or continued, its path boundary the kernel's (Landlock,
    /// the noexec mount of a denied prefix).
    Exec,
    /// A memory file: never executable while some rule limits exec by path.
    Memfd,
    /// Answered by the shim itself: the memory map, the program's signal handlers, exit, the
    /// registers the kernel would keep for a thread (VS-mode only).
    Shim,
    /// Not yet served (ENOSYS): a second thread, process or program image under VS-mode.
    Unsupported,
    /// Would reach the shim's memory or act where its handler cannot see (another process's
    /// memory, ptrace, io_uring, userfaultfd, protection keys): EPERM.
    Refused,
}

/// Per call (or family), the seccomp column then the VS-mode column. A call in no row is
/// `Kernel` on both.
const SERVICE: &[(&str, Service, Service)] = {
    use Service::*;
    &[
        ("@open", Open, Open),
        // symlink(2) makes a new name for no existing object: nothing to guard.
        ("link", Names, Names),
        ("linkat", Names, Names),
        ("@rename", Names, Names),
        ("open_by_handle_at", Handle, Handle),
        ("@exec", Exec, Unsupported),
        ("memfd_create", Memfd, Kernel),
        ("clone", Kernel, Shim),
        ("clone3", Kernel, Unsupported),
        ("exit", Kernel, Shim),
        ("exit_group", Kernel, Shim),
        ("brk", Kernel, Shim),
        ("mmap", Kernel, Shim),
        ("munmap", Kernel, Shim),
        ("mprotect", Kernel, Shim),
        ("madvise", Kernel, Shim),
        ("mremap", Kernel, Shim),
        ("set_tid_address", Kernel, Shim),
        ("set_robust_list", Kernel, Shim),
        ("rseq", Kernel, Shim),
        ("rt_sigaction", Kernel, Shim),
        ("sigaltstack", Kernel, Shim),
        ("rt_sigreturn", Kernel, Shim),
        ("process_vm_readv", Kernel, Refused),
        ("process_vm_writev", Kernel, Refused),
        ("ptrace", Kernel, Refused),
        ("@io_uring", Kernel, Refused),
        ("prctl", Kernel, Refused),
        ("userfaultfd", Kernel, Refused),
        ("memfd_secret", Kernel, Refused),
        ("pkey_mprotect", Kernel, Refused),
        ("remap_file_pages", Kernel, Refused),
        ("shmat", Kernel, Refused),
    ]
};

fn row(name: &str) -> Option<&'static (&'static str, Service, Service)> {
    SERVICE.iter().find(|(what, ..)| match family(what) {
        Some(f) => f.members.contains(&name),
        None => *what == name,
    })
}

/// How the seccomp backend serves `name`.
pub fn seccomp(name: &str) -> Service {
    row(name).map_or(Service::Kernel, |r| r.1)
}

/// How the VS-mode backend serves `name`.
pub fn vsmode(name: &str) -> Service {
    row(name).map_or(Service::Kernel, |r| r.2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscalls::{Arch, known};

    #[test]
    fn every_row_names_a_call_or_a_family() {
        for (what, ..) in SERVICE {
            assert!(family(what).is_some() || known(what), "{what}");
        }
    }

    #[test]
    fn the_columns_agree_on_the_object_guarantees() {
        // What acts on a path's object is served the same way on both backends.
        for (name, _) in Arch::Riscv64.calls() {
            let (s, v) = (seccomp(name), vsmode(name));
            if matches!(s, Service::Open | Service::Names | Service::Handle) {
                assert_eq!(s, v, "{name}");
            }
        }
        assert_eq!(seccomp("openat2"), Service::Open);
        assert_eq!(vsmode("symlinkat"), Service::Kernel);
        assert_eq!(vsmode("renameat2"), Service::Names);
        assert_eq!(vsmode("io_uring_enter"), Service::Refused);
        assert_eq!(vsmode("execveat"), Service::Unsupported);
        assert_eq!(vsmode("clone"), Service::Shim);
        assert_eq!(seccomp("getpid"), Service::Kernel);
    }
}
