#!/usr/bin/env bash
# Benchmark: `run` of a busybox /bin/true container, rune-run against runc, crun and youki,
# interleaved round by round in one run (the machine is noisy: only ratios mean anything).
# Usage: hack/bench/run-true.sh [ROUNDS]   (default 30)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
rounds=${1:-30}
rune=$top/target/release/rune-run
youki_root=${YOUKI_ROOT:-$HOME/.cache/rune/youki-0.7.0}
youki=$youki_root/bin/youki

[[ -x $rune ]] || { echo "build rune-run first (make build)" >&2; exit 1; }
if [[ ! -x $youki ]]; then
	echo "building youki 0.7.0 (v1,v2,seccomp) into $youki_root" >&2
	cargo install youki --version 0.7.0 --locked --no-default-features \
		--features v1,v2,seccomp --root "$youki_root" >&2
fi

work=$(mktemp -d /tmp/rune-bench.XXXXXX)
source "$here/crun-hugetlb.sh"
cleanup() {
	crun_hugetlb_restore
	rm -rf "$work"
}
trap cleanup EXIT
crun_hugetlb_setup

bash "$top/hack/busybox-rootfs.sh" "$work/bundle/rootfs"
(cd "$work/bundle" && runc spec)
jq '.process.terminal = false | .root.readonly = true | .process.args = ["/bin/true"]' \
	"$work/bundle/config.json" >"$work/c" && mv "$work/c" "$work/bundle/config.json"

python3 "$here/run_true.py" --rounds "$rounds" --bundle "$work/bundle" --state "$work/state" \
	rune-run="$rune" runc="$(command -v runc)" crun="$(command -v crun)" youki="$youki"
