//! The Rune shim's library: the policy, the syscall tables and the handler core both backends
//! share, the seccomp backend and the VS-mode backend.
#![deny(unsafe_code)]

pub mod events;
pub mod exec_rules;
pub mod handler;
pub mod object;
pub mod oci_seccomp;
pub mod policy;
pub mod run;
pub mod seccomp;
pub mod syscalls;
pub mod vsmode;
