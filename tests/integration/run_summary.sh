#!/usr/bin/env bash
# The suite's last line counts skips and names each one: tests/run.sh, run on
# one cloudsim module that must skip (the real-agent test, pointed at an agent
# that is not there), ends "0 passed, 0 failed, 1 skipped" with a "skipped:"
# line above that says which test and why. A green line that hides a skipped
# test (the contract test without npm) is what this guards against.
. "$(dirname "$0")/lib.sh"

out=$T/run.out
MITOSIS_LOGDIR=$T/logs LAYERS=cloudsim CLOUDSIM_TESTS=test_real_agent \
	MITOSIS_AGENT=$T/no-such-agent bash "$ROOT/tests/run.sh" >"$out" 2>&1 || true
cp "$out" "$LOG/run.out"
last=$(tail -n1 "$out")
[ "$last" = "0 passed, 0 failed, 1 skipped" ] || fail "last line: '$last'"
grep -qE "^skipped: cloudsim: test_real_agent\..*: $T/no-such-agent is not built" "$out" ||
	fail "the skip is not named: $(tail -n3 "$out")"
say "last line '$last', the skip named above it"
