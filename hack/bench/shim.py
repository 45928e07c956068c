"""The shim benchmarks (see shim.sh). Per-call figures come from inside the loop program, so
process and container start-up are excluded; rounds interleave the contenders."""

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time


def per_call(argv, cwd=None):
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=cwd)
        out.seek(0)
        text = out.read().decode()
        if done.returncode != 0 or "ns_per_call" not in text:
            err.seek(0)
            raise SystemExit(f"{argv} failed ({done.returncode}): {text} {err.read().decode()}")
    return float(text.split()[-1])


def table(samples, base, title, unit="ns/call"):
    ref = statistics.median(samples[base])
    print(f"\n{title}\n")
    print(f"| | median {unit} | min | vs {base} |")
    print("|---|---:|---:|---:|")
    for name, s in sorted(samples.items(), key=lambda kv: statistics.median(kv[1])):
        med = statistics.median(s)
        print(f"| {name} | {med:.0f} | {min(s):.0f} | {med / ref:.2f}x |")


def rewrite_loop(args):
    w = args.work
    for name, text in [("foo", "FOO\n"), ("bar", "BAR\n")]:
        with open(f"{w}/{name}", "w") as f:
            f.write(text)
    policy = f"{w}/rewrite.json"
    with open(policy, "w") as f:
        json.dump({"runeVersion": 1, "defaultAction": "allow", "rules": [
            {"syscalls": ["@open"], "match": {"path": {"exact": f"{w}/foo"}},
             "action": "rewrite", "rewrite": {"path": f"{w}/bar"}}]}, f)
    # The notification floor: a call answered from the supervisor with no work at all.
    floor = f"{w}/emulate.json"
    with open(floor, "w") as f:
        json.dump({"runeVersion": 1, "defaultAction": "allow", "rules": [
            {"syscalls": ["getpid"], "action": "emulate", "return": 7}]}, f)
    # The floor with one ADDFD: a memfd_create the supervisor makes and installs (as it does
    # while an exec rule is active), no lookup at all.
    os.makedirs(f"{w}/noexec", exist_ok=True)
    addfd = f"{w}/addfd.json"
    with open(addfd, "w") as f:
        json.dump({"runeVersion": 1, "defaultAction": "allow", "rules": [
            {"syscalls": ["@exec"], "match": {"path": {"prefix": f"{w}/noexec"}},
             "action": "deny", "errno": "EACCES"}]}, f)
    n = "20000"
    shim = f"{args.top}/target/release/rune-shim"
    threads = f"{w}/open_threads"
    contenders = {
        "native (opens bar)": [f"{w}/loop", n, f"{w}/bar"],
        "floor: getpid emulated by rune-shim": [shim, "run", "--policy", floor, "--", f"{w}/loop", n],
        "floor + ADDFD: memfd_create made by rune-shim": [shim, "run", "--policy", addfd, "--", f"{w}/loop", n, "--memfd"],
        "rune-shim rewrite": [shim, "run", "--policy", policy, "--", f"{w}/loop", n, f"{w}/foo"],
        "proot -b (ptrace)": ["proot", "-b", f"{w}/bar:{w}/foo", f"{w}/loop", n, f"{w}/foo"],
        "native, 8 threads": [threads, "8", "2500", f"{w}/bar"],
        "rune-shim rewrite, 8 threads": [shim, "run", "--policy", policy, "--", threads, "8", "2500", f"{w}/foo"],
    }
    # The same three on one CPU (taskset, inherited by the supervisor and the loop): every
    # hand-over between caller and supervisor is then a switch on that CPU, never the wake-up
    # of an idle one, which this VM makes dear (see the README).
    one = ["taskset", "-c", "0"]
    contenders.update({
        "native, one CPU": one + contenders["native (opens bar)"],
        "floor + ADDFD, one CPU": one + contenders["floor + ADDFD: memfd_create made by rune-shim"],
        "rune-shim rewrite, one CPU": one + contenders["rune-shim rewrite"],
    })
    samples = {k: [] for k in contenders}
    for _ in range(args.rounds):
        for k, argv in contenders.items():
            samples[k].append(per_call(argv))
    title = ("(a) open+close of a rewritten path, 20,000 per run (8 threads: wall time per open over "
             "all threads); the floor is one call trapped and answered with no work")
    table(samples, "native (opens bar)", title)
    med = {k: statistics.median(v) for k, v in samples.items()}
    print(f"\nrewritten open+close / notification floor: "
          f"{med['rune-shim rewrite'] / med['floor: getpid emulated by rune-shim']:.1f}x, "
          f"/ floor + ADDFD: {med['rune-shim rewrite'] / med['floor + ADDFD: memfd_create made by rune-shim']:.1f}x; "
          f"on one CPU / floor + ADDFD: {med['rune-shim rewrite, one CPU'] / med['floor + ADDFD, one CPU']:.1f}x")


def getpid_in_containers(args):
    w = args.work
    rune = f"{args.top}/target/release/rune-run"
    demo = f"{args.top}/hack/policies/demo.json"
    with open(f"{w}/bundle/config.json") as f:
        config = json.load(f)
    config["process"]["args"] = ["/bin/loop", "2000000"]
    with open(f"{w}/bundle/config.json", "w") as f:
        json.dump(config, f)
    runtimes = dict(r.split("=", 1) for r in args.runtime)
    contenders = {name: [path] for name, path in runtimes.items() if os.access(path, os.X_OK)}
    contenders["rune-run"] = [rune]
    contenders["rune-run + demo policy"] = [rune, "--policy", demo]
    samples = {k: [] for k in contenders}
    for i in range(args.rounds):
        for k, prefix in contenders.items():
            cid = f"bench-{os.getpid()}-{i}-{abs(hash(k)) % 10000}"
            argv = prefix + ["--root", f"{w}/state-{abs(hash(k)) % 10000}", "run", "--bundle", f"{w}/bundle", cid]
            samples[k].append(per_call(argv))
    table(samples, "runc", "(b) getpid in a container under docker's seccomp profile, 2,000,000 per run")


def rss_kib(pid):
    fields = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if parts[0] in ("Rss:", "Pss:"):
                fields[parts[0][:-1]] = int(parts[1])
    return fields


def memory(args):
    w = args.work
    rune = f"{args.top}/target/release/rune-run"
    demo = f"{args.top}/hack/policies/demo.json"
    with open(f"{w}/bundle/config.json") as f:
        config = json.load(f)
    config["process"]["args"] = ["sleep", "30"]
    with open(f"{w}/bundle/config.json", "w") as f:
        json.dump(config, f)
    state = f"{w}/state-mem"
    base = [rune, "--root", state, "--policy", demo]
    cids = [f"mem-{os.getpid()}-{i}" for i in range(4)]

    def supervisor(cid):
        with open(f"{state}/{cid}/rune-supervisor.pid") as f:
            return int(f.read())

    def helpers_of(sup):
        # Helpers are forked by the serving threads: the children of every task.
        found = []
        for task in os.listdir(f"/proc/{sup}/task"):
            with open(f"/proc/{sup}/task/{task}/children") as f:
                found += [int(p) for p in f.read().split()]
        return found

    rows = []
    try:
        for n, cid in enumerate(cids, 1):
            subprocess.run(base + ["run", "--detach", "--bundle", f"{w}/bundle", cid], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            # One on-behalf open (made by a serving thread: the container shares the
            # supervisor's user namespace, so there is no helper unless one is listed).
            subprocess.run(base + ["exec", cid, "cat", "/etc/passwd"], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if n in (1, len(cids)):
                sups = [supervisor(c) for c in cids[:n]]
                mems = [rss_kib(p) for p in sups]
                rows.append((f"supervisor, {n} container{'s' if n > 1 else ''} (mean)",
                             statistics.mean(m["Rss"] for m in mems),
                             statistics.mean(m["Pss"] for m in mems)))
                for h in (h for p in sups for h in helpers_of(p)):
                    m = rss_kib(h)
                    rows.append(("on-behalf helper", m["Rss"], m["Pss"]))
        print("\n(c) memory of the Rune processes per container (KiB; Pss shares pages fairly: the "
              "supervisors' text is the binary's page cache, shared)\n")
        print("| process | Rss | Pss |")
        print("|---|---:|---:|")
        for name, rss, pss in rows:
            print(f"| {name} | {rss:.0f} | {pss:.0f} |")
    finally:
        for cid in cids:
            subprocess.run(base + ["delete", "--force", cid], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--work", required=True)
    p.add_argument("--top", required=True)
    p.add_argument("--runtime", action="append", default=[])
    args = p.parse_args()
    rewrite_loop(args)
    getpid_in_containers(args)
    memory(args)


if __name__ == "__main__":
    main()
