#!/usr/bin/env bash
# The main job: a busybox container through rune-run, the way a runc user would drive it,
# under the demo Rune policy (hack/policies/demo.json): a rewrite, a denial, and the events.
set -euo pipefail

rune=$(realpath "${1:-target/release/rune-run}")
work=$(mktemp -d /tmp/rune-demo.XXXXXX)
root="$work/state"
id="rune-demo-$$"
cleanup() {
	"$rune" --root "$root" delete --force "$id" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

policy=$(realpath "$(dirname "$0")/policies/demo.json")
bash "$(dirname "$0")/busybox-rootfs.sh" "$work/bundle/rootfs"
echo "hello from the image" >"$work/bundle/rootfs/etc/greeting.txt"
echo "hello, rewritten by Rune" >"$work/bundle/rootfs/etc/greeting.rune.txt"
mkdir -p "$work/bundle/rootfs/etc/secrets" && echo "top secret" >"$work/bundle/rootfs/etc/secrets/token"
cd "$work/bundle"
"$rune" spec
# Non-interactive, and a read-only root like a hardened deployment would use.
tmp=$(mktemp)
jq '.process.terminal = false | .root.readonly = true | .hostname = "rune-demo"
    | .process.args = ["sh", "-c", "echo \"$(hostname): $(id)\"; cat /etc/greeting.txt; cat /etc/secrets/token; sleep 30"]' \
	config.json >"$tmp" && mv "$tmp" config.json

printf '\nThe demo policy (%s):\n' "$policy"
cat "$policy"
step() { printf '\n$ rune-run %s\n' "$*"; "$rune" --root "$root" --policy "$policy" "$@"; }
step create --bundle "$work/bundle" "$id"
step state "$id"
step start "$id"
step exec "$id" sh -c 'echo "exec sees: $(cat /proc/1/cmdline | tr "\0" " ")"'
step ps "$id"
sleep 0.2
step trace "$id"
step kill "$id" KILL
sleep 0.2
step delete "$id"
printf '\n$ rune-run run (foreground, exit code propagates)\n'
jq '.process.args = ["sh", "-c", "echo bye; exit 3"]' config.json >"$tmp" && mv "$tmp" config.json
set +e
"$rune" --root "$root" run --bundle "$work/bundle" "$id"
echo "exit status: $?"
