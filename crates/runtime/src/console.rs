//! A terminal for a foreground `run` or `exec` whose process asks for one (`terminal: true`)
//! when no `--console-socket` was given: like runc, rune-run receives the pty master itself
//! and relays it to its own stdio, with its terminal (if any) in raw mode meanwhile.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use anyhow::{Context, Result};
use nix::sys::termios::{self, SetArg, Termios};

use crate::sys;

/// A console socket rune-run listens on for its own foreground container.
#[derive(Debug)]
pub struct OwnConsole {
    path: PathBuf,
    receiver: Option<JoinHandle<Result<File, String>>>,
}

impl OwnConsole {
    /// A console of rune-run's own when a foreground process wants a terminal and the caller
    /// gave no console socket to hand it to; `None` otherwise.
    pub fn when_needed(
        detach: bool,
        socket: Option<&Path>,
        terminal: bool,
    ) -> Result<Option<Self>> {
        if detach || socket.is_some() || !terminal {
            return Ok(None);
        }
        Self::listen().map(Some)
    }

    /// Listens in a private temporary directory; the master arrives during `create`.
    fn listen() -> Result<Self> {
        let dir = std::env::temp_dir().join(format!("rune-console-{}", std::process::id()));
        std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
        let path = dir.join("console.sock");
        let _ = std::fs::remove_file(&path);
        let listener =
            UnixListener::bind(&path).with_context(|| format!("bind {}", path.display()))?;
        let receiver = std::thread::spawn(move || {
            let (stream, _) = listener
                .accept()
                .map_err(|e| format!("accept console: {e}"))?;
            sys::recv_fd(&stream).map(File::from)
        });
        Ok(Self {
            path,
            receiver: Some(receiver),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The pty master, once the container's init has sent it.
    pub fn master(mut self) -> Result<File> {
        self.receiver
            .take()
            .context("console master already taken")?
            .join()
            .map_err(|_| anyhow::anyhow!("console receiver panicked"))?
            .map_err(anyhow::Error::msg)
    }
}

/// The socket's directory goes whether the master arrived or `create` failed first.
impl Drop for OwnConsole {
    fn drop(&mut self) {
        if let Some(dir) = self.path.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The relay of a foreground terminal; `finish` once the process has ended.
#[derive(Debug)]
pub struct Relay {
    _raw: RawMode,
    drained: std::sync::mpsc::Receiver<()>,
}

impl Relay {
    /// Waits (briefly: a background process may hold the pty open) for the last output to
    /// reach stdout, then puts the terminal back as it was.
    pub fn finish(self) {
        let _ = self.drained.recv_timeout(std::time::Duration::from_secs(1));
    }
}

/// Relays stdin to the master and the master to stdout until the master closes, with the
/// caller's terminal in raw mode meanwhile.
pub fn relay(master: File) -> Result<Relay> {
    let raw = RawMode::enter();
    let (done, drained) = std::sync::mpsc::channel();
    let mut input = master.try_clone().context("dup pty master")?;
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut input);
    });
    let mut output = master;
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        let mut stdout = std::io::stdout();
        // EIO once the last slave descriptor is closed: the container has ended.
        while let Ok(n) = output.read(&mut buf) {
            if n == 0
                || stdout
                    .write_all(&buf[..n])
                    .and_then(|()| stdout.flush())
                    .is_err()
            {
                break;
            }
        }
        let _ = done.send(());
    });
    Ok(Relay { _raw: raw, drained })
}

/// The caller's terminal in raw mode for as long as this lives (nothing if stdin is no tty).
#[derive(Debug)]
pub struct RawMode(Option<Termios>);

impl RawMode {
    fn enter() -> Self {
        let stdin = std::io::stdin();
        let Ok(saved) = termios::tcgetattr(stdin.as_fd()) else {
            return Self(None);
        };
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        let _ = termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw);
        Self(Some(saved))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(saved) = &self.0 {
            let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, saved);
        }
    }
}
