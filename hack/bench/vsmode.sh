#!/usr/bin/env bash
# Benchmarks of the VS-mode backend, in one riscv64 guest under QEMU (hack/riscv/guest), the
# peers in the same guest and the same rounds (files on the guest's tmpfs):
#  (a) open foo.txt (rewritten to bar.txt), read a byte, close: native, rune-shim vsmode,
#      rune-shim seccomp, a ptrace rewriter (guest-tests/ptrace_rewrite.c);
#  (b) getpid: native, emulated in VS-mode by the shim's vector;
#  (c) /dev/rune itself: an enter/exit and a hypercall round trip against getpid;
#  (d) fork + _exit + waitpid: native, rune-shim vsmode, rune-shim seccomp.
# Prints medians over the rounds and ratios to native. Absolute times under TCG emulation
# mean little; the ratios are the result.
# Usage: hack/bench/vsmode.sh [ROUNDS [N]]   (default 7 rounds of 500 calls)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
rounds=${1:-7}
n=${2:-500}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

bash "$top/hack/riscv/build.sh" >/dev/null
"$top/hack/riscv/guest" -- sh -c "for i in \$(seq $rounds); do
	sh /usr/lib/rune-tests/vsmode-tests.sh bench $n || exit 1
	/usr/lib/rune-tests/rune_vs bench || exit 1
done" >"$out"

awk -v rounds="$rounds" -v n="$n" '
function median(name,   i, j, t, c) {
	c = cnt[name]
	for (i = 1; i <= c; i++)
		for (j = i + 1; j <= c; j++)
			if (v[name, j] < v[name, i]) { t = v[name, i]; v[name, i] = v[name, j]; v[name, j] = t }
	return c % 2 ? v[name, (c + 1) / 2] : (v[name, c / 2] + v[name, c / 2 + 1]) / 2
}
function add(name, x) { v[name, ++cnt[name]] = x }
/^bench \(a\)/ {
	add("a native", $6); add("a vsmode", $9); add("a seccomp", $13); add("a ptrace", $17)
}
/^bench \(b\)/ { add("b native", $5); add("b vsmode", $10) }
/^bench \(d\)/ { add("d native", $5); add("d vsmode", $8); add("d seccomp", $12) }
/^bench: getpid/ { add("c getpid", $3); add("c enter", $6); add("c hypercall", $13) }
END {
	if (cnt["a native"] != rounds || cnt["c getpid"] != rounds) {
		print "bench: expected " rounds " rounds, got " cnt["a native"] + 0 > "/dev/stderr"
		exit 1
	}
	printf "(a) open rewritten + read + close, %d per run, %d rounds\n\n", n, rounds
	print "| | median µs/op | vs native |"
	print "|---|---:|---:|"
	split("native vsmode seccomp ptrace", a, " ")
	label["native"] = "native (opens bar.txt)"; label["vsmode"] = "rune-shim, vsmode backend"
	label["seccomp"] = "rune-shim, seccomp backend"; label["ptrace"] = "ptrace rewriter"
	for (i = 1; i <= 4; i++)
		printf "| %s | %.0f | %.2fx |\n", label[a[i]], median("a " a[i]) / 1000, median("a " a[i]) / median("a native")
	printf "\n(b) getpid, %d per run\n\n", n * 10
	print "| | median ns/call | vs native |"
	print "|---|---:|---:|"
	printf "| native | %.0f | 1.00x |\n", median("b native")
	printf "| emulated in VS-mode | %.0f | %.3fx |\n", median("b vsmode"), median("b vsmode") / median("b native")
	print "\n(c) /dev/rune\n"
	print "| | median ns | vs getpid |"
	print "|---|---:|---:|"
	printf "| getpid | %.0f | 1.00x |\n", median("c getpid")
	printf "| enter + exit | %.0f | %.1fx |\n", median("c enter"), median("c enter") / median("c getpid")
	printf "| hypercall round trip | %.0f | %.1fx |\n", median("c hypercall"), median("c hypercall") / median("c getpid")
	printf "\n(d) fork + exit + wait, %d per run\n\n", n / 10
	print "| | median µs/op | vs native |"
	print "|---|---:|---:|"
	split("native vsmode seccomp", d, " ")
	label["native"] = "native"
	for (i = 1; i <= 3; i++)
		printf "| %s | %.0f | %.2fx |\n", label[d[i]], median("d " d[i]) / 1000, median("d " d[i]) / median("d native")
}' "$out"
