#!/usr/bin/env bash
# Builds everything the riscv64 test bed needs, cached outside the repository by what it was
# built from: packages (deps.sh), the kernel (kernel.sh), the module, the static guest test
# programs, the initramfs, for the kernel $RUNE_KERNEL (6.12 by default, or 6.1). Prints the
# directory holding Image and initramfs.cpio.gz.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cache=${RUNE_RISCV_CACHE:-$HOME/.cache/rune/riscv}

bash "$here/deps.sh" >&2
version=${RUNE_KERNEL:-6.12}
kdir=$(bash "$here/kernel.sh" "$version")
out=$cache/guest-$version
mkdir -p "$out"

# The module, built in a scratch copy so the repository stays clean.
mod=$out/module
rm -rf "$mod" && mkdir -p "$mod"
cp -r "$top/crates/rune-kmod/kernel" "$top/crates/rune-kmod/include" "$mod/"
make -s -C "$kdir" M="$mod/kernel" ARCH=riscv CROSS_COMPILE=riscv64-linux-gnu- modules >&2

# The initramfs: busybox, the module, the tests, an init that runs the command it is given.
root=$out/initramfs
rm -rf "$root" && mkdir -p "$root"/{bin,dev,proc,sys,tmp,mnt/host,lib/modules,usr/lib/rune-tests}
cp "$cache/busybox/usr/bin/busybox" "$root/bin/busybox"
cp "$mod/kernel/rune.ko" "$root/lib/modules/rune.ko"
# kvm.ko, for the coexistence tests
cp "$kdir/arch/riscv/kvm/kvm.ko" "$root/lib/modules/kvm.ko"
for src in "$here"/guest-tests/*.c; do
	riscv64-linux-gnu-gcc -O2 -static -Wall -pthread -o "$root/usr/lib/rune-tests/$(basename "$src" .c)" "$src"
done
# Rust guest programs, against the Rust mirror of the ABI.
CARGO_TARGET_RISCV64GC_UNKNOWN_LINUX_GNU_LINKER=riscv64-linux-gnu-gcc \
	CARGO_TARGET_RISCV64GC_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C target-feature=+crt-static" \
	cargo build -q --manifest-path "$top/Cargo.toml" -p rune-kmod --example vs_hypercalls \
	--target riscv64gc-unknown-linux-gnu --target-dir "$cache/rust-target" >&2
cp "$cache/rust-target/riscv64gc-unknown-linux-gnu/debug/examples/vs_hypercalls" "$root/usr/lib/rune-tests/"
cp "$here/guest-tests/run-all.sh" "$root/usr/lib/rune-tests/run-all"
chmod +x "$root/usr/lib/rune-tests/run-all"
cp "$here/init" "$root/init"
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out/initramfs.cpio.gz"
cp "$kdir/arch/riscv/boot/Image" "$out/Image"
echo "$out"
