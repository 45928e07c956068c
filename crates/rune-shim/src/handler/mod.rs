//! The handler core both backends call: decide what happens to a call. Free of seccomp and
//! RISC-V specifics, and of system calls, so that the VS-mode handler can run it too.

pub mod decide;
pub mod matcher;
pub mod policies;

pub use decide::{Call, Decision, Source, Verdict, decide_both};
pub use policies::Policies;
