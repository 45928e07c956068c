//! How runc turns a process's end into its own exit code.

use nix::sys::wait::WaitStatus;

/// runc exits with the container's status, or 128 + signal when a signal ended it.
pub fn from_wait(status: WaitStatus) -> Option<u8> {
    match status {
        WaitStatus::Exited(_, code) => Some(u8::try_from(code & 0xff).unwrap_or(u8::MAX)),
        WaitStatus::Signaled(_, sig, _) => Some(128u8.wrapping_add(sig as u8)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use nix::sys::signal::Signal;
    use nix::unistd::Pid;

    use super::*;

    #[test]
    fn exit_and_signal_codes_match_runc() {
        let pid = Pid::from_raw(1);
        assert_eq!(from_wait(WaitStatus::Exited(pid, 3)), Some(3));
        assert_eq!(
            from_wait(WaitStatus::Signaled(pid, Signal::SIGKILL, false)),
            Some(137)
        );
        assert_eq!(from_wait(WaitStatus::StillAlive), None);
    }
}
