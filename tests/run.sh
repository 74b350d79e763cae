#!/usr/bin/env bash
# Runs every test layer and ends with one line: "N passed, N failed, N skipped",
# with every skip named above it (an integration test that exits 77, a
# sub-suite's "SKIP name: reason" lines, a layer that cannot run here).
#
#   1. build: the agent with warnings as errors; common/ must not include
#      libuv or libcurl (check-boundaries); every C file formatted (check-format)
#   2. unit: tests/unit under ASan+UBSan (each test forked with a timeout)
#   3. fuzz: each libFuzzer harness for FUZZ_SECONDS (default 3) from its corpus
#   4. integration: tests/integration/*.sh against the ASan+UBSan agent, then
#      the cloud tests among them ($REAL_TESTS) once more on the simulator's
#      realism profile (--profile real, every delay x $REAL_TIME_SCALE);
#      IT_JOBS (default 3) at a time, those in IT_ALONE by themselves
#   5. dst: deterministic simulation of the cores (tests/dst/run_tests.sh)
#   6. cloudsim: the DigitalOcean simulator's own suite (tests/cloudsim/run_tests.py),
#      run beside the dst
#   7. secrets: no key or token created by the suite appears in any log, and
#      /run/mitosis, /etc/mitosis and /var/lib/mitosis are as the suite found them
#
# Each layer's own pass/fail/skip counts are added up. Logs are kept in
# $MITOSIS_LOGDIR (printed at the end) only when something failed.
# Options: LAYERS="unit integration" runs a subset; FUZZ_SECONDS=N;
# CLOUDSIM_TESTS="test_api test_yaml" runs only those modules of the cloudsim suite;
# REAL_TESTS="cloud_clone" picks the tests of the realism pass ("" skips it);
# IT_JOBS=1 runs the integration tests one at a time.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
LAYERS=${LAYERS:-"build unit fuzz integration dst cloudsim secrets"}
FUZZ_SECONDS=${FUZZ_SECONDS:-3}
JOBS=${JOBS:-2}
# The tests that drive the DigitalOcean simulator: run a second time on its
# realism profile (tests/integration/lib.sh, sim_start). The real_* tests set
# their own realism knobs and run once.
REAL_TESTS=${REAL_TESTS-"bake cloud_cli cloud_clone cloud_contract cloud_faults clone_e2e discovery rotation_agent rotation_dns_lb rotation_faults"}
REAL_TIME_SCALE=${REAL_TIME_SCALE:-0.05}
export MITOSIS_LOGDIR=${MITOSIS_LOGDIR:-$(mktemp -d /tmp/mitosis-test-logs.XXXXXX)}
mkdir -p "$MITOSIS_LOGDIR"
export MITOSIS_SECRETS=$MITOSIS_LOGDIR/secrets.list
: >"$MITOSIS_SECRETS"
ASAN_BUILD=build/asan
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
PASSED=0
FAILED=0
SKIPPED=0
FAILURES=()
SKIPS=()
START=$(date +%s)
# What the system paths an installed agent uses look like now: no test may
# create, change or remove anything under them (each agent gets its own
# socket and state under the test's temp dir).
SYSTEM_PATHS="/run/mitosis /etc/mitosis /var/lib/mitosis"
system_paths() {
	local d
	for d in $SYSTEM_PATHS; do
		if [ -e "$d" ]; then
			find "$d" -printf '%p %y %T@ %C@\n' 2>/dev/null
		else
			echo "$d absent"
		fi
	done
}
SYSTEM_BEFORE=$(system_paths)
SYSTEM_BLAMED=

# in_words WORD "LIST": true when WORD is one of LIST's words (spaces, tabs or newlines between).
# shellcheck disable=SC2086 # LIST split into words on purpose
in_words() { [[ " $(echo $2) " == *" $1 "* ]]; }
has_layer() { in_words "$1" "$LAYERS"; }
record() { # record NAME OK(0/1) SECONDS
	if [ "$2" -eq 0 ]; then
		PASSED=$((PASSED + 1))
		printf 'PASS %-44s %4ss\n' "$1" "$3"
	else
		FAILED=$((FAILED + 1))
		FAILURES+=("$1")
		printf 'FAIL %-44s %4ss\n' "$1" "$3"
	fi
}
skip() { # skip NAME REASON
	SKIPPED=$((SKIPPED + 1))
	SKIPS+=("$1: $2")
	printf 'SKIP %-44s %s\n' "$1" "$2"
}
# Adds the "N passed, N failed, N skipped" of a sub-suite's output file; its
# "SKIP name: reason" lines name the skips (one line per skipped test).
add_counts() { # add_counts NAME FILE RC
	local line p f k named
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$2" | tail -n1)
	if [ -z "$line" ]; then
		FAILED=$((FAILED + 1))
		FAILURES+=("$1 (no result line, exit $3)")
		echo "FAIL $1: no 'N passed, N failed, N skipped' line (exit $3)"
		return
	fi
	p=$(echo "$line" | cut -d' ' -f1)
	f=$(echo "$line" | cut -d' ' -f3)
	k=$(echo "$line" | cut -d' ' -f5)
	PASSED=$((PASSED + p))
	FAILED=$((FAILED + f))
	SKIPPED=$((SKIPPED + k))
	named=0
	while IFS= read -r l; do
		SKIPS+=("$1: ${l#SKIP }")
		named=$((named + 1))
	done < <(grep -E '^SKIP ' "$2")
	if [ "$named" -ne "$k" ]; then
		FAILED=$((FAILED + 1))
		FAILURES+=("$1 ($k skipped, $named named)")
		echo "FAIL $1: $k skipped but $named 'SKIP name: reason' lines"
	fi
	if [ "$f" -ne 0 ] || [ "$3" -ne 0 ]; then
		FAILURES+=("$1")
		if [ "$f" -eq 0 ]; then
			FAILED=$((FAILED + 1))
		fi
	fi
	echo "---- $1: $line"
}

section() { printf '\n==== %s\n' "$1"; }

if has_layer build; then
	section "build (warnings are errors)"
	t0=$(date +%s)
	make -s -j"$JOBS" WERROR=1 all tools >"$MITOSIS_LOGDIR/build.log" 2>&1
	rc=$?
	[ $rc -eq 0 ] || tail -n 30 "$MITOSIS_LOGDIR/build.log"
	record "build: make WERROR=1" $rc $(($(date +%s) - t0))
	t0=$(date +%s)
	tests/tools/check-boundaries.sh >"$MITOSIS_LOGDIR/boundaries.log" 2>&1
	rc=$?
	[ $rc -eq 0 ] || cat "$MITOSIS_LOGDIR/boundaries.log"
	record "build: common/ includes no libuv or libcurl" $rc $(($(date +%s) - t0))
	t0=$(date +%s)
	tests/tools/check-format.sh >"$MITOSIS_LOGDIR/format.log" 2>&1
	rc=$?
	[ $rc -eq 0 ] || head -n 40 "$MITOSIS_LOGDIR/format.log"
	record "build: every C file as .clang-format writes it" $rc $(($(date +%s) - t0))
fi

if has_layer unit || has_layer integration; then
	section "build with ASan+UBSan"
	make -s -j"$JOBS" WERROR=1 BUILD=$ASAN_BUILD SANITIZE=address,undefined OPT="-O1 -g" \
		$ASAN_BUILD/mitosis $ASAN_BUILD/unit-tests tools >"$MITOSIS_LOGDIR/asan-build.log" 2>&1 ||
		{ tail -n 30 "$MITOSIS_LOGDIR/asan-build.log"; record "build: ASan+UBSan" 1 0; }
fi

if has_layer unit; then
	section "unit tests (ASan+UBSan)"
	$ASAN_BUILD/unit-tests >"$MITOSIS_LOGDIR/unit.log" 2>&1
	rc=$?
	grep -E '^(FAIL|    )' "$MITOSIS_LOGDIR/unit.log" | head -n 40
	add_counts "unit" "$MITOSIS_LOGDIR/unit.log" $rc
fi

if has_layer fuzz; then
	section "fuzz (${FUZZ_SECONDS}s each, ASan+UBSan)"
	if make -s -j"$JOBS" fuzz >"$MITOSIS_LOGDIR/fuzz-build.log" 2>&1; then
		for bin in build/fuzz/fuzz_*; do
			[ -x "$bin" ] || continue
			name=${bin##*/fuzz_}
			work=$(mktemp -d /tmp/mitosis-fuzz.XXXXXX)
			[ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$work/"
			t0=$(date +%s)
			"$bin" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
				-artifact_prefix="$MITOSIS_LOGDIR/fuzz-$name-" "$work" \
				>"$MITOSIS_LOGDIR/fuzz-$name.log" 2>&1
			rc=$?
			execs=$(grep -oE 'Done [0-9]+ runs' "$MITOSIS_LOGDIR/fuzz-$name.log" | grep -oE '[0-9]+')
			record "fuzz: $name (${execs:-?} runs)" $rc $(($(date +%s) - t0))
			[ $rc -eq 0 ] || tail -n 20 "$MITOSIS_LOGDIR/fuzz-$name.log"
			rm -rf "$work"
		done
	else
		tail -n 20 "$MITOSIS_LOGDIR/fuzz-build.log"
		record "fuzz: build (clang, libFuzzer)" 1 0
	fi
fi

# The integration tests run IT_JOBS at a time (slots 0..IT_JOBS-1, given to
# each test as MITOSIS_IT_SLOT: its simulator's droplets take the slot's
# address block; every test's own 127.0.N.0/24 and netns names are its
# own). A test named in IT_ALONE runs with no other beside it: it floods,
# builds or measures, and would disturb its neighbour or be disturbed. Two
# passes of one test never overlap (they share its addresses).
IT_JOBS=${IT_JOBS:-3}
IT_ALONE=${IT_ALONE:-"attacks netns_loss package"}
declare -A IT_PID_NAME=() IT_PID_LABEL=() IT_PID_LOG=() IT_PID_T0=() IT_PID_SLOT=()

# it_finish PID RC: records the test that PID ran (exit 77 = a named skip).
it_finish() {
	local pid=$1 rc=$2 label=${IT_PID_LABEL[$1]} log=${IT_PID_LOG[$1]} why
	unset "IT_PID_NAME[$pid]"
	if [ "$rc" -eq 77 ]; then
		why=$(grep -m1 '^SKIP' "$log")
		skip "$label" "${why#SKIP: }"
		return
	fi
	# The first test after which a system path differs wrote it (or a test beside it).
	if [ -z "$SYSTEM_BLAMED" ] && [ "$(system_paths)" != "$SYSTEM_BEFORE" ]; then
		SYSTEM_BLAMED=$label
		echo "FAIL: $label (or a test running beside it) changed a system path:" >>"$log"
		diff <(echo "$SYSTEM_BEFORE") <(system_paths) | head -n 10 >>"$log"
		rc=1
	fi
	record "$label" "$rc" $(($(date +%s) - IT_PID_T0[$pid]))
	[ "$rc" -eq 0 ] || tail -n 15 "$log"
}

# it_wait_one: waits for any running test and records it.
it_wait_one() {
	local pid rc
	wait -n -p pid "${!IT_PID_NAME[@]}"
	rc=$?
	it_finish "$pid" "$rc"
}

it_running() { [ "${#IT_PID_NAME[@]}" -gt 0 ]; }
# it_running_any "NAME..." : true when a test of that list runs now.
it_running_any() {
	local n
	for n in "${IT_PID_NAME[@]}"; do in_words "$n" "$1" && return 0; done
	return 1
}
# it_slot_busy SLOT: true when a running test holds SLOT.
it_slot_busy() {
	local pid
	for pid in "${!IT_PID_NAME[@]}"; do [ "${IT_PID_SLOT[$pid]}" = "$1" ] && return 0; done
	return 1
}

# it_run NAME LABEL LOGNAME [VAR=VALUE...]: starts one integration test against
# the ASan+UBSan agent in a free slot, once the rules above allow it.
it_run() {
	local name=$1 label=$2 log=$MITOSIS_LOGDIR/$3.log limit slot pid alone=0
	shift 3
	in_words "$name" "$IT_ALONE" && alone=1
	while it_running && { [ $alone -eq 1 ] || [ "${#IT_PID_NAME[@]}" -ge "$IT_JOBS" ] ||
		it_running_any "$name $IT_ALONE"; }; do
		it_wait_one
	done
	for ((slot = 0; slot < IT_JOBS; slot++)); do it_slot_busy $slot || break; done
	# A test may ask for more than 240 s on a "# timeout: N" line of its header.
	limit=$(sed -n '2,12s/^# timeout: \([0-9]*\).*/\1/p' "tests/integration/$name.sh" | head -n1)
	env MITOSIS=$ROOT/$ASAN_BUILD/mitosis BUILD_DIR=$ROOT/$ASAN_BUILD MITOSIS_IT_SLOT=$slot "$@" \
		timeout -k 5 "${limit:-240}" bash "tests/integration/$name.sh" >"$log" 2>&1 &
	pid=$!
	IT_PID_NAME[$pid]=$name
	IT_PID_LABEL[$pid]=$label
	IT_PID_LOG[$pid]=$log
	IT_PID_T0[$pid]=$(date +%s)
	IT_PID_SLOT[$pid]=$slot
}

# The order packs the slots: the tests that run alone first (nothing to
# drain), then the long ones (about 40 s and more; a long one started last
# would run by itself at the end), the realism pass, then the rest.
IT_LONG=${IT_LONG:-"walkthrough policy_faults policy_partition policy_scale_in election_faults policy_limits
	policy_leader_dies bake election_split policy_dead_node cloud_contract election_voters policy_scale_out
	real_consistency real_leftovers policy_dry_run policy_cpu cloud_faults real_ratelimit real_delete"}
if has_layer integration; then
	section "integration (ASan+UBSan agent; $IT_JOBS at a time, in the order they end)"
	all=$(for t in tests/integration/*.sh; do [ "$t" = tests/integration/lib.sh ] || basename "$t" .sh; done)
	for name in $IT_ALONE $IT_LONG; do
		[ -f "tests/integration/$name.sh" ] && it_run "$name" "integration: $name" "it-$name"
	done
	for name in $REAL_TESTS; do
		it_run "$name" "integration (real): $name" "it-real-$name" MITOSIS_SIM_PROFILE=real \
			MITOSIS_SIM_TIME_SCALE="$REAL_TIME_SCALE"
	done
	for name in $all; do
		in_words "$name" "$IT_ALONE $IT_LONG" || it_run "$name" "integration: $name" "it-$name"
	done
	while it_running; do it_wait_one; done
fi

# The simulator's own suite mostly waits on its droplets' boots and delays,
# the DST computes: the two run side by side, their results printed in turn.
CLOUDSIM_PID=
if has_layer cloudsim && [ -f tests/cloudsim/run_tests.py ]; then
	# shellcheck disable=SC2086 # a list of module names
	timeout -k 10 600 python3 tests/cloudsim/run_tests.py ${CLOUDSIM_TESTS:-} >"$MITOSIS_LOGDIR/cloudsim.log" 2>&1 &
	CLOUDSIM_PID=$!
fi

if has_layer dst; then
	section "dst: deterministic simulation (tests/dst)"
	JOBS=$JOBS timeout -k 10 600 tests/dst/run_tests.sh >"$MITOSIS_LOGDIR/dst.log" 2>&1
	rc=$?
	grep -E '^(FAIL|PASS)' "$MITOSIS_LOGDIR/dst.log" | head -n 40
	add_counts "dst" "$MITOSIS_LOGDIR/dst.log" $rc
fi

if has_layer cloudsim; then
	section "cloudsim: the DigitalOcean simulator (tests/cloudsim)"
	if [ -n "$CLOUDSIM_PID" ]; then
		wait "$CLOUDSIM_PID"
		rc=$?
		grep -E '^(FAIL|ERROR|SKIP)' "$MITOSIS_LOGDIR/cloudsim.log" | head -n 20
		add_counts "cloudsim" "$MITOSIS_LOGDIR/cloudsim.log" $rc
	else
		skip "cloudsim" "tests/cloudsim/run_tests.py not present"
	fi
fi

if has_layer secrets; then
	section "secrets"
	t0=$(date +%s)
	sort -u "$MITOSIS_SECRETS" | grep -v '^$' >"$MITOSIS_SECRETS.u" || true
	nsecrets=$(wc -l <"$MITOSIS_SECRETS.u")
	rc=0
	if [ "$nsecrets" -eq 0 ]; then
		echo "no secrets were recorded by the suite: nothing to check against"
		rc=1
	elif grep -rlF -f "$MITOSIS_SECRETS.u" "$MITOSIS_LOGDIR" --exclude='secrets.list*' --exclude='*.key' >"$MITOSIS_LOGDIR/leaks" 2>/dev/null; then
		echo "secret found in: $(cat "$MITOSIS_LOGDIR/leaks")"
		rc=1
	fi
	record "secrets: none of $nsecrets keys/tokens in any log" $rc $(($(date +%s) - t0))
	t0=$(date +%s)
	rc=0
	if [ "$(system_paths)" != "$SYSTEM_BEFORE" ]; then
		echo "the suite changed a system path:"
		diff <(echo "$SYSTEM_BEFORE") <(system_paths) | head -n 10
		rc=1
	fi
	record "system paths: $SYSTEM_PATHS untouched" $rc $(($(date +%s) - t0))
fi

printf '\n%d s in all\n' $(($(date +%s) - START))
for s in "${SKIPS[@]}"; do
	echo "skipped: $s"
done
if [ "$FAILED" -ne 0 ]; then
	echo "failed: ${FAILURES[*]}"
	echo "logs kept in $MITOSIS_LOGDIR"
else
	rm -rf "$MITOSIS_LOGDIR"
fi
echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
[ "$FAILED" -eq 0 ]
