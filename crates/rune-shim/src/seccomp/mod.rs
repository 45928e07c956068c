//! The seccomp backend (ARCHITECTURE.md §5): Rune's own stacked filter, the hand-over of its
//! listener, and the notify supervisor with its on-behalf helpers.

mod agent;
mod caller;
pub mod channel;
pub mod compile;
mod decide_open;
pub mod handoff;
mod helper;
mod here;
mod open;
mod receivers;
mod serve;
mod serve_names;
mod serve_open;
pub mod supervisor;
pub mod sys;

pub use compile::{CompileError, compile, decode, encode, export, needs_supervisor};
pub use supervisor::{Config, Supervisor};
