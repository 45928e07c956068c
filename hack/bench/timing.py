"""Shared by the benchmarks: time one command, and print medians as a Markdown table."""

import statistics
import subprocess
import tempfile
import time


def timed(argv, env=None):
    """Wall time of one run in ms. stderr goes to a file, not a pipe: a created container
    inherits it and would keep a pipe open long after the runtime has exited."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter_ns()
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=env)
        elapsed = (time.perf_counter_ns() - start) / 1e6
        if done.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{argv} failed ({done.returncode}): {err.read().decode()}")
    return elapsed


def table(samples, base, title):
    """Medians, minima and the ratio of each median to `base`'s."""
    ref = statistics.median(samples[base])
    print(f"\n{title}\n")
    print(f"| | median ms | min ms | vs {base} |")
    print("|---|---:|---:|---:|")
    for name, s in sorted(samples.items(), key=lambda kv: statistics.median(kv[1])):
        med = statistics.median(s)
        print(f"| {name} | {med:.1f} | {min(s):.1f} | {med / ref:.2f}x |")
