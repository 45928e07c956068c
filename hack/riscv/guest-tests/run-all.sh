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
	else
		failed=$((failed + 1))
		echo "FAIL $name"
		echo "$out" | sed 's/^/     /'
	fi
}
bin=/usr/lib/rune-tests
t "query reports the hart" $bin/rune_query
t "module unloads when unused and loads again" sh -c 'rmmod rune && ! test -e /dev/rune && insmod /lib/modules/rune.ko && test -e /dev/rune'
t "module refuses to unload while /dev/rune is open" sh -c 'exec 3</dev/rune; ! rmmod rune 2>/dev/null'
echo "guest: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
