"""8 threads and 4 forked processes reading the same 400 files (every open goes through
the supervisor under a path rule). Prints what was read, then the time it took."""

import os
import threading
import time

FILES = sorted(
    os.path.join(d, f)
    for d, _, names in os.walk("/usr/lib/python3.11")
    for f in names
    if f.endswith(".py")
)[:400]


def work():
    total = 0
    for _ in range(3):
        for p in FILES:
            with open(p, "rb") as f:
                total += len(f.read())
    return total


start = time.perf_counter()
results = []
threads = [threading.Thread(target=lambda: results.append(work())) for _ in range(8)]
children = []
for _ in range(4):
    pid = os.fork()
    if pid == 0:
        os._exit(0 if work() > 0 else 1)
    children.append(pid)
for t in threads:
    t.start()
for t in threads:
    t.join()
ok = all(os.waitpid(p, 0)[1] == 0 for p in children)
elapsed = time.perf_counter() - start
print("files", len(FILES), "bytes", sum(results), "children ok", ok)
print("elapsed", f"{elapsed:.4f}")
