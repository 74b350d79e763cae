#!/usr/bin/env bash
# timeout: 150
# Issue 13, test 3: kill -9 a node. Three droplets of the policy's snapshot
# (realism profile), each at the target load. One follower's agent is killed
# (kill -9) and its droplet powered off through the API, the simulator's way
# of a droplet that died ("gone or off"; a killed agent alone leaves the
# droplet "active"). The leader takes it out of DNS and the load balancer
# within seconds of SWIM's verdict, looks the droplet up after
# replace_after, deletes it, and clones exactly one replacement, which joins
# and is registered.
. "$(dirname "$0")/lib.sh"

policy_cluster 3 "replace_after = 8s" "powercycle_wait = 20s" "scale_out_window = 3s" "scale_out_cooldown = 10s"
LEADER=$(policy_leader)
for id in "${IDS[@]}"; do policy_load "$id" 100; done
wait_secs 40 policy_in_rotation 3 || fail "the three droplets are not in rotation: dns $(sim_state 'www()') lb $(sim_state "lb('$LB')")"
VICTIM=
for id in "${IDS[@]}"; do [ "$id" != "$LEADER" ] && VICTIM=$id; done
VIP=$(sim_state "next(d['sim']['public_ipv4'] for d in s['droplets'] if d['id'] == $VICTIM)")
say "$LEADER leads; killing the agent of $VICTIM ($VIP) and powering its droplet off"

kill -9 "$(sim_state "next(d['sim']['agent_pid'] for d in s['droplets'] if d['id'] == $VICTIM)")"
T0=$(date +%s)
sim_action "$VICTIM" '{"type":"power_off"}' # waits until the action completed
out_of_rotation() {
	[ "$(sim_state "'$VIP' in www() or $VICTIM in lb('$LB')")" = False ]
}
wait_secs 20 out_of_rotation || fail "$VICTIM still in rotation 20 s after its death: dns $(sim_state 'www()') lb $(sim_state "lb('$LB')")"
OUT=$(($(date +%s) - T0))
[ "$OUT" -le 10 ] || fail "$VICTIM out of rotation only after $OUT s"
say "$VICTIM out of DNS and the load balancer $OUT s after kill -9"

gone() { [ "$(sim_state "sum(d['id'] == $VICTIM for d in s['droplets'])")" = 0 ]; }
wait_secs 40 gone || fail "the dead droplet $VICTIM was not deleted"
replaced() { [ "$(policy_count)" = 3 ] && [ "$(sim_state 'len(www())')" = 3 ] && [ "$(sim_state "len(lb('$LB'))")" = 3 ]; }
wait_secs 60 replaced || fail "no replacement in rotation: $(policy_count) droplets, dns $(sim_state 'www()')"
say "$VICTIM deleted after replace_after and one replacement is in rotation $(($(date +%s) - T0)) s after the kill"
sleep 6
[ "$(policy_count)" = 3 ] || fail "$(policy_count) droplets: more than one replacement"
[ "$(policy_creates)" = 1 ] || fail "$(policy_creates) creates for one replacement"
dels=$(sim_state "sum(1 for r in s['request_log'] if r['method'] == 'DELETE' and r['path'] == '/v2/droplets/$VICTIM' and r.get('agent', '').startswith('mitosis/'))")
[ "$dels" -ge 1 ] || fail "the leader never deleted $VICTIM"
say "exactly one replacement (1 create), the dead droplet deleted by the leader"
