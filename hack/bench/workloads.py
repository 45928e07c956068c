"""Real workloads in a Debian bookworm container (see workloads.sh): runc, crun, rune-run
without a policy and rune-run with a policy that decides every open on the caller's behalf.
Each workload times itself inside the container (start-up excluded: run-true.sh measures
that) and prints what it produced; that output must be the same under every runtime. Rounds
interleave the runtimes; the table (medians, ratios to runc) goes into the README."""

import argparse
import json
import os
import re
import statistics
import subprocess
import tempfile

WORKLOADS = {
    "8 threads + 4 forked processes reading 400 files, 3 times each (python)": ["python3", "/bench/threads.py"],
    "git: add + commit 2000 small files, status, log": ["sh", "/bench/git.sh"],
    "`find / -xdev`": ["sh", "/bench/find.sh"],
    "nginx, 1000 keep-alive GETs": ["sh", "/bench/nginx.sh"],
    "python3 import json, sqlite3, http.server": ["sh", "/bench/imports.sh"],
}

# Denies one directory, rewrites one file, emulates one call and denies exec under /tmp:
# every open is then decided on the caller's behalf.
POLICY = {
    "runeVersion": 1,
    "defaultAction": "allow",
    "rules": [
        {"name": "secret", "syscalls": ["@open"], "match": {"path": {"prefix": "/srv/secret"}},
         "action": "deny", "errno": "EACCES"},
        {"name": "rewrite", "syscalls": ["@open"], "match": {"path": {"exact": "/etc/rune-original"}},
         "action": "rewrite", "rewrite": {"path": "/etc/rune-rewritten"}},
        {"name": "ppid", "syscalls": ["getppid"], "action": "emulate", "return": 1},
        {"name": "no-tmp-exec", "syscalls": ["@exec"], "match": {"path": {"prefix": "/tmp"}},
         "action": "deny", "errno": "EACCES"},
    ],
}

# docker's default capabilities (runc's spec keeps three): nginx changes users.
CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]

TMPFS = ["/work", "/run", "/tmp", "/var/lib/nginx", "/var/log/nginx"]


def bundle(work, image, bench):
    """A bundle on the image (read-only), from runc's own default spec."""
    path = os.path.join(work, "bundle")
    os.makedirs(path, exist_ok=True)
    subprocess.run(["runc", "spec", "--bundle", path], check=True)
    with open(os.path.join(path, "config.json")) as f:
        spec = json.load(f)
    spec["root"] = {"path": image, "readonly": True}
    spec["process"]["terminal"] = False
    spec["process"]["env"].append("HOME=/work")
    spec["process"]["capabilities"] = {k: CAPS for k in ["bounding", "effective", "permitted"]}
    spec["hostname"] = "bench"
    spec["mounts"].append({"destination": "/bench", "type": "bind", "source": bench, "options": ["rbind", "ro"]})
    for d in TMPFS:
        spec["mounts"].append({"destination": d, "type": "tmpfs", "source": "tmpfs",
                               "options": ["nosuid", "nodev", "size=256m"]})
    return path, spec


def run(runtime, state, path, spec, argv, n):
    spec["process"]["args"] = argv
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(spec, f)
    cid = f"bench-{os.getpid()}-{n}"
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        done = subprocess.run(runtime[:1] + ["--root", state] + runtime[1:] + ["run", "--bundle", path, cid],
                              stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        out.seek(0)
        err.seek(0)
        text, errors = out.read().decode(), err.read().decode()
    if done.returncode != 0 or "elapsed" not in text:
        raise SystemExit(f"{runtime} {argv} failed ({done.returncode}): {text} {errors}")
    lines = text.strip().splitlines()
    elapsed = float(lines[-1].split()[-1])
    return elapsed, "\n".join(lines[:-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--image", required=True)
    ap.add_argument("--top", required=True)
    ap.add_argument("--readme")
    args = ap.parse_args()
    rune = os.path.join(args.top, "target/release/rune-run")
    with tempfile.TemporaryDirectory(prefix="rune-bench-workloads.") as work:
        policy = os.path.join(work, "policy.json")
        with open(policy, "w") as f:
            json.dump(POLICY, f)
        runtimes = {
            "runc": ["runc"],
            "crun": ["crun"],
            "rune-run": [rune],
            "rune-run + policy": [rune, "--policy", policy],
        }
        state = os.path.join(work, "state")
        path, spec = bundle(work, args.image, os.path.join(args.top, "hack/bench/workloads"))
        # The policy is in effect: the rewritten file reads as its target.
        _, seen = run(runtimes["rune-run + policy"], state, path, spec,
                      ["sh", "-c", "cat /etc/rune-original; cat /srv/secret/key 2>&1; echo elapsed 0"], 0)
        if not seen.startswith("rewritten") or "Permission denied" not in seen:
            raise SystemExit(f"the policy is not in effect: {seen}")
        samples = {w: {r: [] for r in runtimes} for w in WORKLOADS}
        outputs = {w: {} for w in WORKLOADS}
        n = 1
        for _ in range(args.rounds):
            for w, argv in WORKLOADS.items():
                for r, rt in runtimes.items():
                    elapsed, out = run(rt, state, path, spec, argv, n)
                    n += 1
                    samples[w][r].append(elapsed)
                    if outputs[w].setdefault(r, out) != out:
                        raise SystemExit(f"{w}: {r} printed {out!r}, before {outputs[w][r]!r}")
        for w in WORKLOADS:
            for r, out in outputs[w].items():
                if out != outputs[w]["runc"]:
                    raise SystemExit(f"{w}: {r} printed {out!r}, runc {outputs[w]['runc']!r}")
    lines = [
        f"Debian bookworm image (mmdebstrap), medians of {args.rounds} interleaved rounds, seconds "
        "measured inside the container (start-up excluded); each workload's output is the same "
        "under every runtime. The policy denies one directory, rewrites one file, emulates "
        "`getppid` and denies exec under /tmp, so every open is decided on the caller's behalf.",
        "",
        "| workload | runc | crun | rune-run | rune-run + policy | policy vs runc |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for w in WORKLOADS:
        med = {r: statistics.median(s) for r, s in samples[w].items()}
        cells = " | ".join(f"{med[r]:.3f}" for r in runtimes)
        lines.append(f"| {w} | {cells} | {med['rune-run + policy'] / med['runc']:.2f}x |")
    table = "\n".join(lines)
    print(table)
    if args.readme:
        with open(args.readme) as f:
            text = f.read()
        block = f"<!-- bench:workloads -->\n{table}\n<!-- /bench:workloads -->"
        new = re.sub(r"<!-- bench:workloads -->.*?<!-- /bench:workloads -->", lambda _: block, text, flags=re.S)
        if new == text and block not in text:
            raise SystemExit("README has no <!-- bench:workloads --> block")
        with open(args.readme, "w") as f:
            f.write(new)


if __name__ == "__main__":
    main()
