#!/usr/bin/env bash
# Installs what building and testing rune-run needs on a fresh Debian 12 machine.
#   install-deps.sh build   what `make build` and `make test-unit` need (a contributor's set)
#   install-deps.sh e2e     what the end-to-end tests add: peers, clients, daemons
#   install-deps.sh         both
# Idempotent, and needs root only for what is missing: a machine that has everything (or a
# contributor whose administrator installed the build set) runs it as any user.
set -euo pipefail

set_name=${1:-all}

build=(
	# libcontainer's libseccomp feature links the C library; rune-kmod's uapi test compiles
	# the C header with gcc
	libseccomp-dev pkg-config gcc libc6-dev
)
e2e=(
	# the busybox rootfs and the peer runtime the parity tests compare against
	busybox-static runc jq
	# benchmarks: the other peers
	crun hyperfine proot
	# hack/bench/workloads.sh builds its Debian image
	mmdebstrap
	# the real clients the tests drive rune-run through
	docker.io containerd podman conmon catatonit uidmap
)

case $set_name in
build) packages=("${build[@]}") ;;
e2e) packages=("${e2e[@]}") ;;
all) packages=("${build[@]}" "${e2e[@]}") ;;
*)
	echo "usage: install-deps.sh [build|e2e|all]" >&2
	exit 2
	;;
esac

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]})); then
	if ((EUID != 0)); then
		echo "install-deps.sh: missing ${missing[*]}; install them as root (apt-get install ${missing[*]})" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

[[ $set_name == build ]] && exit 0

# A CRI client for the Kubernetes RuntimeClass tests (crictl is not packaged in Debian 12):
# the generated CRI v1 stubs from PyPI, in a venv of their own.
cri_venv=${RUNE_CRI_VENV:-$HOME/.cache/rune/cri-venv}
if [[ ! -x $cri_venv/bin/python ]] || ! "$cri_venv/bin/python" -c 'import cri_api.v1.api_pb2_grpc' 2>/dev/null; then
	python3 -m venv "$cri_venv"
	"$cri_venv/bin/pip" install -q container-runtime-interface-api==2.0.1
fi
