//! A daemon a test starts (dockerd, containerd) with private roots under a temp directory,
//! listening only on a unix socket there, and stopped by its pid when the test ends.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tempfile::TempDir;

#[derive(Debug)]
pub struct Daemon {
    pub name: &'static str,
    pub dir: TempDir,
    child: Child,
}

impl Daemon {
    /// Starts `cmd` (its log goes to `DIR/NAME.log`) and waits for `socket` to accept.
    pub fn start(name: &'static str, dir: TempDir, mut cmd: Command, socket: &Path) -> Self {
        let log = std::fs::File::create(dir.path().join(format!("{name}.log"))).unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        let daemon = Self { name, dir, child };
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::os::unix::net::UnixStream::connect(socket).is_err() {
            assert!(
                Instant::now() < deadline,
                "{name} did not listen on {}:\n{}",
                socket.display(),
                daemon.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        daemon
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.path(&format!("{}.log", self.name))).unwrap_or_default()
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let pid = Pid::from_raw(self.pid());
        let _ = kill(pid, Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if let Ok(None) = self.child.try_wait() {
            let _ = kill(pid, Signal::SIGKILL);
            let _ = self.child.wait();
        }
        // Whatever the daemon mounted under its roots (overlay layers, shm) goes with it.
        unmount_under(self.dir.path());
    }
}

/// Unmounts every mount below `dir`, deepest first.
pub fn unmount_under(dir: &Path) {
    let mut points = crate::host::mounts_under(dir);
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in points {
        let _ = nix::mount::umount2(p.as_str(), nix::mount::MntFlags::MNT_DETACH);
    }
}
