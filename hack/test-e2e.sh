#!/usr/bin/env bash
# Runs every file of integration/tests, each between two snapshots of the host (its mount
# table and its cgroup directories, integration/src/host_guard.rs): a file that leaves the
# host changed outside the tests' own paths fails, even if each of its tests passed.
# Needs root, the release binaries (RUNE_RUN, RUNE_SHIM) and what hack/install-deps.sh installs.
set -uo pipefail
cd "$(dirname "$0")/.."

cargo build -q -p rune-integration --bin host-guard || exit 1
guard=target/debug/host-guard
snap=$(mktemp -d /tmp/rune-guard-XXXXXX)
trap 'rm -rf "$snap"' EXIT

failed=()
for file in integration/tests/*.rs; do
	name=$(basename "$file" .rs)
	"$guard" snapshot "$snap/$name" || exit 1
	echo "=== $name"
	cargo test -q --no-fail-fast -p rune-integration --test "$name" -- --include-ignored || failed+=("$name")
	if ! "$guard" check "$snap/$name"; then
		echo "=== $name changed the host" >&2
		failed+=("$name (host changed)")
	fi
done

if ((${#failed[@]})); then
	printf 'failed: %s\n' "${failed[@]}" >&2
	exit 1
fi
echo "all integration test files passed and left the host as they found it"
