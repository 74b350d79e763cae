#!/usr/bin/env bash
# `mitosis clone --count 2` against tests/cloudsim: two active droplets carrying the
# cluster tag, one op tag and IPs; `cloud ls` shows them; a clone whose boot is
# stuck (the simulator's boot_failure) is deleted after active_timeout, and
# nothing else is left behind. The token never appears in any output.
. "$(dirname "$0")/lib.sh"


cloud_sim_start

say "clone --count 2"
"$MITOSIS" clone -c "$T/m.conf" --count 2 --json >"$LOG/clone.json" 2>"$LOG/clone.err" ||
	fail "clone failed: $(tail -n 3 "$LOG/clone.err")"
python3 - "$LOG/clone.json" <<'PY' || fail "clone --json output is wrong"
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d["droplets"]) == 2, d
for x in d["droplets"]:
    assert x["status"] == "active" and x["private_ipv4"].startswith("127.78.") and x["public_ipv4"].startswith("127.77."), x
    assert "mitosis-itest" in x["tags"] and any(t.startswith("mitosis-op-") for t in x["tags"]), x
assert d["operations"][0]["creates_sent"] == 1 and d["deleted"] == 0
assert d["cloud_requests_sent"] >= 3, d
PY
[ "$(sim_eval 'len(s["droplets"])')" = 2 ] || fail "the simulator does not hold exactly 2 droplets"
[ "$(sim_eval 'sorted(set(d["status"] for d in s["droplets"]))')" = "['active']" ] || fail "not all active"

say "cloud ls shows them, in one request"
"$MITOSIS" cloud ls -c "$T/m.conf" >"$LOG/ls.txt" 2>"$LOG/ls.err" || fail "cloud ls failed"
[ "$(grep -c ' active ' "$LOG/ls.txt")" = 2 ] || fail "cloud ls does not list 2 active droplets"
grep -q '^cloud_requests_sent: 1$' "$LOG/ls.txt" || fail "cloud ls took more than one request"
"$MITOSIS" cloud ls -c "$T/m.conf" --json >"$LOG/ls.json" 2>>"$LOG/ls.err" || fail "cloud ls --json failed"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["droplets"])==2 and d["tag"]=="mitosis-itest"' \
	"$LOG/ls.json" || fail "cloud ls --json is wrong"

say "a clone that never becomes active is deleted after active_timeout"
sim_post /_sim/faults '{"boot_failure": {"rate": 1.0, "mode": "stuck", "count": 1}}'
set +e
"$MITOSIS" clone -c "$T/m.conf" --json >"$LOG/stuck.json" 2>"$LOG/stuck.err"
rc=$?
set -e
[ $rc = 1 ] || fail "a stuck clone should exit 1, got $rc"
grep -q 'not active by active_timeout' "$LOG/stuck.err" || fail "no deletion message"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["deleted"]==1 and d["droplets"]==[], d' \
	"$LOG/stuck.json" || fail "stuck clone --json is wrong"
[ "$(sim_eval 'len(s["droplets"])')" = 2 ] || fail "the stuck droplet was left behind"
[ "$(sim_eval 'len([r for r in s["request_log"] if r["method"]=="DELETE"])')" = 1 ] || fail "expected one DELETE"

say "the token appears in no output"
if grep -rqF -f "$T/token" "$LOG"; then fail "the token leaked into $LOG"; fi
say "PASS"
