#!/usr/bin/env bash
# Real workloads under runc, crun, rune-run and rune-run with a policy that decides every
# open on the caller's behalf (issue 14): python threads and forks reading files, git, find,
# nginx with keep-alive GETs, python imports. Builds the Debian bookworm image it runs them
# on with mmdebstrap from the package registry, once (cached under ~/.cache/rune/bench, keyed
# by what goes into it: about 3 minutes and 200 MB the first time), and writes its table into
# the README's <!-- bench:workloads --> block.
# Usage: hack/bench/workloads.sh [ROUNDS]   (default 3)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
rounds=${1:-3}
[[ -x $top/target/release/rune-run ]] || { echo "build first (make build)" >&2; exit 1; }

packages=python3,git,nginx-light,sqlite3
# What the policy acts on: a denied directory, a file rewritten to another.
hook='mkdir -p "$1/srv/secret" && echo SECRET >"$1/srv/secret/key" &&
	echo original >"$1/etc/rune-original" && echo rewritten >"$1/etc/rune-rewritten"'
key=$(printf '%s\n' bookworm "$packages" "$hook" | sha256sum | cut -c1-16)
image=${RUNE_BENCH_IMAGE:-$HOME/.cache/rune/bench/bookworm-$key}
if [[ ! -d $image ]]; then
	mkdir -p "$(dirname "$image")"
	rm -rf "$image.part"
	mmdebstrap --quiet --variant=apt --include="$packages" --customize-hook="$hook" \
		bookworm "$image.part" http://deb.debian.org/debian
	mv "$image.part" "$image"
fi

source "$here/crun-hugetlb.sh"
trap crun_hugetlb_restore EXIT
crun_hugetlb_setup
python3 "$here/workloads.py" --rounds "$rounds" --image "$image" --top "$top" --readme "$top/README.md"
