"""Times `RUNTIME run` of one bundle for several runtimes, interleaved, and prints medians.

Each round runs every runtime once, in a fresh random order, so that drift in the machine's
load hits all of them alike. Then rune-run's own phases (create, start, wait, delete, and the
bare binary start-up) are timed the same way, to show where its milliseconds go.
"""

import argparse
import random
import statistics
import subprocess
import time

from timing import table, timed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--state", required=True)
    ap.add_argument("runtimes", nargs="+", help="NAME=PATH")
    args = ap.parse_args()
    runtimes = dict(r.split("=", 1) for r in args.runtimes)

    samples = {name: [] for name in runtimes}
    for name, path in runtimes.items():  # one warm-up each: page cache, cgroup parents
        timed([path, "--root", f"{args.state}/{name}", "run", "--bundle", args.bundle, f"warm-{name}"])
    for i in range(args.rounds):
        order = list(runtimes.items())
        random.shuffle(order)
        for name, path in order:
            argv = [path, "--root", f"{args.state}/{name}", "run", "--bundle", args.bundle, f"b{i}"]
            samples[name].append(timed(argv))

    rune = runtimes.get("rune-run")
    phases = {"binary start-up (--version)": [], "create": [], "start + wait": [], "delete": []}
    if rune:
        root = f"{args.state}/phases"
        for i in range(args.rounds):
            cid = f"p{i}"
            phases["binary start-up (--version)"].append(timed([rune, "--version"]))
            phases["create"].append(timed([rune, "--root", root, "create", "--bundle", args.bundle, cid]))
            start = time.perf_counter_ns()
            timed([rune, "--root", root, "start", cid])
            while '"stopped"' not in subprocess.run(
                [rune, "--root", root, "state", cid], capture_output=True, text=True
            ).stdout:
                time.sleep(0.0005)
            phases["start + wait"].append((time.perf_counter_ns() - start) / 1e6)
            phases["delete"].append(timed([rune, "--root", root, "delete", cid]))

    table(samples, "runc", f"`run` of a busybox /bin/true container, {args.rounds} interleaved rounds")
    if rune:
        print("\nrune-run by phase (separate commands, so each pays its own start-up)\n")
        print("| phase | median ms |")
        print("|---|---:|")
        for name, s in phases.items():
            print(f"| {name} | {statistics.median(s):.1f} |")


if __name__ == "__main__":
    main()
