//! The loopback interface of a container's new network namespace, up before its process
//! runs, as runc and crun leave it (libcontainer does not): servers that listen on
//! 127.0.0.1 and clients of them work in a container of their own network. A namespace the
//! spec names by path is someone else's (a pod's, the host's) and is left as it is.

use std::fs::File;

use nix::sched::{CloneFlags, setns};
use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::sys;

#[derive(Debug, thiserror::Error)]
pub enum LoopbackError {
    #[error("open the network namespace of the container init {pid}: {source}")]
    Namespace { pid: i32, source: std::io::Error },
    #[error("bring up the loopback interface of the container's network namespace: {0}")]
    Up(String),
}

/// Whether the spec makes a new network namespace.
fn new_network(spec: &Spec) -> bool {
    let namespaces = spec.linux().as_ref().and_then(|l| l.namespaces().as_ref());
    namespaces.is_some_and(|ns| {
        ns.iter()
            .any(|n| n.typ() == LinuxNamespaceType::Network && n.path().is_none())
    })
}

/// Sets `lo` up in the network namespace of the container init `init`, if it is new.
pub fn bring_up(spec: &Spec, init: Pid) -> Result<(), LoopbackError> {
    if !new_network(spec) {
        return Ok(());
    }
    let pid = init.as_raw();
    let ns = File::open(format!("/proc/{pid}/ns/net"))
        .map_err(|source| LoopbackError::Namespace { pid, source })?;
    // A thread of its own enters the namespace (setns of a network namespace moves only the
    // calling thread), and is gone before anything else runs: cheaper than a forked child.
    let up = std::thread::spawn(move || {
        setns(ns, CloneFlags::CLONE_NEWNET).map_err(|e| format!("setns: {e}"))?;
        let sock = socket(
            AddressFamily::Inet,
            SockType::Datagram,
            SockFlag::SOCK_CLOEXEC,
            None,
        )
        .map_err(|e| format!("socket: {e}"))?;
        sys::set_link_up(&sock, "lo").map_err(|e| format!("lo: {e}"))
    });
    up.join()
        .unwrap_or_else(|_| Err("the thread ended abnormally".into()))
        .map_err(LoopbackError::Up)
}
