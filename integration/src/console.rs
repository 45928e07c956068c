//! The receiving end of `--console-socket`: what conmon and containerd-shim do for `-t`.

use std::io::{IoSliceMut, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use nix::cmsg_space;
use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};

#[derive(Debug)]
pub struct ConsoleSocket {
    path: PathBuf,
    receiver: JoinHandle<OwnedFd>,
}

impl ConsoleSocket {
    /// Listens at `path` and, in the background, accepts one connection and takes the pty
    /// master the runtime sends with SCM_RIGHTS.
    pub fn listen(path: &Path) -> Self {
        let listener = UnixListener::bind(path).expect("bind console socket");
        let receiver = std::thread::spawn(move || {
            let (stream, _) = listener.accept().expect("accept console connection");
            let mut name = [0u8; 4096];
            let mut iov = [IoSliceMut::new(&mut name)];
            let mut space = cmsg_space!([std::os::fd::RawFd; 1]);
            let msg = recvmsg::<()>(
                stream.as_raw_fd(),
                &mut iov,
                Some(&mut space),
                MsgFlags::empty(),
            )
            .expect("recvmsg on console socket");
            for cmsg in msg.cmsgs().expect("control messages") {
                if let ControlMessageOwned::ScmRights(fds) = cmsg
                    && let Some(fd) = fds.first()
                {
                    // SAFETY: the kernel just installed this descriptor for us and nothing
                    // else owns it.
                    return unsafe { OwnedFd::from_raw_fd(*fd) };
                }
            }
            panic!("no descriptor on the console socket");
        });
        Self {
            path: path.to_owned(),
            receiver,
        }
    }

    pub fn path_str(&self) -> &str {
        self.path.to_str().expect("utf-8 socket path")
    }

    /// The pty master, once the runtime has sent it.
    pub fn master(self) -> std::fs::File {
        std::fs::File::from(self.receiver.join().expect("console receiver"))
    }
}

/// Reads from a pty master until the slave side closes (EIO) or `want` has been seen.
pub fn read_until(master: &mut std::fs::File, want: &str) -> String {
    let mut seen = String::new();
    let mut buf = [0u8; 1024];
    loop {
        match master.read(&mut buf) {
            Ok(0) | Err(_) => return seen,
            Ok(n) => {
                seen.push_str(&String::from_utf8_lossy(&buf[..n]));
                if seen.contains(want) {
                    return seen;
                }
            }
        }
    }
}
