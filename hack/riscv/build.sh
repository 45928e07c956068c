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
# Rust, static: rune-shim on the guest's PATH (its build script links it at 1 GiB on riscv64),
# and guest programs, some against the Rust mirror of the ABI.
CARGO_TARGET_RISCV64GC_UNKNOWN_LINUX_GNU_LINKER=riscv64-linux-gnu-gcc \
	CARGO_TARGET_RISCV64GC_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C target-feature=+crt-static" \
	LIBSECCOMP_LINK_TYPE=static LIBSECCOMP_LIB_PATH="$cache/libseccomp/usr/lib/riscv64-linux-gnu" \
	cargo build -q --profile guest --manifest-path "$top/Cargo.toml" -p rune-shim -p rune-kmod --bins --example vs_hypercalls --example vu_rust \
	--target riscv64gc-unknown-linux-gnu --target-dir "$cache/rust-target" >&2
rust_out=$cache/rust-target/riscv64gc-unknown-linux-gnu/guest
# rune-run, linked against the guest's glibc (statically, glibc's syscall stubs lie out of a
# JAL's reach of __syscall_error in a binary this large): its own target directory, since
# other rustflags would rebuild everything above.
CARGO_TARGET_RISCV64GC_UNKNOWN_LINUX_GNU_LINKER=riscv64-linux-gnu-gcc \
	LIBSECCOMP_LINK_TYPE=static LIBSECCOMP_LIB_PATH="$cache/libseccomp/usr/lib/riscv64-linux-gnu" \
	cargo build -q --profile guest --manifest-path "$top/Cargo.toml" -p rune-runtime --bins \
	--target riscv64gc-unknown-linux-gnu --target-dir "$cache/rust-target-dyn" >&2
cp "$rust_out/examples/vs_hypercalls" "$rust_out/examples/vu_rust" "$root/usr/lib/rune-tests/"
cp "$rust_out/rune-shim" "$root/bin/rune-shim"
mkdir -p "$root/usr/lib/rune-tests/policies"
cp "$here"/guest-tests/policies/*.json "$root/usr/lib/rune-tests/policies/"
# A dynamically linked program and the loader and libc it needs (bookworm's cross libc).
mkdir -p "$root/lib/riscv64-linux-gnu"
cp /usr/riscv64-linux-gnu/lib/ld-linux-riscv64-lp64d.so.1 "$root/lib/"
for lib in libc.so.6 libm.so.6 libgcc_s.so.1; do
	cp /usr/riscv64-linux-gnu/lib/$lib "$root/lib/riscv64-linux-gnu/"
done
cp "$cache/rust-target-dyn/riscv64gc-unknown-linux-gnu/guest/rune-run" "$root/bin/rune-run"
riscv64-linux-gnu-gcc -O2 -Wall -o "$root/usr/lib/rune-tests/vu_hello_dyn" "$here/guest-tests/vu_hello.c"
cp "$here/guest-tests/run-all.sh" "$root/usr/lib/rune-tests/run-all"
cp "$here/guest-tests/vsmode-tests.sh" "$root/usr/lib/rune-tests/vsmode-tests.sh"
chmod +x "$root/usr/lib/rune-tests/run-all"
cp "$here/init" "$root/init"
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out/initramfs.cpio.gz"
cp "$kdir/arch/riscv/boot/Image" "$out/Image"
echo "$out"
