#!/usr/bin/env bash
# Deterministic membership scenarios on the simulator (docs/dst.md):
# the real common/swim core, N nodes in one process, virtual time. Each test
# prints one PASS or FAIL line; the last line is "N passed, N failed".
#
#   BUILD=dir         where build/dst is built (default build)
#   SANITIZE=list     passed to make (e.g. address,undefined), with its own BUILD
#   NETSIM_SEED=S     seed of every scenario (default 1)
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SEED=${NETSIM_SEED:-1}
BIN=$BUILD/dst
TESTS="join crash loss partition partition-long pause pause-long restart leave determinism liars"
passed=0
failed=0

pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); }

if ! make -s --no-print-directory BUILD="$BUILD" ${SANITIZE:+SANITIZE=$SANITIZE} "$BIN" >"$BUILD.netsim-build.log" 2>&1; then
	tail -n 20 "$BUILD.netsim-build.log"
	echo "FAIL netsim build: make $BIN"
	echo "0 passed, 1 failed"
	exit 1
fi
rm -f "$BUILD.netsim-build.log"

for t in $TESTS; do
	out=$(timeout -k 5 120 "$BIN" -s "$SEED" test "$t" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && grep -q '^PASS' <<<"$out"; then
		pass
		echo "$out"
	else
		fail
		if grep -q '^FAIL' <<<"$out"; then
			echo "$out"
		else
			echo "FAIL netsim $t (seed $SEED): exit $rc"
			tail -n 10 <<<"$out"
		fi
	fi
done

# The printed figures, end to end: the same seed twice, byte for byte.
a=$(timeout -k 5 120 "$BIN" -s "$SEED" -n 100 -t 3 --fp-seconds 60 --bytes-seconds 10 bench 2>&1)
b=$(timeout -k 5 120 "$BIN" -s "$SEED" -n 100 -t 3 --fp-seconds 60 --bytes-seconds 10 bench 2>&1)
if [ -n "$a" ] && [ "$a" == "$b" ] && grep -q crash_detect_ms <<<"$a"; then
	pass
	echo "PASS netsim bench figures identical for seed $SEED ($(wc -l <<<"$a") lines)"
else
	fail
	echo "FAIL netsim bench figures differ between two runs with seed $SEED"
	diff <(echo "$a") <(echo "$b") | head -n 10
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
