//! The same bundle under runc and under rune-run must look the same from inside the container
//! (user, capabilities, mounts, masked and read-only paths, rlimits, hostname, sysctls,
//! devices) and from outside (exit code, state transitions, JSON shapes, cgroup files).

use std::collections::BTreeSet;

use rune_integration::{Bundle, Runtime, host, unique_id};
use serde_json::{Value, json};

/// Prints what the container sees of its own confinement, in a stable order.
const PROBE: &str = r#"
echo "id: $(id)"
echo "hostname: $(hostname)"
grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' /proc/self/status
ulimit -a
echo "umask: $(umask)"
echo "cwd: $(pwd)"
echo "env: $(env | grep -v '^HOSTNAME=' | sort | tr '\n' ' ')"
while read -r _ _ _ _ point opts rest; do
  fs=${rest#* - }; echo "mount: $point $opts ${fs%% *}"
done < /proc/self/mountinfo
for p in /proc/kcore /proc/keys /proc/timer_list /proc/acpi /sys/firmware /proc/scsi; do
  [ -e $p ] && echo "masked $p: $(head -c 1 $p 2>/dev/null | wc -c) $(ls $p 2>&1 | wc -l)"
done
for p in /proc/sys /proc/sysrq-trigger /proc/bus /proc/irq; do
  touch $p/rune-probe 2>/dev/null && echo "writable $p" || echo "read-only $p"
done
for s in net.ipv4.ip_forward kernel.domainname; do
  f=/proc/sys/$(echo $s | tr . /); [ -r $f ] && echo "sysctl $s=$(cat $f)"
done
ls -ln /dev | awk '{print "dev:", $1, $3, $4, $5, $6, $NF}'
ls /proc/self/ns | tr '\n' ' '; echo
echo "lo: $(cat /sys/class/net/lo/flags 2>&1)"
echo done
"#;

/// Runs `bundle` under `rt` with the probe, returning (exit code, stdout).
fn probe(rt: &Runtime, bundle: &mut Bundle, cgroup: &str) -> (i32, String, String) {
    bundle.config["process"]["args"] = json!(["/bin/sh", "-c", PROBE]);
    bundle.config["linux"]["cgroupsPath"] = json!(cgroup);
    bundle.save();
    let id = unique_id("parity");
    let run = rt.call(&["run", "--bundle", bundle.path_str(), &id]);
    rt.force_delete(&id);
    (run.code, run.stdout, run.stderr)
}

/// libcontainer mounts `readonlyPaths` with `nosuid,nodev,noexec` on top of runc's `ro`: a
/// stricter view is accepted, a looser one is not.
fn stricter_mount(runc: &str, rune: &str) -> bool {
    let parse = |l: &str| {
        let mut f = l.strip_prefix("mount: ")?.split(' ');
        let (point, opts, fstype) = (f.next()?, f.next()?, f.next()?);
        Some((
            point.to_owned(),
            fstype.to_owned(),
            opts.split(',').map(str::to_owned).collect::<BTreeSet<_>>(),
        ))
    };
    let (Some((p1, t1, o1)), Some((p2, t2, o2))) = (parse(runc), parse(rune)) else {
        return false;
    };
    let hardening: BTreeSet<String> = ["nosuid", "nodev", "noexec"].map(String::from).into();
    p1 == p2 && t1 == t2 && o2.is_superset(&o1) && o2.difference(&o1).all(|o| hardening.contains(o))
}

fn assert_same_view(name: &str, mut bundle: Bundle) {
    let cgroup = format!("/rune-it/{}", unique_id(name));
    let (runc_code, runc_out, runc_err) = probe(&Runtime::runc(), &mut bundle, &cgroup);
    let (rune_code, rune_out, rune_err) = probe(&Runtime::rune(), &mut bundle, &cgroup);
    assert!(
        runc_out.ends_with("done\n"),
        "{name}: runc probe incomplete:\n{runc_out}{runc_err}"
    );
    let diff: Vec<String> = runc_out
        .lines()
        .zip(rune_out.lines())
        .filter(|(a, b)| a != b && !stricter_mount(a, b))
        .map(|(a, b)| format!("  runc:     {a}\n  rune-run: {b}"))
        .collect();
    assert!(
        diff.is_empty() && runc_out.lines().count() == rune_out.lines().count(),
        "{name}: the container sees a different world:\n{}\nrune-run stderr: {rune_err}",
        diff.join("\n")
    );
    assert_eq!(runc_code, rune_code, "{name}: exit codes differ");
    assert!(host::cgroup_dirs(&cgroup).is_empty(), "{name}: cgroup left");
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn default_spec_matches_runc() {
    assert_same_view("default", Bundle::busybox(&["true"]));
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn docker_config_matches_runc() {
    assert_same_view("docker", Bundle::from_client("docker", &["true"]));
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn podman_config_matches_runc() {
    assert_same_view("podman", Bundle::from_client("podman", &["true"]));
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn ctr_config_matches_runc() {
    assert_same_view("ctr", Bundle::from_client("ctr", &["true"]));
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn cri_configs_match_runc() {
    assert_same_view("cri-sandbox", Bundle::from_client("cri-sandbox", &["true"]));
    assert_same_view(
        "cri-container",
        Bundle::from_client("cri-container", &["true"]),
    );
}

#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn user_rlimits_hostname_sysctl_match_runc() {
    let mut bundle = Bundle::busybox(&["true"]);
    let c = &mut bundle.config;
    c["process"]["user"] = json!({"uid": 1000, "gid": 1000, "additionalGids": [65534]});
    c["process"]["rlimits"] = json!([
        {"type": "RLIMIT_NOFILE", "hard": 4096, "soft": 1024},
        {"type": "RLIMIT_NPROC", "hard": 512, "soft": 256},
        {"type": "RLIMIT_CORE", "hard": 0, "soft": 0}
    ]);
    c["process"]["noNewPrivileges"] = json!(true);
    c["process"]["cwd"] = json!("/tmp");
    c["process"]["capabilities"] = json!({
        "bounding": ["CAP_CHOWN", "CAP_KILL"], "effective": ["CAP_KILL"],
        "permitted": ["CAP_CHOWN", "CAP_KILL"]
    });
    c["hostname"] = json!("parity-host");
    c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1", "kernel.domainname": "parity.test"});
    c["linux"]["maskedPaths"] = json!(["/proc/kcore", "/proc/keys", "/sys/firmware"]);
    c["linux"]["readonlyPaths"] = json!(["/proc/sys", "/proc/bus"]);
    bundle.save();
    assert_same_view("custom", bundle);
}

/// Resource limits land in the same cgroup files with the same values.
#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn resources_land_in_the_same_cgroup_files() {
    let files = [
        "memory.limit_in_bytes",
        "memory.soft_limit_in_bytes",
        "memory.memsw.limit_in_bytes",
        "pids.max",
        "cpu.shares",
        "cpu.cfs_quota_us",
        "cpu.cfs_period_us",
        "cpuset.cpus",
        "cpuset.mems",
        "devices.list",
        "blkio.throttle.read_bps_device",
    ];
    let mut bundle = Bundle::busybox(&["sleep", "1000"]);
    bundle.config["linux"]["resources"] = json!({
        "memory": {"limit": 134217728, "reservation": 67108864, "swap": 268435456},
        "pids": {"limit": 99},
        "cpu": {"shares": 256, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"},
        "devices": [
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
            {"allow": true, "type": "c", "major": 1, "minor": 5, "access": "rw"}
        ],
        "blockIO": {"throttleReadBpsDevice": [{"major": 253, "minor": 0, "rate": 1048576}]}
    });
    let mut seen: Vec<Vec<(String, Option<String>)>> = Vec::new();
    for rt in [Runtime::runc(), Runtime::rune()] {
        let id = unique_id("res");
        let cgroup = bundle.unique_cgroup(&id);
        rt.ok(&["create", "--bundle", bundle.path_str(), &id]);
        // The kernel lists device rules in no particular order: compare them as sets.
        let sorted = |text: String| {
            let mut lines: Vec<&str> = text.lines().collect();
            lines.sort_unstable();
            lines.join("\n")
        };
        seen.push(
            files
                .iter()
                .map(|f| (f.to_string(), host::cgroup_file(&cgroup, f).map(sorted)))
                .collect(),
        );
        rt.ok(&["delete", "--force", &id]);
        assert!(
            host::cgroup_dirs(&cgroup).is_empty(),
            "{}: cgroup left",
            rt.name
        );
    }
    assert_eq!(
        seen[0], seen[1],
        "runc (left) and rune-run (right) wrote different cgroups"
    );
    assert!(
        seen[0]
            .iter()
            .any(|(f, v)| f == "pids.max" && v.as_deref() == Some("99"))
    );
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

/// The same lifecycle gives the same states, and `state`, `list` and `ps` the same shapes.
#[test]
#[ignore = "needs root, runc and a release rune-run: run with make test"]
fn lifecycle_and_json_shapes_match_runc() {
    let bundle = Bundle::busybox(&["sleep", "1000"]);
    let mut transcripts = Vec::new();
    let mut shapes = Vec::new();
    for rt in [Runtime::runc(), Runtime::rune()] {
        let id = unique_id("shape");
        let mut t = Vec::new();
        rt.ok(&["create", "--bundle", bundle.path_str(), &id]);
        t.push(rt.status(&id));
        rt.ok(&["start", &id]);
        t.push(rt.status(&id));
        rt.ok(&["pause", &id]);
        t.push(rt.status(&id));
        rt.ok(&["resume", &id]);
        t.push(rt.status(&id));
        let state = rt.state(&id).unwrap();
        let list: Value = serde_json::from_str(&rt.ok(&["list", "--format", "json"])).unwrap();
        let ps: Value = serde_json::from_str(&rt.ok(&["ps", "--format", "json", &id])).unwrap();
        rt.ok(&["kill", &id, "KILL"]);
        assert!(rt.wait_status(&id, "stopped"));
        t.push(rt.status(&id));
        t.push(format!("stopped pid {}", rt.state(&id).unwrap()["pid"]));
        rt.ok(&["delete", &id]);
        t.push(format!("after delete: {}", rt.call(&["state", &id]).code));
        transcripts.push(t);
        shapes.push((
            keys(&state),
            keys(&list[0]),
            ps.as_array().map(|a| a.len()),
            ps[0].is_i64(),
        ));
    }
    assert_eq!(transcripts[0], transcripts[1]);
    assert_eq!(shapes[0], shapes[1]);
}
