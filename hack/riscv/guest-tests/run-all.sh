#!/bin/sh
# The guest test suite (runs inside the guest, from /mnt/host or the initramfs): one line per
# test, then "N passed, M failed".
passed=0
failed=0
t() {
	name=$1
	shift
	if out=$("$@" 2>&1); then
		passed=$((passed + 1))
		echo "ok   $name"
		[ -n "$out" ] && echo "$out" | sed 's/^/     /'
	else
		failed=$((failed + 1))
		echo "FAIL $name"
		echo "$out" | sed 's/^/     /'
	fi
}
bin=/usr/lib/rune-tests
mod=/lib/modules/rune.ko
t "query reports the hart" $bin/rune_query
t "a Rust program drives /dev/rune through the Rust mirror of the ABI" $bin/vs_hypercalls
t "heap and stack through the identity map, hypercalls both ways" $bin/rune_vs memory
t "an unmapped page faults, a page mapped after entering is reachable" $bin/rune_vs unmap
t "mremap and MADV_DONTNEED are followed" $bin/rune_vs remap
t "a page migrated to another NUMA node is followed" $bin/rune_vs migrate
t "copy-on-write after fork is respected both ways" $bin/rune_vs cow
t "read-only, mprotect and non-executable pages fault" $bin/rune_vs protection
t "a shared file mapping written from VS-mode reaches the file" $bin/rune_vs shared-file
t "thousands of entries and hypercalls" $bin/rune_vs cycles
t "4 threads in VS-mode at once on 2 harts, VS-stage fences meanwhile" $bin/rune_vs threads
t "a signal and timer interrupts during a long guest loop" $bin/rune_vs signal
t "a nonzero kick word stops the guest at entry with a VS software interrupt" $bin/rune_vs kick
t "kill -9, or an exit of another thread, ends a process in VS-mode" $bin/rune_vs kill
t "addresses outside the process give a fault exit" $bin/rune_vs bad-address
t "rdtime in the guest without exits" $bin/rune_vs rdtime
t "FP and vector state in and out, the host's FP kept" $bin/rune_vs fp-vector
t "misuse is refused: other thread, child process, bad mode, unload" $bin/rune_vs misuse
vst() {
	t "$1" sh $bin/vsmode-tests.sh "$2"
}
vst "vsmode: a static C program in VU-mode, output and status as native" static-c
vst "vsmode: a dynamic program with its interpreter, at new addresses each run" dynamic-aslr
vst "vsmode: a static Rust program in VU-mode" rust
vst "vsmode: signal handlers, faults, timers, SA_RESTART, alternate stack, masks" signals
vst "vsmode: the vector unit in VU-mode, its state kept across exits" vector
vst "vsmode: time through the vDSO without leaving VU-mode" vdso
vst "vsmode and seccomp: the OCI profile's denial stands over an emulation" oci
vst "vsmode and seccomp: every action, the same events from the same policy" actions
vst "vsmode: path rules resist .., symlinks, relative paths and dirfds" paths
vst "vsmode: attacks on the shim end with the program killed" attacks
vst "vsmode: crafted ELF headers are refused by the field that is wrong" elf-hostile
vst "vsmode: an iovec a MAP_SHARED peer redirects during readv/writev never reaches the shim" race
t "vsmode: the VS-stage mode read back from the hart (sv57)" sh $bin/vsmode-tests.sh mmu sv57
vst "vsmode: the shim's descriptors are out of the program's way (exec 3>file works)" fds
vst "vsmode: illegal instructions reach the program's SIGILL handler" sigill
vst "vsmode: opens, links and renames act on the object the program meant" objects
vst "vsmode: fork: 200 forks, copy-on-write both ways, signals, vfork (as natively)" fork
vst "vsmode: a fork bomb stops at the pids cgroup's limit, as natively" fork-bomb
vst "vsmode: exec and threads give ENOSYS with an event" unsupported
vst "vsmode: --backend auto picks vsmode on H" auto
vst "rune-run on H: containers on seccomp, an explicit vsmode refused naming why" rune-run
vst "vsmode: open rewrite and getpid cost against seccomp, ptrace, native" bench
t "module unloads when unused and loads again" sh -c "rmmod rune && ! test -e /dev/rune && insmod $mod && test -e /dev/rune"
t "module refuses to unload while /dev/rune is open" sh -c 'exec 3</dev/rune; ! rmmod rune 2>/dev/null'
t "VMID rollover every 3 address spaces (max_vmid_bits=2)" sh -c "rmmod rune && insmod $mod max_vmid_bits=2 && $bin/rune_vs vmids; s=\$?; rmmod rune; insmod $mod; exit \$s"
t "enter/exit and hypercall cost against getpid" $bin/rune_vs bench
# kvm.ko stays loaded from here on.
t "kvm.ko loaded at the same time" sh -c "insmod /lib/modules/kvm.ko && dmesg | grep -q 'rune: kvm is loaded' && $bin/rune_vs memory && $bin/rune_vs threads && $bin/rune_vs cow"
t "rune loaded after kvm.ko notices it" sh -c "rmmod rune && insmod $mod && test \$(dmesg | grep -c 'rune: kvm is loaded') = 2 && $bin/rune_vs memory"
echo "guest: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
