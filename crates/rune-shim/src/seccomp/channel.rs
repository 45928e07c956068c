//! Messages between the supervisor, its helpers and the processes handing over listeners: one
//! JSON value per `SOCK_SEQPACKET` datagram, descriptors alongside with `SCM_RIGHTS`.

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use nix::sys::socket::{
    AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType, recvmsg,
    sendmsg, socketpair,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::sys;

const MAX_MESSAGE: usize = 64 * 1024;
const MAX_FDS: usize = 4;

pub fn pair() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )?)
}

pub fn send<T: Serialize>(sock: BorrowedFd<'_>, msg: &T, fds: &[BorrowedFd<'_>]) -> io::Result<()> {
    let bytes = serde_json::to_vec(msg).map_err(io::Error::other)?;
    let raw: Vec<RawFd> = fds.iter().map(|f| f.as_raw_fd()).collect();
    let cmsgs = if raw.is_empty() {
        vec![]
    } else {
        vec![ControlMessage::ScmRights(&raw)]
    };
    sendmsg::<()>(
        sock.as_raw_fd(),
        &[IoSlice::new(&bytes)],
        &cmsgs,
        MsgFlags::MSG_NOSIGNAL,
        None,
    )?;
    Ok(())
}

/// The next message, or `None` when the peer has closed its end.
pub fn recv<T: DeserializeOwned>(sock: BorrowedFd<'_>) -> io::Result<Option<(T, Vec<OwnedFd>)>> {
    recv_within(sock, Duration::ZERO)
}

/// Like `recv`, but polls without sleeping for up to `spin` first. Between the supervisor and
/// a helper a message is usually microseconds away, and a sleeping peer costs a cross-CPU
/// wake-up that is an order of magnitude dearer (tens of µs on a virtual machine).
pub fn recv_within<T: DeserializeOwned>(
    sock: BorrowedFd<'_>,
    spin: Duration,
) -> io::Result<Option<(T, Vec<OwnedFd>)>> {
    let start = Instant::now();
    loop {
        let flags = if start.elapsed() < spin {
            MsgFlags::MSG_DONTWAIT
        } else {
            MsgFlags::empty()
        };
        match recv_once(sock, flags) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::hint::spin_loop(),
            other => return other,
        }
    }
}

fn recv_once<T: DeserializeOwned>(
    sock: BorrowedFd<'_>,
    flags: MsgFlags,
) -> io::Result<Option<(T, Vec<OwnedFd>)>> {
    let mut buf = vec![0u8; MAX_MESSAGE];
    let mut cmsg = nix::cmsg_space!([RawFd; MAX_FDS]);
    let (len, fds) = {
        let mut iov = [IoSliceMut::new(&mut buf)];
        let msg = recvmsg::<()>(
            sock.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::MSG_CMSG_CLOEXEC | flags,
        )?;
        let mut fds = Vec::new();
        for c in msg.cmsgs()? {
            if let ControlMessageOwned::ScmRights(r) = c {
                fds.extend(sys::adopt(r));
            }
        }
        if msg.flags.contains(MsgFlags::MSG_CTRUNC) {
            return Err(io::Error::other("descriptors lost in transit (MSG_CTRUNC)"));
        }
        (msg.bytes, fds)
    };
    if len == 0 {
        return Ok(None);
    }
    let value = serde_json::from_slice(&buf[..len]).map_err(io::Error::other)?;
    Ok(Some((value, fds)))
}
