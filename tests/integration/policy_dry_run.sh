#!/usr/bin/env bash
# timeout: 120
# Issue 13, test 8: dry run. Two droplets of the policy's snapshot with
# policy_dry_run = yes, overloaded (175 each against 100): the leader logs
# "would clone 2: ..." once the window has passed, `mitosis policy` says dry
# run, and no mutating call of the policy reaches the API: no create, no
# delete, no droplet action. Then `mitosis policy --act` on the leader turns
# the dry run off and the same load brings the two clones (the test would
# pass vacuously if the policy never ran at all).
. "$(dirname "$0")/lib.sh"

policy_cluster 2 "policy_dry_run = yes" "scale_out_window = 2s" "scale_out_cooldown = 4s" "max_nodes = 6"
LEADER=$(policy_leader)
"$MITOSIS" policy -s "$(policy_sock "$LEADER")" >"$LOG/policy.txt"
grep -q "^policy_dry_run *yes" "$LOG/policy.txt" || fail "mitosis policy: $(cat "$LOG/policy.txt")"
grep -q "^state .*dry run" "$LOG/policy.txt" || fail "mitosis policy state: $(grep state "$LOG/policy.txt")"
for id in "${IDS[@]}"; do policy_load "$id" 175; done
would() { grep -q "policy: would clone 2: custom" "$(policy_root "$LEADER")/var/log/dosim/agent.log"; }
wait_secs 40 would || fail "no \"would clone 2\" in the leader's log"
sleep 6
mutating() {
	sim_state 'sum(1 for r in s["request_log"] if r.get("agent", "").startswith("mitosis/") and ((r["method"] in ("POST", "DELETE") and r["path"].split("?")[0].startswith("/v2/droplets"))))'
}
[ "$(mutating)" = 0 ] || fail "$(mutating) mutating droplet calls in a dry run"
[ "$(policy_count)" = 2 ] || fail "$(policy_count) droplets in a dry run"
say "dry run: $(grep -c 'would clone' "$(policy_root "$LEADER")/var/log/dosim/agent.log") \"would clone 2\" lines, 0 mutating droplet calls"

"$MITOSIS" policy --act -s "$(policy_sock "$LEADER")" >"$LOG/policy-act.txt" || fail "policy --act failed"
grep -q "^policy_dry_run *no" "$LOG/policy-act.txt" || fail "policy --act: $(cat "$LOG/policy-act.txt")"
four() { [ "$(policy_count)" = 4 ]; }
wait_secs 40 four || fail "no clones once acting: $(policy_count) droplets"
[ "$(policy_creates)" = 2 ] || fail "$(policy_creates) creates"
say "after mitosis policy --act the same load brings exactly 2 clones"
