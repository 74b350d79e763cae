#!/usr/bin/env bash
# timeout: 170
# Issue 13, test 4: kill -9 the leader after its create call and before the
# clone is active. Three droplets of the policy's snapshot (realism profile at
# x0.2: a clone boots in about 12 s) report 117 of the custom metric each
# against 100: the leader asks ceil(351 / 100) = 4 and sends one create. The
# moment the create shows in the simulator's request log the leader's agent
# is killed. The two others elect a new leader, which finds the clone by its
# op tag (adopted), waits for it to join and registers it: exactly one
# droplet results, and no second create comes.
. "$(dirname "$0")/lib.sh"

POLICY_TIME_SCALE=0.2
policy_cluster 3 "scale_out_window = 2s" "scale_out_cooldown = 60s" "replace_after = 5m" \
	"active_timeout = 2m" "max_nodes = 6"
policy_wait_voters 3 # two survivors must be a majority of the voters
OLD=$(policy_leader)
for id in "${IDS[@]}"; do policy_load "$id" 117; done
created() { [ "$(policy_creates)" -ge 1 ]; }
for i in $(seq 1 300); do created && break; sleep 0.1; done
created || fail "the leader sent no create"
kill -9 "$(sim_state "next(d['sim']['agent_pid'] for d in s['droplets'] if d['id'] == $OLD)")"
CLONE=$(sim_state "next(str(d['id']) for d in s['droplets'] if d['id'] not in (${IDS[0]}, ${IDS[1]}, ${IDS[2]}))")
[ "$(sim_state "next(d['status'] for d in s['droplets'] if d['id'] == $CLONE)")" = new ] ||
	fail "the clone $CLONE was already active when the leader died: the test proves nothing"
say "leader $OLD killed right after its create of $CLONE (still new)"

new_leader() { NEW=$(policy_leader); [ -n "$NEW" ] && [ "$NEW" != "$OLD" ]; }
wait_secs 30 new_leader || fail "no new leader"
CIP=$(sim_state "next(d['sim']['public_ipv4'] for d in s['droplets'] if d['id'] == $CLONE)")
registered() { [ "$(sim_state "'$CIP' in www() and $CLONE in lb('$LB')")" = True ]; }
wait_secs 60 registered || fail "the clone $CLONE was not registered by the new leader $NEW"
grep -q "adopted\|adopt" "$(policy_root "$NEW")/var/log/dosim/agent.log" ||
	fail "the new leader's log does not say it adopted the clone"
sleep 5
[ "$(policy_creates)" = 1 ] || fail "$(policy_creates) creates: the clone was made twice"
[ "$(policy_count)" = 4 ] || fail "$(policy_count) droplets, expected 4 (three first nodes, one clone)"
say "new leader $NEW adopted clone $CLONE by its op tag and registered it; one create, 4 droplets"
