#!/bin/bash
# do-dns and do-lb under API faults: with about 20% of the simulator's API
# calls failing (10% 500, 10% 429), register three droplets, reconcile twenty,
# retire one, and check that exactly the intended records and load balancer
# members exist at the end: nothing leaked, nothing doubled. Commands are
# idempotent, so a command that gave up is simply run again (at most 3 times).
. "$(dirname "$0")/lib.sh"


# run_retry CMD...: runs CMD up to 3 times until it exits 0.
RETRIES=0
run_retry() {
	local i
	for i in 1 2 3; do
		"$@" >>"$LOG/cli.out" 2>>"$LOG/cli.log" && return 0
		RETRIES=$((RETRIES + 1))
	done
	return 1
}

sim_start --boot-delay 0.2 --droplet-limit 200 --quiet --seed 11
make_keyring "$T/cluster.key"
say "simulator at $SIM_URL"

sim_api POST /v2/droplets "{\"names\":[$(seq -s, -f '"f-%g"' 1 10)],\"region\":\"nyc3\",\"size\":\"s-1vcpu-1gb\",\"image\":\"debian-12-x64\"}" >/dev/null
sim_api POST /v2/droplets "{\"names\":[$(seq -s, -f '"f-%g"' 11 20)],\"region\":\"nyc3\",\"size\":\"s-1vcpu-1gb\",\"image\":\"debian-12-x64\"}" >/dev/null
wait_until 10 bash -c "[ \"\$(python3 -c 'import json,sys,urllib.request; s=json.load(urllib.request.urlopen(sys.argv[1]+\"/_sim/state\")); print(sum(d[\"status\"]==\"active\" for d in s[\"droplets\"]))' $SIM_URL)\" = 20 ]" ||
	fail "droplets did not become active"
sim_state "json.dumps([{'id': d['id'], 'name': d['name'], 'ip': d['sim']['public_ipv4']} for d in s['droplets']])" >"$T/nodes20.json"
mapfile -t IDS < <(sim_state '"\n".join(str(d["id"]) for d in s["droplets"])')
mapfile -t IPS < <(sim_state '"\n".join(d["sim"]["public_ipv4"] for d in s["droplets"])')
LB=$(sim_lb web)
echo "drain_timeout = 1s" | rotation_config "$T/m.conf" "$T/cluster.key" "$LB"

# 20% of API calls fail from here on
NLOG=$(sim_state 'len(s["request_log"])')
curl -sf -X POST "$SIM_URL/_sim/faults" -d '{"rules":[{"path":"/v2/*","error":500,"rate":0.1},{"path":"/v2/*","error":429,"rate":0.1,"retry_after":1}],"seed":11}' >/dev/null ||
	fail "cannot set faults"

for i in 0 1 2; do
	run_retry "$MITOSIS" register -c "$T/m.conf" --json --node "${IDS[$i]}" --ip "${IPS[$i]}" ||
		fail "register ${IDS[$i]} failed 3 times"
done
want3=$(printf '%s\n' "${IPS[@]:0:3}" | python3 -c 'import sys; print(sorted(sys.stdin.read().split()))')
[ "$(sim_state 'www()')" = "$want3" ] || fail "after 3 registers: $(sim_state 'www()') want $want3"
say "3 registers under faults: exact"

run_retry "$MITOSIS" register -c "$T/m.conf" --reconcile --nodes "$T/nodes20.json" || fail "reconcile failed 3 times"
want20=$(printf '%s\n' "${IPS[@]}" | python3 -c 'import sys; print(sorted(sys.stdin.read().split()))')
[ "$(sim_state 'www()')" = "$want20" ] || fail "after reconcile: $(sim_state 'www()')"
ids20=$(printf '%s\n' "${IDS[@]}" | python3 -c 'import sys; print(sorted(int(x) for x in sys.stdin.read().split()))')
[ "$(sim_state "lb('$LB')")" = "$ids20" ] || fail "LB after reconcile: $(sim_state "lb('$LB')")"
say "reconcile of 20 under faults: exact"

run_retry "$MITOSIS" retire -c "$T/m.conf" --json --no-wait "${IDS[5]}" || fail "retire failed 3 times"
[ "$(sim_state "any(d['id'] == ${IDS[5]} for d in s['droplets'])")" = False ] || fail "droplet not deleted"
want19=$(printf '%s\n' "${IPS[@]}" | grep -vxF "${IPS[5]}" | python3 -c 'import sys; print(sorted(sys.stdin.read().split()))')
ids19=$(printf '%s\n' "${IDS[@]}" | grep -vxF "${IDS[5]}" | python3 -c 'import sys; print(sorted(int(x) for x in sys.stdin.read().split()))')
[ "$(sim_state 'www()')" = "$want19" ] || fail "after retire: $(sim_state 'www()')"
[ "$(sim_state "lb('$LB')")" = "$ids19" ] || fail "LB after retire: $(sim_state "lb('$LB')")"
[ "$(sim_state 'len(www()) == len(set(www()))')" = True ] || fail "a doubled record"

faults=$(sim_state "sum(1 for r in s['request_log'][$NLOG:] if r['fault'])")
total=$(sim_state "len(s['request_log'][$NLOG:])")
say "faults injected: $faults of $total API requests under faults; commands re-run: $RETRIES"
[ "$faults" -ge 3 ] || fail "too few faults to mean anything ($faults)"
say "PASS"
