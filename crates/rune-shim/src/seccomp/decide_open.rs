//! One open for a caller (`object::decide_open`), made whole by whoever acts for it (a
//! serving thread or a helper, in one round trip): objects are found in the caller's root
//! and as the caller (`Opener`).

use std::os::fd::{BorrowedFd, OwnedFd};

use super::helper::{Opened, Resolved};
use super::open::{Opener, Who};
use crate::handler::Policies;
use crate::object::decide::{Failure, Finder, OpenCall, OpenOutcome, decide_open};

/// The way of finding and opening for one caller.
struct OnBehalf<'a, 'o> {
    opener: &'a mut Opener<'o>,
    who: &'a Who<'a>,
    /// The caller's root and the directory a relative path starts from.
    fds: &'a [BorrowedFd<'a>],
    /// The caller's root twice: a rewrite target is looked up from the root.
    from_root: [BorrowedFd<'a>; 2],
}

impl Finder for OnBehalf<'_, '_> {
    type Fd = OwnedFd;

    fn find(
        &mut self,
        path: &[u8],
        flags: i32,
        resolve: u64,
        from_root: bool,
    ) -> Result<String, i32> {
        let fds = if from_root {
            &self.from_root[..]
        } else {
            self.fds
        };
        match self.opener.resolve(self.who, fds, path, flags, resolve) {
            Resolved::Object(p) | Resolved::Missing(p) => Ok(p),
            Resolved::Failed(e) => Err(e),
            Resolved::Named(_) => Err(libc::EIO),
        }
    }

    fn hands_o_path(&self) -> bool {
        false
    }

    fn open(&mut self, flags: i32, mode: u32) -> Result<(OwnedFd, bool), Failure> {
        match self.opener.open(self.who, flags, mode) {
            Ok(o) => Ok((o.fd, o.wait_for_writer)),
            Err(Opened::Retry) => Err(Failure::Retry),
            Err(Opened::Later) => Err(Failure::Later),
            Err(Opened::Failed(e)) => Err(Failure::Failed(e)),
            Err(Opened::Done) => Err(Failure::Failed(libc::EIO)),
        }
    }
}

impl Opener<'_> {
    pub fn serve_open(
        &mut self,
        policies: &Policies,
        who: &Who<'_>,
        fds: &[BorrowedFd<'_>],
        c: &OpenCall,
    ) -> (OpenOutcome, Option<OwnedFd>) {
        let Some(root) = fds.first().copied() else {
            return (OpenOutcome::failed(libc::EINVAL), None);
        };
        let mut finder = OnBehalf {
            opener: self,
            who,
            fds,
            from_root: [root, root],
        };
        decide_open(policies, &mut finder, c)
    }
}
