//! Bundles that once made rune-run touch its host or do worse than runc: no namespaces at all
//! (run in a private mount namespace, so a regression cannot damage the test machine), a
//! read-only rootfs in a user namespace, `disableOOMKiller`, `exec --cap CAP_…`, and the
//! descriptors `--preserve-fds` lets through.

use std::process::Command;

use rune_integration::{Bundle, Runtime, host, unique_id};
use serde_json::{Value, json};

/// runc's default spec with no namespaces at all, as runc runs it: no hostname (it needs a
/// UTS namespace) and no masked or read-only paths (they need a mount namespace).
fn no_namespaces(args: &[&str]) -> Bundle {
    let mut bundle = Bundle::busybox(args);
    bundle.config["linux"]["namespaces"] = json!([]);
    for key in ["maskedPaths", "readonlyPaths"] {
        bundle.config["linux"].as_object_mut().unwrap().remove(key);
    }
    bundle.config.as_object_mut().unwrap().remove("hostname");
    bundle.save();
    bundle
}

/// What a runtime did with `bundle`, run from inside `unshare -m --propagation private`: the
/// output and status of a foreground `run` (or, `detach`ed, the container's state once its
/// program has ended), and how the mount table (with options) of that namespace changed.
fn in_private_mount_namespace(rt: &Runtime, bundle: &Bundle, id: &str, detach: bool) -> Value {
    let script = r#"
        set -u
        rt=$1 root=$2 bundle=$3 id=$4 detach=$5
        mounts() { cut -d' ' -f4- /proc/self/mountinfo | sed 's/ shared:[0-9]*//; s/ master:[0-9]*//' | sort; }
        before=$(mounts)
        status=
        if [ "$detach" = yes ]; then
            out=$("$rt" --root "$root" run --detach --bundle "$bundle" "$id" 2>&1); code=$?
            sleep 0.3
            status=$("$rt" --root "$root" state "$id" | sed -n 's/.*"status": *"\([a-z]*\)".*/\1/p')
            "$rt" --root "$root" delete --force "$id" >/dev/null 2>&1
        else
            out=$("$rt" --root "$root" run --bundle "$bundle" "$id" 2>&1); code=$?
        fi
        after=$(mounts)
        changed=$(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | tr '\n' '|')
        printf '{"code": %d, "status": "%s"}\n%s\n---\n%s\n' "$code" "$status" "$changed" "$out"
    "#;
    let out = Command::new("unshare")
        .args([
            "-m",
            "--propagation",
            "private",
            "bash",
            "-c",
            script,
            "guard",
        ])
        .arg(&rt.bin)
        .arg(rt.root())
        .arg(bundle.path())
        .arg(id)
        .arg(if detach { "yes" } else { "no" })
        .output()
        .expect("run unshare");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (head, output) = text.split_once("\n---\n").expect("the script's output");
    let (summary, changed) = head.split_once('\n').unwrap_or((head, ""));
    let mut v: Value = serde_json::from_str(summary).expect("summary is JSON");
    v["changed"] = json!(changed);
    v["output"] = json!(output);
    v
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn a_bundle_without_namespaces_runs_as_under_runc_and_leaves_the_mounts_alone() {
    let (rune, runc) = (Runtime::rune(), Runtime::runc());
    let bundle = no_namespaces(&[
        "sh",
        "-c",
        "echo hi; grep -c cgroup /proc/self/mountinfo; touch /sys/fs/cgroup/pids/x 2>&1; exit 3",
    ]);
    let id = unique_id("nons");
    let theirs = in_private_mount_namespace(&runc, &bundle, &id, false);
    let ours = in_private_mount_namespace(&rune, &bundle, &id, false);
    assert_eq!(ours["code"], 3, "{ours}");
    assert_eq!(ours["code"], theirs["code"], "{ours} vs {theirs}");
    assert_eq!(ours["output"], theirs["output"], "{ours} vs {theirs}");
    // runc leaves the container's mounts below the rootfs in the shared namespace; rune-run
    // takes them with the container, and never touches any other.
    assert_eq!(ours["changed"], "", "{ours}");
    // runc's leftovers are all below the rootfs: the reference touches nothing else either.
    let elsewhere: Vec<&str> = theirs["changed"]
        .as_str()
        .unwrap()
        .split('|')
        .filter(|l| {
            l.split(' ')
                .nth(2)
                .is_some_and(|p| !p.starts_with(bundle.rootfs_str()))
        })
        .collect();
    assert!(elsewhere.is_empty(), "{elsewhere:?}");
    let theirs = in_private_mount_namespace(&runc, &bundle, &id, true);
    let ours = in_private_mount_namespace(&rune, &bundle, &id, true);
    assert_eq!(
        (&ours["code"], &ours["status"]),
        (&json!(0), &json!("stopped")),
        "{ours}"
    );
    assert_eq!(ours["status"], theirs["status"], "{ours} vs {theirs}");
    assert_eq!(ours["changed"], "", "{ours}");
    assert!(!rune.root().join(&id).exists());
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn a_read_only_rootfs_in_a_user_namespace_runs_as_under_runc() {
    let check = "grep ' /sys/fs/cgroup/pids ' /proc/self/mountinfo | cut -d' ' -f6; \
                 touch /sys/fs/cgroup/pids/x 2>/dev/null && echo writable; id -u";
    let mut bundle = Bundle::busybox(&["sh", "-c", check]);
    bundle.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    bundle.config["linux"]["uidMappings"] =
        json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    bundle.config["linux"]["gidMappings"] =
        json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    bundle.config["root"]["readonly"] = json!(true);
    bundle.save();
    let mut outputs = Vec::new();
    for rt in [Runtime::runc(), Runtime::rune()] {
        let id = unique_id("userns-ro");
        let run = rt.call(&["run", "--bundle", bundle.path_str(), &id]);
        assert_eq!(run.code, 0, "{}: {run:?}", rt.name);
        outputs.push(run.stdout);
    }
    assert_eq!(outputs[0], outputs[1]);
    assert!(outputs[1].starts_with("ro,"), "{}", outputs[1]);
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn disable_oom_killer_lands_in_the_cgroup_as_with_runc() {
    for rt in [Runtime::runc(), Runtime::rune()] {
        let id = unique_id("oomkill");
        let mut bundle = Bundle::busybox(&["sleep", "1000"]);
        let cg = bundle.unique_cgroup(&id);
        bundle.config["linux"]["resources"]["memory"] =
            json!({"limit": 268435456, "disableOOMKiller": true});
        bundle.save();
        rt.ok(&["run", "--detach", "--bundle", bundle.path_str(), &id]);
        let control = || host::cgroup_file(&cg, "memory.oom_control").unwrap_or_default();
        assert!(
            control().contains("oom_kill_disable 1"),
            "{}: {}",
            rt.name,
            control()
        );
        // An update of the memory limit keeps it, as in runc.
        rt.ok(&["update", "--memory", "134217728", &id]);
        assert!(
            control().contains("oom_kill_disable 1"),
            "{}: {}",
            rt.name,
            control()
        );
        rt.ok(&["delete", "--force", &id]);
    }
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn exec_cap_takes_runcs_names() {
    let rt = Runtime::rune();
    let id = unique_id("execcap");
    let mut bundle = Bundle::busybox(&["sleep", "1000"]);
    bundle.unique_cgroup(&id);
    bundle.config["process"]["capabilities"] = json!({});
    bundle.save();
    rt.ok(&["run", "--detach", "--bundle", bundle.path_str(), &id]);
    let status = rt.ok(&["exec", "--cap", "CAP_KILL", &id, "cat", "/proc/self/status"]);
    let eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .map(|v| u64::from_str_radix(v.trim(), 16).unwrap())
        .unwrap();
    // CAP_KILL is capability 5, and it is the only one the process was given.
    assert_eq!(eff, 1 << 5, "{status}");
    let bad = rt.call(&["exec", "--cap", "CAP_NOPE", &id, "true"]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("unknown capability") && bad.stderr.contains("CAP_NOPE"),
        "{bad:?}"
    );
    rt.ok(&["delete", "--force", &id]);
}

/// The descriptors a process in the container has open, as its shell sees them.
/// (`test` is a builtin: nothing opens a descriptor of its own while they are counted.)
const OPEN_FDS: &str =
    "for f in $(seq 0 64); do [ -e /proc/$$/fd/$f ] && printf '%s ' $f; done; true";

/// Runs `rune-run ARGS` with fd 3 open on a file and fd 10 on /dev/null.
fn with_fds_3_and_10(rt: &Runtime, args: &[&str], file: &std::path::Path) -> String {
    let out = Command::new("bash")
        .arg("-c")
        .arg(r#"exec "$@" 3<"$F" 10</dev/null"#)
        .arg("bash")
        .arg(&rt.bin)
        .arg("--root")
        .arg(rt.root())
        .args(args)
        .env("F", file)
        .output()
        .expect("run rune-run");
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn preserve_fds_lets_through_only_what_it_names() {
    let rt = Runtime::rune();
    let id = unique_id("fds");
    let mut bundle = Bundle::busybox(&["sh", "-c", OPEN_FDS]);
    bundle.unique_cgroup(&id);
    let file = bundle.file("config.json");
    let seen = with_fds_3_and_10(
        &rt,
        &[
            "run",
            "--preserve-fds",
            "1",
            "--bundle",
            bundle.path_str(),
            &id,
        ],
        &file,
    );
    assert_eq!(seen.trim(), "0 1 2 3", "run");
    let id = unique_id("fds-exec");
    bundle.config["process"]["args"] = json!(["sleep", "1000"]);
    bundle.save();
    rt.ok(&["run", "--detach", "--bundle", bundle.path_str(), &id]);
    let seen = with_fds_3_and_10(
        &rt,
        &["exec", "--preserve-fds", "1", &id, "sh", "-c", OPEN_FDS],
        &file,
    );
    assert_eq!(seen.trim(), "0 1 2 3", "exec");
    let seen = with_fds_3_and_10(&rt, &["exec", &id, "sh", "-c", OPEN_FDS], &file);
    assert_eq!(seen.trim(), "0 1 2", "exec without --preserve-fds");
    rt.ok(&["delete", "--force", &id]);
}
