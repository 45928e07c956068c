//! The container's supervisor process, seen from rune-run: started by `create` (it outlives
//! it), reached by `exec` through a socket in the state directory, stopped by `delete`.

use std::fs;
use std::io;
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::sys::socket::{
    AddressFamily, Backlog, SockFlag, SockType, UnixAddr, bind, connect, listen, socket,
};
use rune_shim::events::{Kept, Sink};
use rune_shim::handler::Policies;
use rune_shim::seccomp::{Config, Supervisor, sys};

/// Files the supervisor owns in the container's state directory.
pub const SOCKET: &str = "rune-supervisor.sock";
pub const PID_FILE: &str = "rune-supervisor.pid";
pub const EVENTS: &str = "rune-events.jsonl";
pub const FILTER: &str = "rune-filter.bpf";
pub const EXEC_RULES: &str = "rune-exec-rules.json";
const NAME: &str = "rune-supervisor";

fn seqpacket() -> io::Result<OwnedFd> {
    Ok(socket(
        AddressFamily::Unix,
        SockType::SeqPacket,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?)
}

/// The socket's address, reached through a descriptor of the state directory: a Kubernetes
/// container's state directory (`/run/containerd/runc/k8s.io/<64 hex>/`) leaves no room in
/// `sun_path` (108 bytes) for the full path.
fn socket_addr(dir: &Path) -> io::Result<(OwnedFd, UnixAddr)> {
    let fd = nix::fcntl::open(
        dir,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )?;
    let fd = sys::adopt([fd]).remove(0);
    let addr = UnixAddr::new(format!("/proc/self/fd/{}/{SOCKET}", fd.as_raw_fd()).as_str())?;
    Ok((fd, addr))
}

/// Starts the supervisor of the container whose state directory is `dir`; it serves the
/// process that announces on `conn` (the init) and every `exec` that connects later.
pub fn spawn(
    dir: &Path,
    id: &str,
    policies: Policies,
    conn: OwnedFd,
    events_dir: Option<&Path>,
) -> io::Result<()> {
    let accept = seqpacket()?;
    let (_dir_fd, addr) = socket_addr(dir)?;
    bind(accept.as_raw_fd(), &addr)?;
    listen(&accept, Backlog::new(16)?)?;
    let (events, kept) = match events_dir {
        Some(kept) => {
            let path = kept_events(kept, id)?;
            // `trace` finds them through the state directory while the container lives.
            std::os::unix::fs::symlink(&path, dir.join(EVENTS))?;
            (Kept::append(&path)?, Some(path))
        }
        None => (
            fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join(EVENTS))?,
            None,
        ),
    };
    let pid_file = dir.join(PID_FILE);
    let devnull = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    match sys::fork()? {
        Some(pid) => {
            // The intermediate child exits at once, after it has recorded the supervisor's pid.
            let status = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None)?;
            match status {
                nix::sys::wait::WaitStatus::Exited(_, 0) => Ok(()),
                other => Err(io::Error::other(format!(
                    "starting the Rune supervisor: {other:?}"
                ))),
            }
        }
        None => {
            let _ = nix::unistd::setsid();
            // Named before the second fork, so the supervisor has its name (which `Running`
            // checks) before `create` returns.
            let _ = nix::sys::prctl::set_name(&std::ffi::CString::new(NAME).unwrap_or_default());
            let code = match sys::fork() {
                Ok(Some(pid)) => match fs::write(&pid_file, pid.to_string()) {
                    Ok(()) => 0,
                    Err(_) => 1,
                },
                Ok(None) => {
                    let fds = [devnull.into(), conn, accept, events.into()];
                    let code = serve(fds, kept, id, policies);
                    sys::exit_child(code)
                }
                Err(_) => 1,
            };
            sys::exit_child(code)
        }
    }
}

/// In the supervisor: keep only its own descriptors (none of the caller's pipes, which would
/// keep a client waiting for end-of-file) and serve.
fn serve(fds: [OwnedFd; 4], kept: Option<PathBuf>, id: &str, policies: Policies) -> i32 {
    let [devnull, conn, accept, events] = fds;
    let raw = [devnull, conn, accept, events].map(IntoRawFd::into_raw_fd);
    // Park them above the range we are about to fill, then put them at 3, 4, 5.
    let mut high = [0; 4];
    for (i, fd) in raw.iter().enumerate() {
        match nix::fcntl::fcntl(*fd, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(100)) {
            Ok(h) => high[i] = h,
            Err(_) => return 1,
        }
    }
    for target in 0..3 {
        if nix::unistd::dup2(high[0], target).is_err() {
            return 1;
        }
    }
    for (i, fd) in high[1..].iter().enumerate() {
        if nix::unistd::dup2(*fd, 3 + i as i32).is_err() {
            return 1;
        }
    }
    if sys::close_from(6).is_err() {
        return 1;
    }
    // These numbers were just filled by dup2 and nothing else owns them.
    let [conn, accept, events] = [3, 4, 5].map(|fd| sys::adopt([fd]).remove(0));
    let events = fs::File::from(events);
    let events = match kept {
        Some(path) => match Kept::from_file(path, events, KEPT_LIMIT) {
            Ok(k) => Sink::Kept(k),
            Err(_) => return 1,
        },
        None => Sink::File(events),
    };
    let cfg = Config {
        policies,
        container: id.to_owned(),
        events,
    };
    match Supervisor::new(cfg, vec![conn], Some(accept)).and_then(Supervisor::run) {
        Ok(_) => 0,
        Err(_) => 1,
    }
}

/// A connection to the supervisor of the container in `dir`, for an `exec`'d process to
/// announce its listener on; `None` when the container runs without Rune.
pub fn connect_to(dir: &Path) -> io::Result<Option<OwnedFd>> {
    let path = dir.join(SOCKET);
    if !path.exists() {
        return Ok(None);
    }
    let sock = seqpacket()?;
    let (_dir_fd, addr) = socket_addr(dir)?;
    connect(sock.as_raw_fd(), &addr).map_err(|e| {
        io::Error::other(format!(
            "the container's Rune supervisor does not answer ({e}); refusing to run a process unconfined"
        ))
    })?;
    Ok(Some(sock))
}

/// The supervisor of a container, found through its state directory.
#[derive(Debug, Clone, Copy)]
pub struct Running(i32);

impl Running {
    pub fn find(dir: &Path) -> Option<Running> {
        fs::read_to_string(dir.join(PID_FILE))
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
            .map(Running)
    }

    /// Stops it if it still runs. The pid may have been reused since: only a process with
    /// the supervisor's name is ours.
    pub fn stop(self) {
        let comm = fs::read_to_string(format!("/proc/{}/comm", self.0)).unwrap_or_default();
        if comm.trim() == NAME {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(self.0),
                nix::sys::signal::SIGKILL,
            );
        }
    }
}

pub fn events_path(dir: &Path) -> PathBuf {
    dir.join(EVENTS)
}

/// How large a kept events file grows before it is rotated (one older file is kept).
const KEPT_LIMIT: u64 = 16 << 20;

/// Where container `id`'s events are kept under `--events-dir` (made, private, if missing).
pub fn kept_events(dir: &Path, id: &str) -> io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    if !dir.is_absolute() {
        return Err(io::Error::other(format!(
            "--events-dir {}: not an absolute path",
            dir.display()
        )));
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    Ok(dir.join(format!("{id}.jsonl")))
}
