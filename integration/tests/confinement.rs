//! Attacks on what libcontainer 0.7 leaves looser than runc, fixed in rune-run: a container
//! root rewriting its own cgroup limits, and reaching the host console through the device
//! cgroup. Each runs under a real client's config and must fail as it fails under runc.

use rune_integration::{Bundle, Runtime, unique_id};

fn run_as(client: &str, rt: &Runtime, script: &str) -> (i32, String) {
    let id = unique_id("attack");
    let mut bundle = Bundle::from_client(client, &["/bin/sh", "-c", script]);
    bundle.unique_cgroup(&id);
    let run = rt.call(&["run", "--bundle", bundle.path_str(), &id]);
    (run.code, format!("{}{}", run.stdout, run.stderr))
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn container_root_cannot_raise_its_own_limits() {
    let rt = Runtime::rune();
    let (code, out) = run_as(
        "docker",
        &rt,
        "echo max > /sys/fs/cgroup/pids/pids.max && echo WROTE; \
         echo -1 > /sys/fs/cgroup/memory/memory.limit_in_bytes && echo WROTE; \
         cat /sys/fs/cgroup/pids/pids.max",
    );
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("WROTE"), "a cgroup file was writable:\n{out}");
    assert!(out.contains("Read-only file system"), "{out}");
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn host_console_is_not_reachable_by_mknod() {
    // podman's config denies every device but the standard ones and grants CAP_MKNOD.
    // (docker's config allows c 5:1 itself: there the console is reachable under runc too.)
    // Positive control: a device the cgroup allows (c 1:3, /dev/null) can be made and opened.
    let script = "mknod /dev/rune-null c 1 3 && echo x > /dev/rune-null && echo NULL-OK; \
                  mknod /dev/rune-console c 5 1 && echo x > /dev/rune-console && echo CONSOLE-OPEN";
    let (runc_code, runc_out) = run_as("podman", &Runtime::runc(), script);
    let (code, out) = run_as("podman", &Runtime::rune(), script);
    assert!(
        out.contains("NULL-OK"),
        "the control failed, the test proves nothing:\n{out}"
    );
    assert!(
        !out.contains("CONSOLE-OPEN"),
        "the host console was writable:\n{out}"
    );
    assert_eq!(
        (runc_code, runc_out.contains("CONSOLE-OPEN")),
        (code, false),
        "{runc_out}"
    );
}

/// CVE-2019-5736: a container process can hold `/proc/PID/exe` of a rune-run process that
/// entered its namespaces (during `exec`) and reopen it for writing once rune-run is gone.
/// rune-run runs from an image nobody can write (a lower-only overlay, or a sealed memfd):
/// here the attack is made from the host on a copy of rune-run, so that a failure harms the
/// copy only, and the copy must come out unchanged.
#[test]
#[ignore = "needs root and a release rune-run: run with make test"]
fn rune_run_cannot_be_rewritten_through_its_proc_exe() {
    use std::io::Write;
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;

    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("rune-run");
    std::fs::copy(&Runtime::rune().bin, &copy).unwrap();
    let before = std::fs::read(&copy).unwrap();
    let rt = Runtime::rune_from(copy.clone());
    let id = unique_id("exe");
    let bundle = rune_integration::Bundle::busybox(&["sleep", "30"]);
    let mut run = rt.spawn(&["run", "--bundle", bundle.path_str(), &id]);
    assert!(rt.wait_status(&id, "running"), "the container never ran");
    let held = std::fs::File::options()
        .custom_flags(nix::libc::O_PATH)
        .read(true)
        .open(format!("/proc/{}/exe", run.id()))
        .unwrap();
    let shown = std::fs::read_link(format!("/proc/{}/exe", run.id())).unwrap();
    assert_ne!(shown, copy, "rune-run runs from its file on disk");
    rt.call(&["kill", &id, "KILL"]);
    run.wait().unwrap();
    rt.force_delete(&id);
    let written = std::fs::File::options()
        .write(true)
        .open(format!("/proc/self/fd/{}", held.as_raw_fd()))
        .and_then(|mut f| f.write_all(b"\x7fELF rewritten"));
    assert!(written.is_err(), "the image rune-run ran from was writable");
    assert!(
        std::fs::read(&copy).unwrap() == before,
        "the binary was changed"
    );
    // Control: the copy itself is writable by us, once nothing runs it.
    std::fs::File::options().write(true).open(&copy).unwrap();
}

/// A state root rune-run makes is no one else's to read (0700, as runc's), even when the
/// first verb to need it is `run`, which seals itself before it looks at the state.
#[test]
#[ignore = "needs root and a release rune-run: run with make test"]
fn a_state_root_made_by_rune_run_is_private() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("fresh/state");
    let bundle = rune_integration::Bundle::busybox(&["true"]);
    let id = unique_id("root");
    let out = std::process::Command::new(&Runtime::rune().bin)
        .arg("--root")
        .arg(&root)
        .args(["run", "--bundle", bundle.path_str(), &id])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    for made in [&root, &dir.path().join("fresh")] {
        let mode = std::fs::metadata(made).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{} is {mode:o}", made.display());
    }
}
