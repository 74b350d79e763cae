#!/usr/bin/env bash
# The create-retry rule under faults, against tests/cloudsim: with 20% of API calls
# failing (500 and 429 at 10% each, on every endpoint, seeded) five rounds of
# `clone --count 3` each end with exactly 3 active droplets of their operation,
# none doubled, none stuck. A create whose answer is lost (client timeout while
# the simulator still creates) is adopted by listing the op tag, not repeated;
# a create answered 500 is looked up by name, then sent again. 429s of the burst
# limit are waited out.
. "$(dirname "$0")/lib.sh"


cloud_sim_start
# Exactly COUNT droplets carry the op tag of the clone in $1 (a --json file), all active, names unique.
check_op() {
	python3 - "$1" "$2" "$SIM_URL" <<'PY'
import json, sys, urllib.request, collections
out = json.load(open(sys.argv[1])); want = int(sys.argv[2])
s = json.load(urllib.request.urlopen(sys.argv[3] + "/_sim/state", timeout=5))
for op in out["operations"]:
    mine = [d for d in s["droplets"] if op["op_tag"] in d["tags"]]
    names = collections.Counter(d["name"] for d in mine)
    assert len(mine) == min(want, 10), (op, [(d["id"], d["name"], d["status"]) for d in mine])
    assert max(names.values()) == 1, names
    assert all(d["status"] == "active" for d in mine), [(d["id"], d["status"]) for d in mine]
assert len(out["droplets"]) == want and out["deleted"] == 0, out
print("ok", out["cloud_requests_sent"], [op["creates_sent"] for op in out["operations"]])
PY
}

say "20% faults (500 and 429 on every endpoint), 5 rounds of clone --count 3"
sim_post /_sim/faults '{"rules": [{"path": "/v2/*", "error": 500, "rate": 0.1},
	{"path": "/v2/*", "error": 429, "rate": 0.1, "retry_after": 1}], "seed": 20}'
for round in 1 2 3 4 5; do
	"$MITOSIS" clone -c "$T/m.conf" --count 3 --json >"$LOG/faults$round.json" 2>"$LOG/faults$round.err" ||
		fail "round $round: clone failed: $(tail -n 3 "$LOG/faults$round.err")"
	r=$(check_op "$LOG/faults$round.json" 3) || fail "round $round: wrong droplets: $r"
	say "round $round: $r (requests sent, creates sent)"
done
[ "$(sim_eval 'len(s["droplets"])')" = 15 ] || fail "expected 15 droplets in all"
injected=$(sim_eval 'len([r for r in s["request_log"] if r.get("fault")])')
say "faults injected: $injected"
[ "$injected" -gt 0 ] || fail "no fault was injected"

say "a create answered 500: looked up by name, then sent again"
sim_post /_sim/faults '{"rules": [{"method": "POST", "path": "/v2/droplets", "error": 500, "count": 1}]}'
"$MITOSIS" clone -c "$T/m.conf" --count 2 --json >"$LOG/c500.json" 2>"$LOG/c500.err" || fail "clone after a 500 failed"
check_op "$LOG/c500.json" 2 >/dev/null || fail "wrong droplets after a 500"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); o=d["operations"][0]; assert o["creates_sent"]==2 and not o["adopted"], o' \
	"$LOG/c500.json" || fail "expected two creates, not adopted"
grep -q 'looking the names up before any retry' "$LOG/c500.err" || fail "no lookup before the retry"

say "a create whose answer is lost is adopted, not repeated"
sed -i 's/^active_timeout = .*/active_timeout = 20s\napi_timeout = 1s/' "$T/m.conf"
sim_post /_sim/faults '{"rules": [{"method": "POST", "path": "/v2/droplets", "latency": 1.6, "count": 1}]}'
"$MITOSIS" clone -c "$T/m.conf" --count 3 --json >"$LOG/lost.json" 2>"$LOG/lost.err" || fail "clone with a lost answer failed"
check_op "$LOG/lost.json" 3 >/dev/null || fail "wrong droplets after a lost answer"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); o=d["operations"][0]; assert o["creates_sent"]==1 and o["adopted"], o' \
	"$LOG/lost.json" || fail "expected one create, adopted"
[ "$(sim_eval 'len([r for r in s["request_log"] if r["method"]=="POST" and r["path"]=="/v2/droplets"])')" -ge 5 ] ||
	fail "request log too short"
[ "$(sim_eval 'len(s["droplets"])')" = 20 ] || fail "expected 20 droplets in all"

say "the burst limit: 429 with retry-after is waited out"
sim_post /_sim/faults '{"rules": []}'
sim_post /_sim/config '{"burst_limit": 2, "burst_window": 2}'
n0=$(sim_eval 'len(s["request_log"])')
for i in 1 2 3; do
	"$MITOSIS" cloud ls -c "$T/m.conf" >"$LOG/burst$i.txt" 2>"$LOG/burst$i.err" || fail "cloud ls under the burst limit failed"
done
[ "$(grep -c ' active ' "$LOG/burst3.txt")" = 20 ] || fail "cloud ls under the burst limit lost droplets"
[ "$(sim_eval "len([r for r in s['request_log'][$n0:] if r['status'] == 429])")" -ge 1 ] || fail "the burst limit never answered 429"
sim_post /_sim/config '{"burst_limit": 250, "burst_window": 60}'

if grep -rqF -f "$T/token" "$LOG"; then fail "the token leaked into $LOG"; fi
say "PASS"
