#!/usr/bin/env bash
# Benchmarks of the Rune shim's seccomp backend, with the peers in the same run:
#  (a) a rewritten open+close loop: native, rune-shim run, proot (ptrace), the notification
#      floor (an emulated getpid), and 8 threads opening at once;
#  (b) getpid in a container under docker's seccomp profile: runc, crun, youki, rune-run
#      without a policy, rune-run with the demo policy (which does not touch getpid);
#  (c) the supervisor's and its helper's memory.
# Usage: hack/bench/shim.sh [ROUNDS]   (default 15)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
rounds=${1:-15}
youki=${YOUKI_ROOT:-$HOME/.cache/rune/youki-0.7.0}/bin/youki
for b in rune-run rune-shim; do
	[[ -x $top/target/release/$b ]] || { echo "build first (make build)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/rune-bench-shim.XXXXXX)
source "$here/crun-hugetlb.sh"
cleanup() {
	crun_hugetlb_restore
	rm -rf "$work"
}
trap cleanup EXIT
crun_hugetlb_setup

cc -O2 -static -o "$work/loop" "$top/integration/programs/getpid_loop.c"
cc -O2 -static -pthread -o "$work/open_threads" "$top/integration/programs/open_threads.c"
bash "$top/hack/busybox-rootfs.sh" "$work/bundle/rootfs"
cp "$work/loop" "$work/bundle/rootfs/bin/loop"
# docker's config.json as dockerd wrote it, on our rootfs and without its hooks.
jq --arg root "$work/bundle/rootfs" '.root = {path: $root, readonly: true} | del(.hooks)
    | .process.terminal = false | .linux.namespaces |= map(del(.path))
    | .mounts |= map(select(.source | startswith("/var/lib/docker") | not))' \
	"$top/integration/fixtures/client-configs/docker.config.json" >"$work/bundle/config.json"

python3 "$here/shim.py" --rounds "$rounds" --work "$work" --top "$top" \
	--runtime runc="$(command -v runc)" --runtime crun="$(command -v crun)" \
	${youki:+--runtime youki="$youki"}
