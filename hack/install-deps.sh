#!/usr/bin/env bash
# Installs what building and testing rune-run needs on a fresh Debian 12 machine.
# Idempotent: packages already present are not fetched again.
set -euo pipefail

packages=(
	# build: libcontainer's libseccomp feature links the C library
	libseccomp-dev pkg-config
	# tests: the busybox rootfs and the peer runtime the parity tests compare against
	busybox-static runc jq
	# tests: the attack programs (integration/programs/*.c), static so containers can run them
	gcc libc6-dev
	# benchmarks: the other peers
	crun hyperfine proot
	# the real clients the tests drive rune-run through
	docker.io containerd podman conmon catatonit uidmap
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]})); then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# A CRI client for the Kubernetes RuntimeClass tests (crictl is not packaged in Debian 12):
# the generated CRI v1 stubs from PyPI, in a venv of their own.
cri_venv=${RUNE_CRI_VENV:-$HOME/.cache/rune/cri-venv}
if [[ ! -x $cri_venv/bin/python ]] || ! "$cri_venv/bin/python" -c 'import cri_api.v1.api_pb2_grpc' 2>/dev/null; then
	python3 -m venv "$cri_venv"
	"$cri_venv/bin/pip" install -q container-runtime-interface-api==2.0.1
fi
