//! The test framework: a busybox root filesystem, OCI bundles, and drivers for rune-run and
//! runc, so that every end-to-end test can run the same bundle under both.
//!
//! The tests need root, runc, busybox-static and a release build of rune-run; `make test`
//! provides all of them and runs the tests marked `#[ignore]` here with `--include-ignored`.

pub mod bpf;
pub mod bundle;
pub mod console;
pub mod daemon;
pub mod docker_cli;
pub mod host;
pub mod host_guard;
pub mod image;
pub mod programs;
pub mod runtime;
pub mod sandbox;

pub use bundle::Bundle;
pub use runtime::Runtime;

/// A container id no other test (or earlier run) uses.
pub fn unique_id(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
