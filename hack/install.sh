#!/usr/bin/env bash
# Installs rune-run under PREFIX and writes each client's configuration, with the installed
# path filled in, to PREFIX/share/rune/client-configs/ (printed too, for copy and paste).
# Usage: hack/install.sh [PREFIX]   (default /usr/local)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
prefix=${1:-/usr/local}
bindir=$prefix/bin
share=$prefix/share/rune/client-configs

[[ -x $top/target/release/rune-run ]] || { echo "build first: make build" >&2; exit 1; }
install -D -m 0755 "$top/target/release/rune-run" "$bindir/rune-run"
mkdir -p "$share"
for f in "$top"/hack/client-configs/*; do
	sed "s|@BINDIR@|$bindir|g" "$f" >"$share/$(basename "$f")"
done
echo "installed $bindir/rune-run"
for f in "$share"/*; do
	printf '\n# %s\n' "$f"
	cat "$f"
done
