//! The attack and probe programs of `integration/programs/*.c`, compiled static (so that the
//! busybox containers can run them too) once per test run, into `target/rune-programs/`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// The path of program `name` (`integration/programs/NAME.c`), compiled if it is not yet.
pub fn program(name: &str) -> PathBuf {
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("programs")
        .join(format!("{name}.c"));
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/rune-programs");
    std::fs::create_dir_all(&dir).expect("programs dir");
    let out = dir.join(name);
    let fresh = out
        .metadata()
        .and_then(|o| Ok(o.modified()? >= src.metadata()?.modified()?))
        .unwrap_or(false);
    if !fresh {
        // Another test binary may compile the same program: build aside, then rename.
        let tmp = dir.join(format!(".{name}.{}", std::process::id()));
        let status = Command::new("cc")
            .args(["-O2", "-static", "-pthread", "-o"])
            .arg(&tmp)
            .arg(&src)
            .status()
            .expect("run cc (apt-get install gcc libc6-dev)");
        assert!(status.success(), "cc {} failed", src.display());
        std::fs::rename(&tmp, &out).expect("install program");
    }
    out
}

/// The directory holding every compiled program, for a bind mount into a container.
pub fn dir() -> PathBuf {
    for name in [
        "tricks",
        "race_buffer",
        "race_symlink",
        "open_later",
        "whoami_euid",
        "getpid_loop",
        "probe",
        "escape",
    ] {
        program(name);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/rune-programs")
}
