#!/usr/bin/env bash
# Benchmark: one `echo hi` container end to end through docker, podman and ctr, with rune-run
# and with runc, interleaved in one run. Daemons run privately under a temp directory
# (unix sockets only, no iptables or bridge) and are stopped by their pids at the end.
# Usage: hack/bench/clients.sh [ROUNDS]   (default 20)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
rounds=${1:-20}
rune=$top/target/release/rune-run
[[ -x $rune ]] || { echo "build rune-run first (make build)" >&2; exit 1; }

work=$(mktemp -d /tmp/rune-clients.XXXXXX)
pids=()
cleanup() {
	podman_cmd rm --all --force >/dev/null 2>&1 || true
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; done
	grep -o " $work[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

wait_socket() { for _ in $(seq 600); do [[ -S $1 ]] && return; sleep 0.1; done; echo "no $1" >&2; exit 1; }

cat >"$work/daemon.json" <<JSON
{"data-root": "$work/docker", "exec-root": "$work/docker-exec", "pidfile": "$work/docker.pid",
 "hosts": ["unix://$work/docker.sock"], "runtimes": {"rune": {"path": "$rune"}}}
JSON
dockerd --config-file "$work/daemon.json" --iptables=false --bridge=none --ip-forward=false \
	>"$work/dockerd.log" 2>&1 &
pids+=($!)
cat >"$work/containerd.toml" <<TOML
version = 2
root = "$work/containerd"
state = "$work/containerd-state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$work/containerd.sock"
TOML
containerd --config "$work/containerd.toml" >"$work/containerd.log" 2>&1 &
pids+=($!)
wait_socket "$work/docker.sock"
wait_socket "$work/containerd.sock"

printf '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n' \
	>"$work/containers.conf"
podman_cmd() {
	CONTAINERS_CONF=$work/containers.conf podman --root "$work/podman" --runroot "$work/podman-run" \
		--tmpdir "$work/podman-tmp" "$@"
}

bash "$top/hack/busybox-rootfs.sh" "$work/rootfs"
image=localhost/rune-busybox:latest
tar -C "$work/rootfs" -c . | docker -H "unix://$work/docker.sock" import - "$image" >/dev/null
docker -H "unix://$work/docker.sock" save -o "$work/image.tar" "$image"
podman_cmd load -q -i "$work/image.tar" >/dev/null
ctr --address "$work/containerd.sock" images import "$work/image.tar" >/dev/null

python3 "$here/clients.py" --rounds "$rounds" --work "$work" --image "$image" \
	--rune "$rune" --runc "$(command -v runc)"
