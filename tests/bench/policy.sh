#!/usr/bin/env bash
# Scaling-policy figures with real agents on the simulator's realism profile
# (docs/policy.md "Figures", issue 13), printed as "name value" lines:
#   1. overload-to-create-call latency against scale_out_window (2 s and 5 s):
#      from writing the overload into both nodes' custom metric file to the
#      leader's POST /v2/droplets in the simulator's request log (target:
#      window + the load sampler's interval + 1 s);
#   2. create-to-registered: from that POST to the clone's A record and
#      load-balancer membership (target: the simulated boot + 1 s);
#   3. crash-to-out-of-rotation: kill -9 of a follower to its removal from DNS
#      and the load balancer, beside the ~50 s a DigitalOcean load balancer's
#      default health check takes (5 failures 10 s apart).
# Starts agents and a simulator: run `make bench` under flock /tmp/mitosis-it.lock.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
export MITOSIS=$ROOT/$BUILD/mitosis BUILD_DIR=$ROOT/$BUILD
export MITOSIS_LOGDIR=${MITOSIS_LOGDIR:-$(mktemp -d /tmp/mitosis-bench-policy.XXXXXX)}
# shellcheck source=../integration/lib.sh
. "$ROOT/tests/integration/lib.sh"

now_ms() { date +%s%3N; }
# The simulator's request time (unix s, float) of the agents' first create.
create_time() {
	sim_state 'min([r["time"] for r in s["request_log"] if r["method"] == "POST" and r["path"].split("?")[0] == "/v2/droplets" and r.get("agent", "").startswith("mitosis/")] or [0])'
}

run_window() {
	local w=$1 t0 tc clone ip t_reg victim vip t_kill roots=() r
	rm -f "$T/cluster.key"
	policy_cluster 2 "scale_out_window = ${w}s" "scale_out_cooldown = 60s" "max_nodes = 3"
	LEADER=$(policy_leader)
	# warm-up (5 s from created_at) over, so only the window counts
	sleep 6
	# the roots first: t0 is the writes, not the simulator's answers
	for id in "${IDS[@]}"; do roots+=("$(policy_root "$id")"); done
	t0=$(now_ms)
	for r in "${roots[@]}"; do policy_load_at "$r" 150; done
	created() { [ "$(create_time)" != 0 ]; }
	wait_until 60 created || fail "no create with scale_out_window = ${w}s"
	tc=$(create_time)
	echo "policy_overload_to_create_ms_window_${w}s $(python3 -c 'import sys; print(int(float(sys.argv[1]) * 1000) - int(sys.argv[2]))' "$tc" "$t0")"
	clone=$(sim_state "next(str(d['id']) for d in s['droplets'] if d['id'] not in (${IDS[0]}, ${IDS[1]}))")
	ip=$(sim_state "next(d['sim']['public_ipv4'] for d in s['droplets'] if d['id'] == $clone)")
	reg() { [ "$(sim_state "'$ip' in www() and $clone in lb('$LB')")" = True ]; }
	wait_until 60 reg || fail "clone $clone never registered"
	t_reg=$(now_ms)
	echo "policy_create_to_registered_ms_window_${w}s $(python3 -c 'import sys; print(int(sys.argv[2]) - int(float(sys.argv[1]) * 1000))' "$tc" "$t_reg")"
	if [ "$w" = 2 ]; then
		victim=
		for id in "${IDS[@]}"; do [ "$id" != "$LEADER" ] && victim=$id; done
		vip=$(sim_state "next(d['sim']['public_ipv4'] for d in s['droplets'] if d['id'] == $victim)")
		t_kill=$(now_ms)
		kill -9 "$(sim_state "next(d['sim']['agent_pid'] for d in s['droplets'] if d['id'] == $victim)")"
		out() { [ "$(sim_state "'$vip' in www() or $victim in lb('$LB')")" = False ]; }
		wait_until 60 out || fail "the dead node stayed in rotation"
		echo "policy_crash_to_out_of_rotation_ms $(($(now_ms) - t_kill))"
		echo "do_lb_default_health_check_detection_ms 50000"
	fi
	sim_stop
}

echo "# the policy on the realism profile x${POLICY_TIME_SCALE:-0.05} (boot 60 s -> 3 s), load sampled every 500 ms"
run_window 2
run_window 5
