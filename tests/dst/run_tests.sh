#!/usr/bin/env bash
# Deterministic scenarios on the simulator (docs/dst.md): the real
# common/swim and common/elect cores, N nodes in one process, virtual time.
# Each test prints one PASS or FAIL line; the last line is "N passed, N failed, 0 skipped"
# (the same line as every suite; nothing here can be skipped).
#
#   BUILD=dir         where build/dst is built (default build)
#   SANITIZE=list     passed to make (e.g. address,undefined), with its own BUILD
#   NETSIM_SEED=S     seed of every scenario (default 1)
#   ELECT_SEEDS=K     seeds of the election campaign (default 300)
#   CLOUD_SEEDS=K     seeds of the cloud campaign (default 40, about 25 s)
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

# Every binary at once, JOBS at a time (each broken core is one compiler run
# over the cores it breaks; one after the other they took two minutes).
BREAKS="lease vote policy-max policy-budget actuate-optag actuate-leak actuate-dereg actuate-lease"
# shellcheck disable=SC2046 # one word per binary
make -s -k -j"${JOBS:-2}" --no-print-directory BUILD="$BUILD" ${SANITIZE:+SANITIZE=$SANITIZE} \
	$(for b in $BREAKS; do echo "$BUILD/dst-break-$b"; done) >/dev/null 2>&1 || true
if ! make -s --no-print-directory BUILD="$BUILD" ${SANITIZE:+SANITIZE=$SANITIZE} "$BIN" >"$BUILD.netsim-build.log" 2>&1; then
	tail -n 20 "$BUILD.netsim-build.log"
	echo "FAIL netsim build: make $BIN"
	echo "0 passed, 1 failed, 0 skipped"
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

# The election core (docs/dst.md, "Election"): scripted scenarios, a
# campaign of ELECT_SEEDS random fault schedules, determinism, and the
# checker's own test: cores broken on purpose must be caught.
ELECT_SEEDS=${ELECT_SEEDS:-300}
out=$(timeout -k 5 300 "$BIN" elect test all -s "$SEED" 2>/dev/null)
rc=$?
n=$(grep -c '^PASS' <<<"$out")
passed=$((passed + n))
echo "$out"
if [ $rc -ne 0 ] || [ "$n" -eq 0 ]; then
	fail
	grep -q '^FAIL' <<<"$out" || echo "FAIL elect scenarios: exit $rc"
fi
out=$(timeout -k 5 300 "$BIN" elect campaign --seeds "$ELECT_SEEDS" 2>/dev/null)
rc=$?
if [ $rc -eq 0 ] && grep -q '^invariant_breaks 0 ' <<<"$out" && grep -q '^liveness_failures 0' <<<"$out"; then
	pass
	echo "PASS elect campaign: $ELECT_SEEDS seeds, 0 invariant breaks, 0 liveness failures"
else
	fail
	echo "FAIL elect campaign ($ELECT_SEEDS seeds): exit $rc"
	grep -E '^(BREAK|NO LEADER|  replay|invariant|liveness)' <<<"$out" | head -n 20
fi
a=$("$BIN" elect run -s 7 2>/dev/null)
b=$("$BIN" elect run -s 7 2>/dev/null)
if [ -n "$a" ] && [ "$a" == "$b" ]; then
	pass
	echo "PASS elect run: seed 7 twice, byte-identical ($(wc -l <<<"$a") lines)"
else
	fail
	echo "FAIL elect run: seed 7 differs between two runs"
fi
for brk in lease vote; do
	bin=$BUILD/dst-break-$brk
	if ! make -s --no-print-directory BUILD="$BUILD" ${SANITIZE:+SANITIZE=$SANITIZE} "$bin" >"$BUILD.break.log" 2>&1; then
		fail
		tail -n 10 "$BUILD.break.log"
		echo "FAIL elect checker self-test: make $bin"
		continue
	fi
	out=$(timeout -k 5 300 "$bin" elect campaign --seeds 200 2>/dev/null)
	seeds=$(grep -oE '^BREAK seed [0-9]+' <<<"$out" | awk '{print $3}' | tr '\n' ' ')
	if [ -n "$seeds" ]; then
		pass
		echo "PASS elect checker self-test: ELECT_BREAK_${brk^^} caught in seeds ${seeds% }"
		grep -m1 '^BREAK' <<<"$out"
	else
		fail
		echo "FAIL elect checker self-test: the core built with ELECT_BREAK_${brk^^} passed 200 seeds"
	fi
done
rm -f "$BUILD.break.log"

# The cloud (docs/dst.md, "The cloud"): the election, policy and actuation
# cores against a simulated cloud; a short campaign, determinism, and each
# invariant seen to fail on a core broken on purpose (the first seed that
# catches it stops the run).
CLOUD_SEEDS=${CLOUD_SEEDS:-40}
out=$(timeout -k 5 300 "$BIN" cloud campaign --seeds "$CLOUD_SEEDS" --wall 2>/dev/null)
rc=$?
if [ $rc -eq 0 ] && grep -q '^invariant_breaks 0 ' <<<"$out" && grep -q '^liveness_failures 0$' <<<"$out"; then
	pass
	echo "PASS cloud campaign: $CLOUD_SEEDS seeds, 0 invariant breaks, 0 liveness failures ($(grep -o 'wall_s.*' <<<"$out"))"
else
	fail
	echo "FAIL cloud campaign ($CLOUD_SEEDS seeds): exit $rc"
	grep -E '^(BREAK|  replay|invariant|liveness|ERROR)' <<<"$out" | head -n 20
fi
a=$("$BIN" cloud run -s 7 2>/dev/null)
b=$("$BIN" cloud run -s 7 2>/dev/null)
if [ -n "$a" ] && [ "$a" == "$b" ]; then
	pass
	echo "PASS cloud run: seed 7 twice, byte-identical ($(wc -l <<<"$a") lines)"
else
	fail
	echo "FAIL cloud run: seed 7 differs between two runs"
fi
# break switch -> the invariant that must catch it
for pair in policy-max:max_nodes policy-budget:max_hourly_cost actuate-optag:double_clone \
	actuate-leak:leak actuate-dereg:deregistration actuate-lease:minority_mutates; do
	brk=${pair%%:*}
	inv=${pair#*:}
	bin=$BUILD/dst-break-$brk
	if ! make -s --no-print-directory BUILD="$BUILD" ${SANITIZE:+SANITIZE=$SANITIZE} "$bin" >"$BUILD.break.log" 2>&1; then
		fail
		tail -n 10 "$BUILD.break.log"
		echo "FAIL cloud checker self-test: make $bin"
		continue
	fi
	out=$(timeout -k 5 300 "$bin" cloud campaign --seeds 60 --first 2>/dev/null)
	line=$(grep -m1 "^BREAK seed [0-9]*: t=[0-9.]* $inv:" <<<"$out")
	if [ -n "$line" ]; then
		pass
		echo "PASS cloud checker self-test: dst-break-$brk caught by $inv: ${line#BREAK }"
	else
		fail
		echo "FAIL cloud checker self-test: dst-break-$brk not caught by $inv in 60 seeds"
		grep -m3 '^BREAK' <<<"$out"
	fi
done
rm -f "$BUILD.break.log"

echo "$passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]
