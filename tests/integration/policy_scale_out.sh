#!/usr/bin/env bash
# timeout: 150
# Issue 13, test 1: overload -> exactly the computed number of clones. Two
# droplets of the policy's snapshot (on the simulator's realism profile) each
# report 175 of the custom metric against a target of 100: the leader asks
# ceil(350 / 100) = 4 after scale_out_window, creates exactly two clones with
# one POST each (its term and op tag in the User-Agent), each clone boots from
# the snapshot, reads its own metadata, joins and is put into DNS (one A
# record) and on the load balancer. The load stays: the clones count as
# capacity while they warm up, so no third clone comes in warm-up or cooldown.
. "$(dirname "$0")/lib.sh"

policy_cluster 2 "scale_out_window = 3s" "scale_out_cooldown = 20s" "max_nodes = 6"
LEADER=$(policy_leader)
say "droplets ${IDS[*]} formed a cluster; $LEADER leads"
[ "$(policy_creates)" = 0 ] || fail "a clone before any load"

for id in "${IDS[@]}"; do policy_load "$id" 175; done
T0=$(date +%s)
four() { [ "$(policy_count)" = 4 ]; }
wait_secs 40 four || fail "no scale-out to 4 droplets: $(policy_count) droplets, $("$MITOSIS" status -s "$(policy_sock "$LEADER")" | grep -A3 '^policy')"
say "scale-out to 4 droplets $(($(date +%s) - T0)) s after the overload began"

mapfile -t CLONES < <(sim_state '"\n".join(str(d["id"]) for d in s["droplets"] if d["id"] not in ('"${IDS[0]},${IDS[1]}"'))')
all_in() {
	[ "$(sim_state 'len(www())')" = 4 ] && [ "$(sim_state "len(lb('$LB'))")" = 4 ] &&
		[ "$(count_members_alive)" = 4 ]
}
count_members_alive() {
	"$MITOSIS" members --json -s "$(policy_sock "$LEADER")" 2>/dev/null |
		python3 -c 'import json,sys; print(sum(m["state"] == "alive" for m in json.load(sys.stdin)))' 2>/dev/null
}
wait_secs 40 all_in || fail "clones not joined and in rotation: dns $(sim_state 'www()') lb $(sim_state "lb('$LB')") alive $(count_members_alive)"
for id in "${CLONES[@]}"; do
	ip=$(sim_state "next(d['sim']['public_ipv4'] for d in s['droplets'] if d['id'] == $id)")
	[ "$(sim_state "www().count('$ip')")" = 1 ] || fail "clone $id: not exactly one A record for $ip"
	[ "$(sim_state "$id in lb('$LB')")" = True ] || fail "clone $id is not on the load balancer"
	[ "$(sim_state "any(d['id'] == $id and 'mitosis-itest' in d['tags'] and any(t.startswith('mitosis-op-') for t in d['tags']) for d in s['droplets'])")" = True ] ||
		fail "clone $id lacks the cluster tag or its op tag"
done
say "clones ${CLONES[*]} booted, joined, one A record each and on the load balancer"

# The same load, through warm-up and into the cooldown: no third clone.
sleep 12
[ "$(policy_count)" = 4 ] || fail "$(policy_count) droplets: a clone in warm-up or cooldown"
[ "$(policy_creates)" = 2 ] || fail "$(policy_creates) creates for 2 clones"
terms=$(sim_state 'sorted(set(r["agent"].split(" term=")[1].split()[0] for r in s["request_log"] if r["method"] == "POST" and r["path"].split("?")[0] == "/v2/droplets" and " term=" in r.get("agent", "")))')
say "exactly 2 creates (term $terms), none in warm-up or cooldown"
"$MITOSIS" status -s "$(policy_sock "$LEADER")" >"$LOG/status.txt"
grep -q "^policy: desired 4, capacity 4" "$LOG/status.txt" || fail "status: $(grep -A4 '^policy' "$LOG/status.txt")"
grep -q "clone 2: custom" "$(policy_root "$LEADER")/var/log/dosim/agent.log" ||
	fail "the leader's log lacks the decision line"
say "status: $(grep '^policy:' "$LOG/status.txt")"

# The leader's /metrics counts the decision and its two clones (docs/operations.md).
ip=$(sim_state "next(d['sim']['private_ipv4'] for d in s['droplets'] if d['id'] == $LEADER)")
curl -sf -m 5 "http://$ip:9950/metrics" >"$LOG/metrics.txt" || fail "the leader serves no /metrics on $ip:9950"
for want in 'mitosis_scaling_active 1' 'mitosis_scaling_decisions_total{action="scale_out"} 1' \
	'mitosis_scaling_events_total{event="clone_ready"} 2' 'mitosis_scaling_desired_nodes 4'; do
	grep -qxF "$want" "$LOG/metrics.txt" || fail "the leader's metrics lack '$want': $(grep '^mitosis_scaling' "$LOG/metrics.txt")"
done
if command -v promtool >/dev/null; then
	promtool check metrics <"$LOG/metrics.txt" >"$LOG/promtool.txt" 2>&1 || fail "promtool: $(cat "$LOG/promtool.txt")"
fi
say "the leader's metrics: 1 scale_out decision, 2 clones ready, desired 4"
