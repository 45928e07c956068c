"""Times `echo hi` through docker, podman and ctr with rune-run and with runc, interleaved."""

import argparse
import os
import random

from timing import table, timed


def main():
    ap = argparse.ArgumentParser()
    for flag in ("--work", "--image", "--rune", "--runc"):
        ap.add_argument(flag, required=True)
    ap.add_argument("--rounds", type=int, default=20)
    a = ap.parse_args()
    w = a.work
    env = dict(os.environ, CONTAINERS_CONF=f"{w}/containers.conf")
    podman = ["podman", "--root", f"{w}/podman", "--runroot", f"{w}/podman-run", "--tmpdir", f"{w}/podman-tmp"]
    docker = ["docker", "-H", f"unix://{w}/docker.sock"]
    ctr = ["ctr", "--address", f"{w}/containerd.sock"]

    def cases(i):
        for rt, binary, docker_rt in (("runc", a.runc, "runc"), ("rune-run", a.rune, "rune")):
            yield f"docker {rt}", docker + ["run", "--rm", "--network", "none", "--runtime", docker_rt, a.image, "echo", "hi"]
            yield f"podman {rt}", podman + ["--runtime", binary, "run", "--rm", "--network", "none", a.image, "echo", "hi"]
            yield f"ctr {rt}", ctr + ["run", "--rm", "--runc-binary", binary, a.image, f"c{rt}{i}", "echo", "hi"]

    samples = {}
    for name, argv in cases("warm"):
        timed(argv, env)
    for i in range(a.rounds):
        order = list(cases(i))
        random.shuffle(order)
        for name, argv in order:
            samples.setdefault(name, []).append(timed(argv, env))
    for client in ("docker", "podman", "ctr"):
        sub = {k: v for k, v in samples.items() if k.startswith(client)}
        table(sub, f"{client} runc", f"`{client} run` of `echo hi`, {a.rounds} interleaved rounds")


if __name__ == "__main__":
    main()
