//! Finding the object a path names, as the caller's own lookup would. The process doing the
//! lookup has the caller's root as its own (the seccomp helper chroots into it; the VS-mode
//! shim shares it), so `..` stops where the caller's would and an absolute symlink starts
//! over from the caller's `/`. The kernel walks the path in one `openat2` without magic
//! links; only when that stops at something the walk cannot pass for a stranger (a magic
//! link of `/proc`, `/proc/self` seen from outside the caller's pid namespace, a symlink
//! that leads to a name to create) is it walked component by component here, following each
//! magic link with the kernel's own permission checks, so that `/dev/stdout` or
//! `/proc/self/fd/3` reach the caller's own descriptor.

use std::collections::VecDeque;
use std::ffi::{CString, OsStr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag, openat2, readlinkat};
use nix::sys::stat::{Mode, fstat};
use nix::sys::statfs::{PROC_SUPER_MAGIC, fstatfs};

use super::kind::{Kind, kind};

/// Whose `/proc/self` a lookup means: the caller's pid and tid in its own pid namespace;
/// and which of the looking process's own magic links the caller may follow.
#[derive(Debug, Clone, Copy)]
pub struct Whose {
    pub pid: u32,
    pub tid: u32,
    pub own: Own,
}

/// The magic links of the process doing the lookup (`/proc/<ours>/fd/N`, `cwd`, `root`) are
/// followed for a caller only where they are the caller's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Own {
    /// None (the seccomp helper: its descriptors and root are the host's, not the caller's).
    Refused,
    /// All but the descriptors from this number up (the VS handler: the program is this
    /// process, and the shim's own descriptors sit at reserved high numbers).
    DescriptorsBelow(i32),
}

/// What a path names: an existing object, or a name to create in a directory.
#[derive(Debug)]
pub enum Found {
    Object(OwnedFd),
    Create { parent: OwnedFd, name: CString },
}

/// The kernel's limit on symlinks followed in one lookup.
const MAX_LINKS: usize = 40;

fn step(
    dir: BorrowedFd<'_>,
    name: &[u8],
    flags: OFlag,
    resolve: ResolveFlag,
) -> Result<OwnedFd, Errno> {
    let how = OpenHow::new()
        .flags(flags | OFlag::O_PATH | OFlag::O_CLOEXEC)
        .resolve(resolve);
    let fd = openat2(dir.as_raw_fd(), OsStr::from_bytes(name), how)?;
    Ok(crate::seccomp::sys::adopt([fd]).remove(0))
}

/// `path` of `dir` (`AT_FDCWD`-like for absolute paths) as an `O_PATH` descriptor.
fn open_path(
    dir: BorrowedFd<'_>,
    path: &[u8],
    flags: OFlag,
    resolve: ResolveFlag,
) -> Result<OwnedFd, Errno> {
    step(
        dir,
        if path.is_empty() { b"." } else { path },
        flags,
        resolve,
    )
}

/// Looks `path` up from `base` (the caller's dirfd or cwd) with the caller's open `flags`
/// (`O_NOFOLLOW`, `O_DIRECTORY`, `O_CREAT`, `O_EXCL` count) and `RESOLVE_*` bits.
pub fn find(
    base: BorrowedFd<'_>,
    path: &[u8],
    flags: i32,
    resolve: u64,
    whose: Whose,
) -> Result<Found, Errno> {
    let oflags = OFlag::from_bits_truncate(flags);
    let theirs = ResolveFlag::from_bits_truncate(resolve);
    let keep = oflags & (OFlag::O_NOFOLLOW | OFlag::O_DIRECTORY);
    let create = oflags.contains(OFlag::O_CREAT);
    let path = proc_self(path, whose);
    // Lookups the caller itself confined (no symlinks, no magic links, a scoped root) are
    // the kernel's alone: the answer they got is the one the caller would get.
    let confined = theirs.intersects(
        ResolveFlag::RESOLVE_NO_SYMLINKS
            | ResolveFlag::RESOLVE_NO_MAGICLINKS
            | ResolveFlag::RESOLVE_NO_XDEV
            | ResolveFlag::RESOLVE_BENEATH
            | ResolveFlag::RESOLVE_IN_ROOT,
    );
    // O_CREAT of a name that must be a directory is the kernel's EISDIR.
    if create && path.ends_with(b"/") {
        return Err(Errno::EISDIR);
    }
    if create && oflags.contains(OFlag::O_EXCL) {
        // O_EXCL never follows a final symlink: whatever is at the name makes it EEXIST.
        let named = match find_name(base, &path, theirs) {
            Err(Errno::ELOOP | Errno::ENOENT) if !confined => {
                // The directory only a walk reaches (through /proc/self/fd/N, say).
                let (dir, _) = split(&path);
                let Found::Object(parent) = walk(base, dir, OFlag::O_DIRECTORY, whose)? else {
                    return Err(Errno::ENOENT);
                };
                let (_, leaf) = split(&path);
                let mut in_parent = b"./".to_vec();
                in_parent.extend_from_slice(leaf);
                find_name(parent.as_fd(), &in_parent, ResolveFlag::empty())?
            }
            other => other?,
        };
        return match named {
            (parent, name, None) => Ok(Found::Create { parent, name }),
            (_, _, Some(_)) => Err(Errno::EEXIST),
        };
    }
    let fast = open_path(
        base,
        &path,
        keep,
        theirs | ResolveFlag::RESOLVE_NO_MAGICLINKS,
    );
    let fast = fast.map(|fd| {
        let proc = on_procfs(fd.as_fd());
        (fd, proc)
    });
    match fast {
        Ok((fd, false)) => Ok(Found::Object(fd)),
        // On procfs a plain `self` symlink (`/proc/mounts`, `/proc/net`) means whoever looks:
        // the walk makes it the caller.
        Ok((_, true)) if !confined => walk(base, &path, oflags, whose),
        // A confined lookup is the kernel's alone, and it would resolve `self` for us: on
        // procfs, where the looker's own entries are, it is refused for someone else.
        Ok((_, true)) if matches!(whose.own, Own::Refused) => Err(Errno::EACCES),
        Ok((fd, true)) => Ok(Found::Object(fd)),
        Err(Errno::ELOOP) if !confined => walk(base, &path, oflags, whose),
        Err(Errno::ENOENT) if !confined => {
            // Truly absent, or only absent for a stranger (a symlink through /proc/self, a
            // dangling symlink O_CREAT would follow): without symlinks the kernel tells.
            match open_path(base, &path, keep, ResolveFlag::RESOLVE_NO_SYMLINKS) {
                Err(Errno::ENOENT) if create => match find_name(base, &path, theirs)? {
                    (parent, name, None) => Ok(Found::Create { parent, name }),
                    (_, _, Some(_)) => walk(base, &path, oflags, whose),
                },
                Err(Errno::ENOENT) => Err(Errno::ENOENT),
                _ => walk(base, &path, oflags, whose),
            }
        }
        Err(Errno::ENOENT) if create => match find_name(base, &path, theirs)? {
            (parent, name, None) => Ok(Found::Create { parent, name }),
            (_, _, Some(_)) => Err(Errno::ELOOP),
        },
        Err(e) => Err(e),
    }
}

/// The directory holding `path`'s last component, that component, and what is at that name
/// now (never following it): what a link, a rename or an unlink acts on.
pub fn name(
    base: BorrowedFd<'_>,
    path: &[u8],
    whose: Whose,
) -> Result<(OwnedFd, CString, Option<OwnedFd>), Errno> {
    find_name(base, &proc_self(path, whose), ResolveFlag::empty())
}

fn find_name(
    base: BorrowedFd<'_>,
    path: &[u8],
    resolve: ResolveFlag,
) -> Result<(OwnedFd, CString, Option<OwnedFd>), Errno> {
    let (dir, name) = split(path);
    if name.is_empty() || name == b"." || name == b".." {
        return Err(Errno::EISDIR);
    }
    let parent = open_path(
        base,
        dir,
        OFlag::O_DIRECTORY,
        resolve | ResolveFlag::RESOLVE_NO_MAGICLINKS,
    )?;
    let name = CString::new(name).map_err(|_| Errno::EINVAL)?;
    let at = match step(
        parent.as_fd(),
        name.as_bytes(),
        OFlag::O_NOFOLLOW,
        ResolveFlag::RESOLVE_BENEATH,
    ) {
        Ok(fd) => Some(fd),
        Err(Errno::ENOENT) => None,
        Err(e) => return Err(e),
    };
    Ok((parent, name, at))
}

fn components(path: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    path.split(|b| *b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
        .map(<[u8]>::to_vec)
}

fn on_procfs(fd: BorrowedFd<'_>) -> bool {
    fstatfs(fd).is_ok_and(|s| s.filesystem_type() == PROC_SUPER_MAGIC)
}

fn is_proc_root(dir: BorrowedFd<'_>) -> bool {
    fstatfs(dir).is_ok_and(|s| s.filesystem_type() == PROC_SUPER_MAGIC)
        && fstat(dir.as_raw_fd()).is_ok_and(|st| st.st_ino == 1)
}

/// The entry right below the procfs root that `dir` (a directory of some procfs, not its
/// root) lies in or is, and that root; `None` where it cannot be placed (a caller chrooted
/// into /proc/PID, where `..` stays put; a bind of part of a procfs).
fn proc_entry_of(dir: BorrowedFd<'_>) -> Option<(OwnedFd, OwnedFd)> {
    let none = ResolveFlag::RESOLVE_NO_MAGICLINKS;
    let mut below = step(dir, b".", OFlag::O_DIRECTORY, none).ok()?;
    let id = |fd: BorrowedFd<'_>| fstat(fd.as_raw_fd()).map(|st| (st.st_dev, st.st_ino)).ok();
    // /proc/<pid>/task/<tid>/fd is the deepest a magic link's directory sits; sysctl trees
    // go a little deeper.
    for _ in 0..12 {
        let up = step(below.as_fd(), b"..", OFlag::O_DIRECTORY, none).ok()?;
        if id(up.as_fd()).is_none() || id(up.as_fd()) == id(below.as_fd()) {
            return None;
        }
        if is_proc_root(up.as_fd()) {
            return Some((below, up));
        }
        below = up;
    }
    None
}

/// The looking process's id in the procfs whose root is `root` (its `self`, an ordinary
/// symlink there; absent where the process is not in that procfs's pid namespace).
fn own_id(root: BorrowedFd<'_>) -> Option<String> {
    let me = readlinkat(Some(root.as_raw_fd()), "self").ok()?;
    Some(me.to_string_lossy().into_owned())
}

/// Whether `dir` (a directory of some procfs) lies in the entry of the process looking: its
/// `self` or one of its threads (`/proc/TID` of any of them: the kernel lets a thread follow
/// the magic links of every task of its own group). Whatever cannot be placed, or whose
/// group cannot be read, counts as ours.
fn in_own_proc_dir(dir: BorrowedFd<'_>) -> bool {
    let Some((below, root)) = proc_entry_of(dir) else {
        return true;
    };
    let Some(me) = own_id(root.as_fd()) else {
        return false;
    };
    tgid_of_entry(below.as_fd()).is_none_or(|t| t == me)
}

/// Whether the procfs object `obj`, reached from directory `parent`, is in an entry of the
/// looking process (its `mem`, `environ`, a file of its `fd` directory): decided on the
/// descriptors, never on a path the caller could change under the check. Only task entries
/// can be ours (`/proc/sys/...` is no one's); what cannot be placed counts as ours.
fn in_own_task_entry(obj: BorrowedFd<'_>, parent: Option<BorrowedFd<'_>>) -> bool {
    let is_dir = fstat(obj.as_raw_fd()).is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR);
    let dir = match (is_dir, parent) {
        (true, _) => obj,
        (false, Some(p)) => p,
        (false, None) => return true,
    };
    if is_proc_root(dir) {
        return false;
    }
    let Some((below, root)) = proc_entry_of(dir) else {
        return true;
    };
    let Some(me) = own_id(root.as_fd()) else {
        return false;
    };
    tgid_of_entry(below.as_fd()).is_some_and(|t| t == me)
}

/// The thread group of the task whose procfs entry is `entry`, as that procfs numbers it.
fn tgid_of_entry(entry: BorrowedFd<'_>) -> Option<String> {
    let flags = OFlag::O_RDONLY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW;
    let fd = nix::fcntl::openat(Some(entry.as_raw_fd()), "status", flags, Mode::empty()).ok()?;
    let file = std::fs::File::from(crate::seccomp::sys::adopt([fd]).remove(0));
    let mut status = String::new();
    std::io::Read::read_to_string(&mut &file, &mut status).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .map(|t| t.trim().to_owned())
}

fn own_link_allowed(own: Own, name: &[u8]) -> bool {
    match own {
        Own::Refused => false,
        Own::DescriptorsBelow(floor) => std::str::from_utf8(name)
            .ok()
            .and_then(|n| n.parse::<i32>().ok())
            .is_none_or(|fd| fd < floor),
    }
}

/// The component-by-component walk.
fn walk(base: BorrowedFd<'_>, path: &[u8], flags: OFlag, whose: Whose) -> Result<Found, Errno> {
    let none = ResolveFlag::RESOLVE_NO_MAGICLINKS;
    let nofollow = flags.contains(OFlag::O_NOFOLLOW);
    let create = flags.contains(OFlag::O_CREAT);
    let must_be_dir = flags.contains(OFlag::O_DIRECTORY) || path.ends_with(b"/");
    let mut rest: VecDeque<Vec<u8>> = components(path).collect();
    let mut cur = if path.starts_with(b"/") {
        open_path(base, b"/", OFlag::empty(), none)?
    } else {
        open_path(base, b".", OFlag::empty(), none)?
    };
    let mut links = 0;
    // The directory the object in `cur` was reached from (none after `..`: a directory).
    let mut parent: Option<OwnedFd> = None;
    while let Some(c) = rest.pop_front() {
        let last = rest.is_empty();
        if c == b".." {
            // At the process root the kernel keeps `..` there, as for the caller.
            cur = step(cur.as_fd(), b"..", OFlag::O_DIRECTORY, none)?;
            parent = None;
            continue;
        }
        let next = match step(cur.as_fd(), &c, OFlag::O_NOFOLLOW, none) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) if last && create => {
                let name = CString::new(c).map_err(|_| Errno::EINVAL)?;
                return Ok(Found::Create { parent: cur, name });
            }
            Err(e) => return Err(e),
        };
        if kind(next.as_fd())? != Kind::Symlink || (last && nofollow) {
            parent = Some(std::mem::replace(&mut cur, next));
            continue;
        }
        links += 1;
        if links > MAX_LINKS {
            return Err(Errno::ELOOP);
        }
        let on_proc = fstatfs(next.as_fd()).is_ok_and(|s| s.filesystem_type() == PROC_SUPER_MAGIC);
        if on_proc && !is_proc_root(cur.as_fd()) {
            // A magic link of a process (fd/N, cwd, root, exe): the kernel follows it, and
            // checks that we (as the caller) may; those of the looking process itself, which
            // the kernel always lets it follow, only where they are the caller's too.
            if in_own_proc_dir(cur.as_fd()) && !own_link_allowed(whose.own, &c) {
                return Err(Errno::EACCES);
            }
            let next = step(cur.as_fd(), &c, OFlag::empty(), ResolveFlag::empty())?;
            parent = Some(std::mem::replace(&mut cur, next));
            continue;
        }
        let target: Vec<u8> = match c.as_slice() {
            b"self" if on_proc => whose.pid.to_string().into_bytes(),
            b"thread-self" if on_proc => format!("{}/task/{}", whose.pid, whose.tid).into_bytes(),
            _ => readlinkat(Some(cur.as_raw_fd()), OsStr::from_bytes(&c))?
                .as_bytes()
                .to_vec(),
        };
        if target.starts_with(b"/") {
            cur = open_path(base, b"/", OFlag::empty(), none)?;
            parent = None;
        }
        for part in components(&target).collect::<Vec<_>>().into_iter().rev() {
            rest.push_front(part);
        }
    }
    // By the file type: a procfs directory is of kind `Proc`.
    let is_dir = |fd: BorrowedFd<'_>| {
        fstat(fd.as_raw_fd()).map(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR)
    };
    if must_be_dir && !is_dir(cur.as_fd())? {
        return Err(Errno::ENOTDIR);
    }
    // The looking process's own entries are the kernel's to open for it, never the caller's
    // (where the caller is someone else).
    if matches!(whose.own, Own::Refused)
        && on_procfs(cur.as_fd())
        && in_own_task_entry(cur.as_fd(), parent.as_ref().map(AsFd::as_fd))
    {
        return Err(Errno::EACCES);
    }
    Ok(Found::Object(cur))
}

pub fn split(path: &[u8]) -> (&[u8], &[u8]) {
    let trimmed = path.strip_suffix(b"/").unwrap_or(path);
    match trimmed.iter().rposition(|b| *b == b'/') {
        Some(0) => (b"/", &trimmed[1..]),
        Some(i) => (&trimmed[..i], &trimmed[i + 1..]),
        None => (b".", trimmed),
    }
}

/// `/proc/self` and `/proc/thread-self` written out in a path mean the caller.
fn proc_self(path: &[u8], whose: Whose) -> Vec<u8> {
    for (prefix, to) in [
        (
            b"/proc/thread-self".as_slice(),
            format!("/proc/{}/task/{}", whose.pid, whose.tid),
        ),
        (b"/proc/self".as_slice(), format!("/proc/{}", whose.pid)),
    ] {
        if let Some(rest) = path.strip_prefix(prefix)
            && (rest.is_empty() || rest.starts_with(b"/"))
        {
            let mut v = to.into_bytes();
            v.extend_from_slice(rest);
            return v;
        }
    }
    path.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me() -> Whose {
        let pid = std::process::id();
        Whose {
            pid,
            tid: nix::unistd::gettid().as_raw() as u32,
            own: Own::DescriptorsBelow(1000),
        }
    }

    fn cwd() -> OwnedFd {
        open_path(at_fdcwd(), b".", OFlag::empty(), ResolveFlag::empty()).unwrap()
    }

    fn at_fdcwd() -> BorrowedFd<'static> {
        crate::seccomp::sys::dirfd(libc::AT_FDCWD)
    }

    fn real(found: Found) -> String {
        let Found::Object(fd) = found else {
            panic!("not an object")
        };
        std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
            .unwrap()
            .display()
            .to_string()
    }

    #[test]
    fn splits_the_last_component() {
        assert_eq!(split(b"/a/b"), (b"/a".as_slice(), b"b".as_slice()));
        assert_eq!(split(b"/a"), (b"/".as_slice(), b"a".as_slice()));
        assert_eq!(split(b"a"), (b".".as_slice(), b"a".as_slice()));
        assert_eq!(split(b"a/b/"), (b"a".as_slice(), b"b".as_slice()));
    }

    #[test]
    fn proc_self_is_the_caller() {
        let who = Whose {
            pid: 7,
            tid: 9,
            own: Own::Refused,
        };
        assert_eq!(proc_self(b"/proc/self/status", who), b"/proc/7/status");
        assert_eq!(proc_self(b"/proc/thread-self", who), b"/proc/7/task/9");
        assert_eq!(proc_self(b"/proc/selfish", who), b"/proc/selfish");
    }

    #[test]
    fn magic_links_reach_the_callers_descriptor() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, "x").unwrap();
        let held = std::fs::File::open(&file).unwrap();
        let base = cwd();
        let path = format!("/proc/self/fd/{}", held.as_raw_fd());
        let got = find(base.as_fd(), path.as_bytes(), libc::O_RDONLY, 0, me()).unwrap();
        assert_eq!(real(got), file.display().to_string());
        // A symlink to a magic link (what /dev/stdout is).
        let link = dir.path().join("l");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let got = find(
            base.as_fd(),
            link.as_os_str().as_bytes(),
            libc::O_RDONLY,
            0,
            me(),
        );
        assert_eq!(real(got.unwrap()), file.display().to_string());
        // The caller's own confinement stands.
        let no_magic = ResolveFlag::RESOLVE_NO_MAGICLINKS.bits();
        let got = find(
            base.as_fd(),
            path.as_bytes(),
            libc::O_RDONLY,
            no_magic,
            me(),
        );
        assert_eq!(got.unwrap_err(), Errno::ELOOP);
    }

    #[test]
    fn the_looking_process_keeps_its_own_magic_links() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), "x").unwrap();
        let held = std::fs::File::open(dir.path().join("f")).unwrap();
        let base = cwd();
        // Our own /proc entries are the caller's only as far as `Own` says (this test
        // process is both).
        let path = format!("/proc/{}/fd/{}", std::process::id(), held.as_raw_fd());
        let refused = Whose {
            own: Own::Refused,
            ..me()
        };
        let got = find(base.as_fd(), path.as_bytes(), 0, 0, refused);
        assert_eq!(got.unwrap_err(), Errno::EACCES);
        let below = Whose {
            own: Own::DescriptorsBelow(held.as_raw_fd()),
            ..me()
        };
        assert_eq!(
            find(base.as_fd(), path.as_bytes(), 0, 0, below).unwrap_err(),
            Errno::EACCES
        );
        let above = Whose {
            own: Own::DescriptorsBelow(held.as_raw_fd() + 1),
            ..me()
        };
        assert!(find(base.as_fd(), path.as_bytes(), 0, 0, above).is_ok());
        // Another process's are the kernel's to allow (our child's, here).
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let theirs = format!("/proc/{}/cwd", child.id());
        let got = find(base.as_fd(), theirs.as_bytes(), 0, 0, refused);
        let _ = child.kill();
        let _ = child.wait();
        assert!(got.is_ok(), "{got:?}");
        assert_eq!(
            find(base.as_fd(), b"/tmp/x/", libc::O_CREAT, 0, me()).unwrap_err(),
            Errno::EISDIR
        );
    }

    #[test]
    fn a_dangling_symlink_is_created_through_and_o_excl_refuses_it() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("l");
        std::os::unix::fs::symlink("made", &link).unwrap();
        let base = cwd();
        let flags = libc::O_CREAT | libc::O_WRONLY;
        let Found::Create { parent, name } =
            find(base.as_fd(), link.as_os_str().as_bytes(), flags, 0, me()).unwrap()
        else {
            panic!("not a name to create")
        };
        assert_eq!(name.as_bytes(), b"made");
        let parent = std::fs::read_link(format!("/proc/self/fd/{}", parent.as_raw_fd())).unwrap();
        assert_eq!(parent, dir.path());
        let excl = find(
            base.as_fd(),
            link.as_os_str().as_bytes(),
            flags | libc::O_EXCL,
            0,
            me(),
        );
        assert_eq!(excl.unwrap_err(), Errno::EEXIST);
    }

    #[test]
    fn an_exclusive_create_in_a_directory_held_by_descriptor() {
        let dir = tempfile::tempdir().unwrap();
        let held = std::fs::File::open(dir.path()).unwrap();
        let base = cwd();
        let path = format!("/proc/self/fd/{}/new", held.as_raw_fd());
        let flags = libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY;
        let Found::Create { parent, name } =
            find(base.as_fd(), path.as_bytes(), flags, 0, me()).unwrap()
        else {
            panic!("not a name to create")
        };
        assert_eq!(name.as_bytes(), b"new");
        let parent = std::fs::read_link(format!("/proc/self/fd/{}", parent.as_raw_fd())).unwrap();
        assert_eq!(parent, dir.path());
    }

    #[test]
    fn absent_names_and_loops_are_what_the_kernel_says() {
        let dir = tempfile::tempdir().unwrap();
        let base = cwd();
        let missing = dir.path().join("nope");
        let got = find(base.as_fd(), missing.as_os_str().as_bytes(), 0, 0, me());
        assert_eq!(got.unwrap_err(), Errno::ENOENT);
        let a = dir.path().join("a");
        std::os::unix::fs::symlink(dir.path().join("b"), &a).unwrap();
        std::os::unix::fs::symlink(&a, dir.path().join("b")).unwrap();
        let got = find(base.as_fd(), a.as_os_str().as_bytes(), 0, 0, me());
        assert_eq!(got.unwrap_err(), Errno::ELOOP);
        // `..` and relative symlinks from a directory.
        std::fs::create_dir(dir.path().join("d")).unwrap();
        std::fs::write(dir.path().join("t"), "").unwrap();
        std::os::unix::fs::symlink("../t", dir.path().join("d/up")).unwrap();
        let p = dir.path().join("d/up");
        let got = find(base.as_fd(), p.as_os_str().as_bytes(), 0, 0, me()).unwrap();
        assert_eq!(real(got), dir.path().join("t").display().to_string());
    }
}
