#!/usr/bin/env bash
# kernel.sh [VERSION [prepare]]: builds a riscv64 kernel (Image and modules) from
# /usr/src/linux-source-VERSION (default 6.12) with kernel.config and, if present,
# kernel-VERSION.config, once per (sources, config), and prints the build directory; "prepare"
# only readies the tree for building external modules. Cached under $RUNE_RISCV_CACHE
# (default ~/.cache/rune/riscv).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${RUNE_RISCV_CACHE:-$HOME/.cache/rune/riscv}
version=${1:-6.12}
what=${2:-full}
src_tar=/usr/src/linux-source-$version.tar.xz
fragments=("$here/kernel.config")
[[ -f $here/kernel-$version.config ]] && fragments+=("$here/kernel-$version.config")
key=$( (cat "${fragments[@]}" | sha256sum; stat -c %s "$src_tar"
	[[ $version/$what == 6.12/full ]] || echo "$version $what") | sha256sum | cut -c1-16)
out=$cache/kernel-$key
if [[ -f $out/.done ]]; then
	echo "$out"
	exit 0
fi
src=$cache/linux-$version
if [[ ! -f $src/Makefile ]]; then
	mkdir -p "$cache"
	tar -C "$cache" -xf "$src_tar"
	rm -rf "$src"
	mv "$cache/linux-source-$version" "$src"
fi
mkdir -p "$out"
make_k() { make -C "$src" O="$out" ARCH=riscv CROSS_COMPILE=riscv64-linux-gnu- "$@"; }
make_k -s tinyconfig >&2
(cd "$out" && "$src/scripts/kconfig/merge_config.sh" -m -O "$out" .config "${fragments[@]}" >/dev/null)
make_k -s olddefconfig >&2
if [[ $what == prepare ]]; then
	make_k -s -j"$(nproc)" modules_prepare >&2
else
	make_k -s -j"$(nproc)" Image modules >&2
fi
touch "$out/.done"
echo "$out"
