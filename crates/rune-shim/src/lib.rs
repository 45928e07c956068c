//! The Rune shim's library: the policy and the syscall tables both backends share.
#![deny(unsafe_code)]

pub mod handler;
pub mod policy;
pub mod syscalls;
