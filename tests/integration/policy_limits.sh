#!/usr/bin/env bash
# timeout: 150
# Issue 13, test 7: sustained overload at max_hourly_cost and max_nodes. Two
# droplets of the policy's snapshot report 900 of the custom metric each
# against a target of 100 (custom_max 1000): the policy asks 18 nodes. With
# max_hourly_cost = $0.03 (a s-1vcpu-1gb costs $6/month = $0.008929 an hour,
# so three fit) and max_nodes = 4, the cluster is never more than three
# droplets nor above $0.03 an hour, sampled every second through a sustained
# overload, and limit_reached is logged once for the whole episode.
. "$(dirname "$0")/lib.sh"

policy_cluster 2 "scale_out_window = 2s" "scale_out_cooldown = 3s" "custom_max = 1000" \
	"max_nodes = 4" "max_hourly_cost = 0.03"
LEADER=$(policy_leader)
for id in "${IDS[@]}"; do policy_load "$id" 900; done
most=0
for i in $(seq 1 30); do
	n=$(sim_state 'len(s["droplets"])')
	[ "$n" -gt "$most" ] && most=$n
	[ "$n" -le 3 ] || fail "$n droplets: above max_hourly_cost (3 fit) after $i s"
	sleep 1
done
[ "$most" = 3 ] || fail "the cluster never reached the cost limit (at most $most droplets)"
cost=$(sim_state 'round(sum(d["size"]["price_hourly"] for d in s["droplets"]), 6)')
python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) <= 0.03 else 1)' "$cost" || fail "billed \$$cost an hour"
log="$(policy_root "$LEADER")/var/log/dosim/agent.log"
[ "$(grep -c 'policy: limit_reached: max_hourly_cost' "$log")" = 1 ] ||
	fail "limit_reached logged $(grep -c 'policy: limit_reached' "$log") times: $(grep 'limit_reached' "$log")"
[ "$(policy_creates)" = 1 ] || fail "$(policy_creates) creates"
say "30 s of overload asking 18 nodes: at most $most droplets, \$$cost an hour, limit_reached once"
