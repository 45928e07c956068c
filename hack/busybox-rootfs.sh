#!/usr/bin/env bash
# Builds a minimal busybox root filesystem in DIR from Debian's busybox-static.
set -euo pipefail

dir=${1:?usage: busybox-rootfs.sh DIR}
busybox=/bin/busybox
[[ -x $busybox ]] || { echo "busybox-rootfs.sh: $busybox missing (apt-get install busybox-static)" >&2; exit 1; }
file -b "$busybox" 2>/dev/null | grep -q dynamic && { echo "busybox-rootfs.sh: $busybox is not static" >&2; exit 1; }

mkdir -p "$dir"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,home/user}
cp "$busybox" "$dir/bin/busybox"
chroot "$dir" /bin/busybox --install -s
chmod 1777 "$dir/tmp"
# As on Debian, Ubuntu and Alpine: /var/run is a symlink to /run.
mkdir -p "$dir/run" "$dir/var"
ln -sfn ../run "$dir/var/run"
cat > "$dir/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
cat > "$dir/etc/group" <<'G'
root:x:0:
user:x:1000:
nogroup:x:65534:
G
chown 1000:1000 "$dir/home/user"
