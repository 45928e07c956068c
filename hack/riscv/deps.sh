#!/usr/bin/env bash
# What the riscv64 test bed needs on a fresh Debian 12 machine (facts: ../../../shared/facts/RISCV.md):
# the cross toolchain and kernel sources from bookworm, QEMU 10 from bookworm-backports through a
# private apt sources directory (the system's apt sources are left alone: installing QEMU from
# bookworm would remove the machine's qemu-utils from backports), and a static riscv64 busybox
# from Debian 13 for the guest's shell. Idempotent.
set -euo pipefail

cache=${RUNE_RISCV_CACHE:-$HOME/.cache/rune/riscv}
mkdir -p "$cache"
export DEBIAN_FRONTEND=noninteractive

need=()
for p in gcc-riscv64-linux-gnu libc6-dev-riscv64-cross linux-source-6.12 linux-source-6.1 bc flex bison \
	libssl-dev cpio libelf-dev xz-utils dwarves kmod; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if ((${#need[@]})); then
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# A private apt configuration: $1 names it, $2 lists the suites, $3 the architecture, the rest
# are apt-get arguments.
private_apt() {
	local name=$1 suite=$2 arch=$3
	shift 3
	local dir=$cache/apt-$name
	mkdir -p "$dir/lists/partial"
	chmod -R a+rx "$cache"
	local uri
	# The system's Debian mirror (deb822 URIs: lines; comments may name others).
	uri=$( (cat /etc/apt/sources.list.d/*.sources 2>/dev/null || true) | awk '/^URIs:/ {print $2}' |
		grep -i debian | grep -v security | head -1 || true)
	uri=${uri:-http://deb.debian.org/debian}
	cat >"$dir/$name.sources" <<-SRC
		Types: deb
		URIs: $uri
		Suites: $suite
		Components: main
		Architectures: $arch
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	SRC
	apt-get -o Dir::Etc::sourcelist=/dev/null -o Dir::Etc::sourceparts="$dir" \
		-o Dir::State::Lists="$dir/lists" "$@"
}

if ! command -v qemu-system-riscv64 >/dev/null || ! qemu-system-riscv64 --version | grep -q 'version 10'; then
	# Backports' QEMU needs bookworm's libraries beside it.
	private_apt backports "bookworm bookworm-backports" amd64 update -qq
	private_apt backports "bookworm bookworm-backports" amd64 install -y -qq --no-install-recommends \
		qemu-system-misc/bookworm-backports qemu-system-riscv/bookworm-backports \
		qemu-system-common/bookworm-backports qemu-system-data/bookworm-backports \
		qemu-utils/bookworm-backports opensbi/bookworm-backports libbrlapi0.8/bookworm-backports
fi

# libseccomp for riscv64 (static), so rune-shim cross-builds; trixie's links against bookworm's
# cross glibc.
if [[ ! -f $cache/libseccomp/usr/lib/riscv64-linux-gnu/libseccomp.a ]]; then
	private_apt trixie trixie riscv64 -o APT::Architecture=riscv64 -o APT::Architectures::=riscv64 update -qq
	(cd "$cache" && private_apt trixie trixie riscv64 -o APT::Architecture=riscv64 \
		-o APT::Architectures::=riscv64 download libseccomp-dev:riscv64)
	rm -rf "$cache/libseccomp"
	dpkg -x "$cache"/libseccomp-dev_*_riscv64.deb "$cache/libseccomp"
	rm -f "$cache"/libseccomp-dev_*_riscv64.deb
fi

if [[ ! -x $cache/busybox/usr/bin/busybox ]]; then
	private_apt trixie trixie riscv64 -o APT::Architecture=riscv64 -o APT::Architectures::=riscv64 update -qq
	(cd "$cache" && private_apt trixie trixie riscv64 -o APT::Architecture=riscv64 \
		-o APT::Architectures::=riscv64 download busybox-static:riscv64)
	rm -rf "$cache/busybox"
	dpkg -x "$cache"/busybox-static_*_riscv64.deb "$cache/busybox"
	rm -f "$cache"/busybox-static_*_riscv64.deb
fi

# Rust guest programs: the riscv64 glibc target, linked statically (the musl one is not offered).
if ! rustup target list --installed | grep -qx riscv64gc-unknown-linux-gnu; then
	rustup target add riscv64gc-unknown-linux-gnu
fi
