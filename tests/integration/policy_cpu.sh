#!/usr/bin/env bash
# timeout: 150
# Issue 13: the cpu metric with real CPU load. Two droplets of the policy's
# snapshot (realism profile) track cpu against target_cpu = 80% (the
# simulator's droplets share this machine, so each agent's /proc/stat is the
# host's). At rest the host is far below 80%, and nothing is cloned;
# stress-ng then keeps every core busy: the EWMA (load_window = 2s) rises to
# about 100%, the leader asks ceil(2 x 100 / 80) = 3 and clones one droplet
# (max_nodes = 3). The decision line names the cpu metric.
. "$(dirname "$0")/lib.sh"

command -v stress-ng >/dev/null || fail "stress-ng missing (scripts/deps.sh installs it)"
policy_cluster 2 "policy_metrics = cpu" "target_cpu = 80%" "load_window = 2s" "scale_out_window = 3s" \
	"scale_out_cooldown = 30s" "max_nodes = 3"
LEADER=$(policy_leader)
cpu_mean() {
	"$MITOSIS" status --json -s "$(policy_sock "$LEADER")" 2>/dev/null |
		python3 -c 'import json,sys; p=json.load(sys.stdin)["policy"]; m=next(m for m in p["metrics"] if m["metric"] == "cpu"); print("%.1f%%" % (m["mean"] / 10) if m["mean"] is not None else "unknown")' 2>/dev/null
}
sleep 6
[ "$(policy_count)" = 2 ] || fail "a clone at rest: $(policy_count) droplets, cpu $(cpu_mean)"
say "$LEADER leads; at rest the cluster's cpu is $(cpu_mean), no clone"

stress-ng --cpu "$(nproc)" --timeout 60s --quiet &
PIDS+=("$!")
T0=$(date +%s)
three() { [ "$(policy_count)" = 3 ]; }
wait_secs 45 three || fail "no clone under stress-ng: $(policy_count) droplets, cpu $(cpu_mean)"
say "under stress-ng (cpu $(cpu_mean)): one clone $(($(date +%s) - T0)) s after the load began"
kill "${PIDS[-1]}" 2>/dev/null || true
grep -q "clone 1: cpu" "$(policy_root "$LEADER")/var/log/dosim/agent.log" ||
	fail "the leader's decision does not name the cpu metric: $(grep 'policy: clone' "$(policy_root "$LEADER")/var/log/dosim/agent.log")"
say "the leader's decision: $(grep -o 'policy: clone 1: cpu.*' "$(policy_root "$LEADER")/var/log/dosim/agent.log" | head -n 1)"
