//! The scenarios docker and podman share: they have the same command line, so one function
//! drives both, with runc beside rune-run.

use std::process::Output;

use crate::host;
use crate::image::IMAGE;

/// Which OCI runtime a client call should use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rt {
    Runc,
    Rune,
}

/// A docker-compatible command line.
pub trait DockerCli {
    /// Runs the client with `args`, creating containers with `rt`.
    fn cmd(&self, rt: Rt, args: &[&str]) -> Output;
    /// What to show when a call fails (the daemon's log, say).
    fn context(&self) -> String;
    /// The cgroup path (as in `linux.cgroupsPath`) of the container with the full `id`.
    fn cgroup_of(&self, id: &str) -> String;
    /// podman 4.3's `update` has no `--pids-limit`.
    const UPDATES_PIDS: bool;

    #[track_caller]
    fn ok(&self, rt: Rt, args: &[&str]) -> String {
        let out = self.cmd(rt, args);
        assert!(
            out.status.success(),
            "{args:?} with {rt:?}: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.context()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

fn run_both(cli: &impl DockerCli, args: &[&str]) -> [(Option<i32>, String); 2] {
    [Rt::Runc, Rt::Rune].map(|rt| {
        let mut full = vec!["run", "--rm", "--network", "none"];
        full.extend_from_slice(args);
        let out = cli.cmd(rt, &full);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        (out.status.code(), stdout)
    })
}

/// Everything a user does with `docker`/`podman` on one container, checked against runc
/// where the result can be compared, and against the cgroup where it lands.
pub fn exercise<C: DockerCli>(cli: &C) {
    let [runc, rune] = run_both(cli, &[IMAGE, "sh", "-c", "echo hi; exit 3"]);
    assert_eq!(rune, (Some(3), "hi\n".to_owned()));
    assert_eq!(runc, rune);

    // `-t`: the client hands the runtime a console socket.
    let tty = "tty >/dev/null && echo tty";
    let [runc, rune] = run_both(cli, &["-t", IMAGE, "sh", "-c", tty]);
    assert_eq!((rune.0, rune.1.trim()), (Some(0), "tty"));
    assert_eq!(runc.1.trim(), rune.1.trim());

    let rt = Rt::Rune;
    let script = "echo started; trap 'echo bye; exit 0' TERM; while :; do sleep 0.1; done";
    let run = ["run", "-d", "--network", "none", IMAGE, "sh", "-c", script];
    let id = cli.ok(rt, &run).trim().to_owned();
    assert_eq!(
        cli.ok(rt, &["exec", &id, "sh", "-c", "echo in-exec"]),
        "in-exec\n"
    );
    assert_eq!(
        cli.cmd(rt, &["exec", &id, "sh", "-c", "exit 5"])
            .status
            .code(),
        Some(5)
    );
    assert_eq!(
        cli.ok(rt, &["exec", "-t", &id, "sh", "-c", tty]).trim(),
        "tty"
    );
    let top = cli.ok(rt, &["top", &id]);
    assert!(top.contains("sleep") || top.contains("sh"), "{top}");

    cli.ok(rt, &["pause", &id]);
    assert_eq!(
        cli.ok(rt, &["inspect", "-f", "{{.State.Status}}", &id])
            .trim(),
        "paused"
    );
    cli.ok(rt, &["unpause", &id]);

    let cgroup = cli.cgroup_of(&id);
    let mut update = vec!["update", "--memory", "64m", "--memory-swap", "128m"];
    update.extend(["--cpu-period", "100000", "--cpu-quota", "50000"]);
    if C::UPDATES_PIDS {
        update.extend(["--pids-limit", "50"]);
    }
    update.push(&id);
    cli.ok(rt, &update);
    let limit = |file| host::cgroup_file(&cgroup, file);
    assert_eq!(limit("memory.limit_in_bytes").as_deref(), Some("67108864"));
    assert_eq!(limit("cpu.cfs_quota_us").as_deref(), Some("50000"));
    if C::UPDATES_PIDS {
        assert_eq!(limit("pids.max").as_deref(), Some("50"));
    }

    cli.ok(rt, &["stop", "-t", "10", &id]);
    assert_eq!(
        cli.ok(rt, &["inspect", "-f", "{{.State.ExitCode}}", &id])
            .trim(),
        "0"
    );
    assert_eq!(cli.ok(rt, &["logs", &id]), "started\nbye\n");

    // PID 1 ignores SIGTERM without a handler: stop must SIGKILL it after the grace period.
    let sleeper = cli
        .ok(
            rt,
            &["run", "-d", "--network", "none", IMAGE, "sleep", "1000"],
        )
        .trim()
        .to_owned();
    cli.ok(rt, &["stop", "-t", "1", &sleeper]);
    assert_eq!(
        cli.ok(rt, &["inspect", "-f", "{{.State.ExitCode}}", &sleeper])
            .trim(),
        "137"
    );

    let killed = cli
        .ok(
            rt,
            &["run", "-d", "--network", "none", IMAGE, "sleep", "1000"],
        )
        .trim()
        .to_owned();
    cli.ok(rt, &["kill", &killed]);
    cli.ok(rt, &["wait", &killed]);

    cli.ok(rt, &["rm", &id, &sleeper, &killed]);
    assert!(
        host::cgroup_dirs(&cgroup).is_empty(),
        "cgroup left after rm"
    );
}
