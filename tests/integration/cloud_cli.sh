#!/usr/bin/env bash
# The cloud verbs end to end against tests/cloudsim: --dry-run of clone, snapshot
# and resize prints the calls and changes nothing; snapshot of a droplet gives
# the new image id; resize leaves it active at the new size; usage errors exit
# 2; a token file readable by others is refused; a snapshot of a droplet that
# does not exist fails at once. The token is never printed.
. "$(dirname "$0")/lib.sh"


cloud_sim_start
"$MITOSIS" clone -c "$T/m.conf" --json >"$LOG/clone.json" 2>"$LOG/clone.err" || fail "clone failed"
ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["droplets"][0]["id"])' "$LOG/clone.json")
cat >>"$T/m.conf" <<CONF
node_id = $ID
hostname = itest-node
private_ipv4 = 127.0.0.1
CONF
before=$(sim_eval '(len(s["droplets"]), len(s["images"]), [(d["status"], d["size_slug"]) for d in s["droplets"]])')
nreq=$(sim_eval 'len(s["request_log"])')

say "--dry-run changes nothing and prints the calls"
"$MITOSIS" clone -c "$T/m.conf" --count 2 --dry-run >"$LOG/dry-clone.txt" 2>"$LOG/dry.err" || fail "clone --dry-run failed"
grep -q '^dry-run: POST /v2/droplets {"image":100000001,"size":"s-1vcpu-1gb","region":"nyc3",.*"names":\["itest-' "$LOG/dry-clone.txt" ||
	fail "clone --dry-run does not show the create"
grep -q 'seeds = 127.78.' "$LOG/dry-clone.txt" || fail "the user-data does not carry the seeds"
"$MITOSIS" snapshot -c "$T/m.conf" golden-1 --dry-run >"$LOG/dry-snap.txt" 2>>"$LOG/dry.err" || fail "snapshot --dry-run failed"
grep -qx "dry-run: POST /v2/droplets/$ID/actions {\"type\":\"snapshot\",\"name\":\"golden-1\"}" "$LOG/dry-snap.txt" ||
	fail "snapshot --dry-run does not show the action"
"$MITOSIS" resize -c "$T/m.conf" s-2vcpu-2gb --dry-run --json >"$LOG/dry-resize.json" 2>"$LOG/dry-resize.txt" ||
	fail "resize --dry-run failed"
[ "$(grep -c "^dry-run: POST /v2/droplets/$ID/actions" "$LOG/dry-resize.txt")" = 3 ] ||
	fail "resize --dry-run should show power_off, resize, power_on"
grep -q '"disk":false' "$LOG/dry-resize.txt" || fail "resize must not grow the disk"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["dry_run"] and d["ok"], d' "$LOG/dry-resize.json" ||
	fail "resize --dry-run --json is wrong"
after=$(sim_eval '(len(s["droplets"]), len(s["images"]), [(d["status"], d["size_slug"]) for d in s["droplets"]])')
[ "$before" = "$after" ] || fail "a dry run changed the state: $before -> $after"
[ "$(sim_eval "set(r['method'] for r in s['request_log'][$nreq:])")" = "{'GET'}" ] || fail "a dry run sent a mutating request"

say "snapshot"
"$MITOSIS" snapshot -c "$T/m.conf" golden-1 --json >"$LOG/snap.json" 2>"$LOG/snap.err" || fail "snapshot failed: $(tail -n2 "$LOG/snap.err")"
IMG=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["image_id"])' "$LOG/snap.json")
[ "$(sim_eval "[i['name'] for i in s['images'] if i['id'] == $IMG]")" = "['golden-1']" ] || fail "image $IMG is not golden-1"

say "resize"
"$MITOSIS" resize -c "$T/m.conf" s-2vcpu-2gb >"$LOG/resize.txt" 2>"$LOG/resize.err" || fail "resize failed: $(tail -n2 "$LOG/resize.err")"
[ "$(sim_eval "[(d['status'], d['size_slug']) for d in s['droplets'] if d['id'] == $ID]")" = "[('active', 's-2vcpu-2gb')]" ] ||
	fail "droplet $ID is not active at s-2vcpu-2gb"
"$MITOSIS" resize -c "$T/m.conf" s-2vcpu-2gb >"$LOG/resize2.txt" 2>>"$LOG/resize.err" || fail "a second resize failed"
if sim_real; then # a status that still lags the last power_on may cost a power_on and its 422
	[ "$(sed -n 's/^cloud_requests_sent: //p' "$LOG/resize2.txt")" -le 3 ] || fail "a resize to the current size took more than 3 requests"
else
	grep -q '^cloud_requests_sent: 1$' "$LOG/resize2.txt" || fail "a resize to the current size should be one GET"
fi

say "usage errors and a bad token file"
set +e
"$MITOSIS" resize -c "$T/m.conf" >/dev/null 2>&1; r1=$?
"$MITOSIS" clone -c "$T/m.conf" --count 0 >/dev/null 2>&1; r2=$?
"$MITOSIS" cloud -c "$T/m.conf" >/dev/null 2>&1; r3=$?
sed "s/^node_id = .*/node_id = 999/" "$T/m.conf" >"$T/gone.conf"
timeout 20 "$MITOSIS" snapshot -c "$T/gone.conf" >"$LOG/gone.out" 2>"$LOG/gone.err"; r5=$?
chmod 644 "$T/token"
"$MITOSIS" cloud ls -c "$T/m.conf" >"$LOG/badtoken.out" 2>"$LOG/badtoken.err"; r4=$?
chmod 600 "$T/token"
set -e
[ "$r1$r2$r3" = 222 ] || fail "usage errors should exit 2 (got $r1 $r2 $r3)"
[ "$r4" = 1 ] || fail "a token file readable by others should exit 1 (got $r4)"
grep -q 'chmod 600' "$LOG/badtoken.err" || fail "no hint for the token file mode"
[ "$r5" = 1 ] || fail "a snapshot of a droplet that does not exist should exit 1 (got $r5)"
grep -q 'droplet 999: 404 not_found' "$LOG/gone.err" || fail "no 404 message for a missing droplet"

if grep -rqF -f "$T/token" "$LOG"; then fail "the token leaked into $LOG"; fi
say "PASS"
