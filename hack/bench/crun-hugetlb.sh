# Sourced by the benchmarks that run crun. crun 1.8 refuses a hybrid host whose hugetlb
# controller sits on the unified tree (shared/facts/HOST.md): bind it as v1 for the run, and
# restore the host afterwards (call crun_hugetlb_restore from the EXIT trap).
hugetlb_mounted=
crun_hugetlb_setup() {
	if [[ -d /sys/fs/cgroup/unified ]] && ! mountpoint -q /sys/fs/cgroup/hugetlb 2>/dev/null; then
		mkdir -p /sys/fs/cgroup/hugetlb
		mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb
		hugetlb_mounted=1
	fi
}
crun_hugetlb_restore() {
	if [[ -n $hugetlb_mounted ]]; then
		umount /sys/fs/cgroup/hugetlb && rmdir /sys/fs/cgroup/hugetlb
	fi
}
