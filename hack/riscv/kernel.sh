#!/usr/bin/env bash
# Builds the guest kernel (Image and modules) once per (kernel source, config) and prints the
# build directory. Cached under $RUNE_RISCV_CACHE (default ~/.cache/rune/riscv).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${RUNE_RISCV_CACHE:-$HOME/.cache/rune/riscv}
src_tar=/usr/src/linux-source-6.12.tar.xz
key=$( (sha256sum <"$here/kernel.config"; stat -c %s "$src_tar") | sha256sum | cut -c1-16)
out=$cache/kernel-$key
if [[ -f $out/arch/riscv/boot/Image && -f $out/.done ]]; then
	echo "$out"
	exit 0
fi
src=$cache/linux-6.12
if [[ ! -f $src/Makefile ]]; then
	mkdir -p "$cache"
	tar -C "$cache" -xf "$src_tar"
	mv "$cache/linux-source-6.12" "$src"
fi
mkdir -p "$out"
make_k() { make -C "$src" O="$out" ARCH=riscv CROSS_COMPILE=riscv64-linux-gnu- "$@"; }
make_k -s tinyconfig >&2
(cd "$out" && "$src/scripts/kconfig/merge_config.sh" -m -O "$out" .config "$here/kernel.config" >/dev/null)
make_k -s olddefconfig >&2
make_k -s -j"$(nproc)" Image modules >&2
touch "$out/.done"
echo "$out"
