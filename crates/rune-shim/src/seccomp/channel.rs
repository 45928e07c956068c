//! Messages between the supervisor, its helpers and the processes handing over listeners: JSON
//! values, descriptors alongside with `SCM_RIGHTS`. A hand-over is one small `SOCK_SEQPACKET`
//! datagram; between the supervisor and a helper a message can be as large as a caller's
//! credentials (65,536 supplementary groups), more than a socket buffer holds, so that pair is
//! a stream and each message is framed by its length.

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
/// A framed message larger than this is a bad request, not a reason to allocate.
const MAX_FRAME: usize = 16 << 20;
const MAX_FDS: usize = 4;

pub fn pair() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )?)
}

/// The supervisor's end and a helper's end of a framed stream.
pub fn stream_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    )?)
}

fn rights(fds: &[BorrowedFd<'_>]) -> Vec<RawFd> {
    fds.iter().map(|f| f.as_raw_fd()).collect()
}

/// Sends `msg` on a stream as its length (u32, native order) and its JSON; the descriptors
/// travel with the first bytes.
pub fn send_framed<T: Serialize>(
    sock: BorrowedFd<'_>,
    msg: &T,
    fds: &[BorrowedFd<'_>],
) -> io::Result<()> {
    let body = serde_json::to_vec(msg).map_err(io::Error::other)?;
    let len = u32::try_from(body.len()).map_err(|_| io::Error::from_raw_os_error(libc::E2BIG))?;
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&len.to_ne_bytes());
    frame.extend_from_slice(&body);
    let raw = rights(fds);
    let cmsgs = if raw.is_empty() {
        vec![]
    } else {
        vec![ControlMessage::ScmRights(&raw)]
    };
    let mut sent = sendmsg::<()>(
        sock.as_raw_fd(),
        &[IoSlice::new(&frame)],
        &cmsgs,
        MsgFlags::MSG_NOSIGNAL,
        None,
    )?;
    while sent < frame.len() {
        sent += sendmsg::<()>(
            sock.as_raw_fd(),
            &[IoSlice::new(&frame[sent..])],
            &[],
            MsgFlags::MSG_NOSIGNAL,
            None,
        )?;
    }
    Ok(())
}

/// What a framed stream delivered.
#[derive(Debug)]
pub enum Framed<T> {
    Message(T, Vec<OwnedFd>),
    /// A whole frame that is not a `T`: the stream stays in step, only this message is lost.
    Bad(Vec<OwnedFd>),
    /// The peer closed its end.
    Closed,
}

/// The next framed message. Polls without sleeping for up to `spin` first: between the
/// supervisor and a helper a message is usually microseconds away, and a sleeping peer costs
/// a cross-CPU wake-up that is an order of magnitude dearer (tens of µs on a virtual machine).
pub fn recv_framed_within<T: DeserializeOwned>(
    sock: BorrowedFd<'_>,
    spin: Duration,
) -> io::Result<Framed<T>> {
    let mut header = [0u8; 4];
    let start = Instant::now();
    let (got, fds) = loop {
        let flags = if start.elapsed() < spin {
            MsgFlags::MSG_DONTWAIT
        } else {
            MsgFlags::empty()
        };
        match recv_with_rights(sock, &mut header, flags) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::hint::spin_loop(),
            other => break other?,
        }
    };
    if got == 0 {
        return Ok(Framed::Closed);
    }
    read_exact(sock, &mut header[got..])?;
    let len = u32::from_ne_bytes(header) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::other(format!("a {len}-byte message")));
    }
    let mut body = vec![0u8; len];
    read_exact(sock, &mut body)?;
    Ok(match serde_json::from_slice(&body) {
        Ok(v) => Framed::Message(v, fds),
        Err(_) => Framed::Bad(fds),
    })
}

fn read_exact(sock: BorrowedFd<'_>, mut buf: &mut [u8]) -> io::Result<()> {
    while !buf.is_empty() {
        match nix::sys::socket::recv(sock.as_raw_fd(), buf, MsgFlags::empty()) {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::UnexpectedEof)),
            Ok(n) => buf = &mut buf[n..],
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// One `recvmsg` into `buf`, adopting any descriptors that came with it.
fn recv_with_rights(
    sock: BorrowedFd<'_>,
    buf: &mut [u8],
    flags: MsgFlags,
) -> io::Result<(usize, Vec<OwnedFd>)> {
    let mut cmsg = nix::cmsg_space!([RawFd; MAX_FDS]);
    let mut iov = [IoSliceMut::new(buf)];
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
    Ok((msg.bytes, fds))
}

pub fn send<T: Serialize>(sock: BorrowedFd<'_>, msg: &T, fds: &[BorrowedFd<'_>]) -> io::Result<()> {
    let bytes = serde_json::to_vec(msg).map_err(io::Error::other)?;
    let raw = rights(fds);
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

/// The next datagram, or `None` when the peer has closed its end.
pub fn recv<T: DeserializeOwned>(sock: BorrowedFd<'_>) -> io::Result<Option<(T, Vec<OwnedFd>)>> {
    recv_once(sock, MsgFlags::empty())
}

fn recv_once<T: DeserializeOwned>(
    sock: BorrowedFd<'_>,
    flags: MsgFlags,
) -> io::Result<Option<(T, Vec<OwnedFd>)>> {
    let mut buf = vec![0u8; MAX_MESSAGE];
    let (len, fds) = recv_with_rights(sock, &mut buf, flags)?;
    if len == 0 {
        return Ok(None);
    }
    let value = serde_json::from_slice(&buf[..len]).map_err(io::Error::other)?;
    Ok(Some((value, fds)))
}
