#!/usr/bin/env bash
# Issue 12, point 6: what the simulator used to be kind about.
#  a. an action that ends `errored` (action_failure on resize): resize exits 1
#     with the error and the droplet is powered on again;
#  b. `locked` while an action runs: a resize started meanwhile waits for the
#     lock instead of posting into "pending event" (no 422 in its requests);
#  c. faults that run the endpoint and then fail ("after": true): a create
#     answered 500 or timed out after it happened is adopted, never doubled;
#     a DNS record posted and answered 500 is made once; a DELETE answered 500
#     after it happened still ends in a gone droplet.
. "$(dirname "$0")/lib.sh"

cloud_sim_start --strict-actions --action-delay 1
ID=$(sim_droplet web-1)
sim_identity "$T/m.conf" "$ID"

say "a. an errored action: exit 1, the droplet powered on again"
sim_post /_sim/faults '{"action_failure": {"rate": 1, "types": ["resize"]}}'
bounded errored "$MITOSIS" resize s-2vcpu-4gb -c "$T/m.conf"
[ "$RC" = 1 ] || fail "resize with an errored action exited $RC"
grep -qE "droplet $ID: action [0-9]+ \(resize\) errored" "$LOG/errored.err" || fail "the errored action is not named"
[ "$(sim_truth "$ID")" = "active s-1vcpu-1gb" ] || fail "droplet left $(sim_truth "$ID")"
say "errored: exit 1, droplet active again"

say "b. locked: wait for the running action instead of meeting 'pending event'"
sim_post /_sim/faults '{"action_failure": {"rate": 0}}'
sim_post /_sim/config '{"action_delay": 4}'
sim_api POST "/v2/droplets/$ID/actions" '{"type":"power_off"}' >/dev/null
[ "$(sim_eval "[d['locked'] for d in s['droplets'] if d['id'] == $ID][0]")" = True ] || fail "setup: the droplet is not locked"
n0=$(sim_eval 'len(s["request_log"])')
bounded locked "$MITOSIS" resize s-2vcpu-4gb -c "$T/m.conf"
[ "$RC" = 0 ] || fail "resize behind a running action exited $RC"
[ "$(sim_truth "$ID")" = "active s-2vcpu-4gb" ] || fail "droplet left $(sim_truth "$ID")"
grep -qF "locked by an action that runs; waiting" "$LOG/locked.err" || fail "the lock was not waited for"
refused=$(sim_eval "sum(1 for r in s['request_log'][$n0:] if r['status'] == 422)")
[ "$refused" = 0 ] || fail "$refused action(s) posted into a pending event"
say "locked: waited, no 422"

say "c. faults after the endpoint ran"
sim_post /_sim/config '{"action_delay": 1}'
sim_post /_sim/faults '{"rules": [{"method": "POST", "path": "/v2/droplets", "error": 500, "after": true, "count": 1}]}'
"$MITOSIS" clone --json -c "$T/m.conf" >"$LOG/c500.json" 2>"$LOG/c500.err" || fail "clone after a 500-after failed"
python3 -c 'import json,sys; o=json.load(open(sys.argv[1]))["operations"][0]; assert o["creates_sent"] == 1 and o["adopted"], o' \
	"$LOG/c500.json" || fail "a create answered 500 after it happened was not adopted"
sed -i 's/^active_timeout = .*/active_timeout = 20s\napi_timeout = 1s/' "$T/m.conf"
sim_post /_sim/faults '{"rules": [{"method": "POST", "path": "/v2/droplets", "error": "timeout", "hold": 2, "after": true, "count": 1}]}'
"$MITOSIS" clone --json -c "$T/m.conf" >"$LOG/ctimeout.json" 2>"$LOG/ctimeout.err" || fail "clone after a timeout-after failed"
python3 -c 'import json,sys; o=json.load(open(sys.argv[1]))["operations"][0]; assert o["creates_sent"] == 1 and o["adopted"], o' \
	"$LOG/ctimeout.json" || fail "a create whose answer was lost was not adopted"
[ "$(sim_eval "max(collections.Counter(b['name'] for b in s['cost']['droplets']).values())")" = 1 ] || fail "a name was created twice"
LB=$(sim_lb web)
rotation_config "$T/r.conf" "$T/key" "$LB" <<<"drain_timeout = 0"
NEW=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["droplets"][0]; print(d["id"], d["public_ipv4"])' "$LOG/ctimeout.json")
sim_post /_sim/faults '{"rules": [{"method": "POST", "path": "/v2/domains/example.com/records", "error": 500, "after": true, "count": 1}]}'
"$MITOSIS" register --node "${NEW% *}" --ip "${NEW#* }" -c "$T/r.conf" >"$LOG/reg.out" 2>"$LOG/reg.err" ||
	fail "register after a 500-after failed: $(tail -n 3 "$LOG/reg.err")"
[ "$(sim_state 'www()')" = "['${NEW#* }']" ] || fail "records after a 500-after: $(sim_state 'www()')"
sim_post /_sim/faults "{\"rules\": [{\"method\": \"DELETE\", \"path\": \"/v2/droplets/${NEW% *}\", \"error\": 500, \"after\": true, \"count\": 1}]}"
"$MITOSIS" retire "${NEW% *}" --no-wait -c "$T/r.conf" >"$LOG/retire.out" 2>"$LOG/retire.err" ||
	fail "retire after a 500-after failed: $(tail -n 3 "$LOG/retire.err")"
! sim_api GET "/v2/droplets/${NEW% *}" >/dev/null 2>&1 || fail "the retired droplet still answers"
if grep -rqF -f "$T/token" "$LOG"; then fail "the token leaked into $LOG"; fi
say "PASS"
