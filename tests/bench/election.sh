#!/usr/bin/env bash
# Election figures (docs/election.md "Measured", docs/benchmarks.md), printed
# as "name value" lines:
#   1. from the deterministic simulator at N = 100 (build/dst elect bench):
#      election messages and bytes per failover, steady heartbeat bytes;
#   2. failover with real processes: ELECT_KILLS (20) kill -9 of the leader of
#      five agents at the defaults, from the kill to the new leader's lease
#      (its "lease held" log line): median, p99, max;
#   3. steady-state election bytes per node, real processes (the five, 30 s);
#   4. API calls per hour at steady state with ELECT_API_N (100) agents, the
#      do-dns and do-lb registrars and reconcile_interval at its default, in
#      tests/cloudsim, counted over ELECT_API_SECS (180) seconds.
# Starts agents and a simulator: run `make bench` under flock /tmp/mitosis-it.lock.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
export MITOSIS=$ROOT/$BUILD/mitosis BUILD_DIR=$ROOT/$BUILD
export MITOSIS_LOGDIR=${MITOSIS_LOGDIR:-$(mktemp -d /tmp/mitosis-bench-election.XXXXXX)}
KILLS=${ELECT_KILLS:-20}
APIN=${ELECT_API_N:-100}
APISECS=${ELECT_API_SECS:-180}
# shellcheck source=../integration/lib.sh
. "$ROOT/tests/integration/lib.sh"

echo "# 1. the simulator at N = 100 (build/dst elect bench -n 100 -t 20)"
"$ROOT/$BUILD/dst" elect bench -n 100 -t 20 2>/dev/null |
	grep -E '^(failover_ms|failover_election|failover_heartbeat|failover_announce|steady_heartbeat|steady_announce)'

echo "# 2. failover, real processes: $KILLS kill -9 of the leader of 5 agents at the defaults"
make_keyring "$T/cluster.key"
SEEDS=127.0.76.1
# Indices 101..105 (node ids 1101..1105): their files never meet part 4's.
FIVE=(101 102 103 104 105)
IDS=()
for i in "${FIVE[@]}"; do
	start_node "$i" "127.0.76.$((i - 100))" "bootstrap_expect = 5" "bootstrap_settle = 1s"
	IDS[$i]=$((1000 + i))
done
wait_until 40 agreed_leader "${FIVE[@]}" || fail "no leader among the five"
: >"$T/failover.ms"
for ((k = 0; k < KILLS; k++)); do
	wait_until 30 agreed_leader "${FIVE[@]}" || fail "no agreed leader before kill $k"
	L=$LEADER_I
	REST=()
	for i in "${FIVE[@]}"; do [ "$i" = "$L" ] || REST+=("$i"); done
	t_kill=$(date +%s.%N)
	kill -9 "${NODE_PID[$L]}"
	wait "${NODE_PID[$L]}" 2>/dev/null || true
	other_leads() { agreed_leader "${REST[@]}" && [ "$LEADER_I" != "$L" ]; }
	wait_until 30 other_leads || fail "no new leader after kill $k"
	t_lead=$(log_time "$LOG/n$LEADER_I.log" "election: lease held: this node may act in term $LEADER_TERM")
	python3 -c "print(int((float('$t_lead') - float('$t_kill')) * 1000))" >>"$T/failover.ms"
	spawn "n$L" "$MITOSIS" agent -c "$T/n$L.conf"
	NODE_PID[$L]=$LAST_PID
done
python3 - "$T/failover.ms" <<'PY'
import sys
v = sorted(int(x) for x in open(sys.argv[1]))
p99 = v[min(len(v) - 1, int(round(0.99 * (len(v) - 1))))]
print("failover_real_ms median %d p99 %d max %d min %d (%d kills; bound lease + 2 s = 5000)"
      % (v[len(v) // 2], p99, v[-1], v[0], len(v)))
PY

echo "# 3. steady-state election bytes, real processes (5 voters, 30 s)"
wait_until 30 agreed_leader "${FIVE[@]}" || fail "no leader for the steady state"
sleep 5
stats() { for i in "${FIVE[@]}"; do leader_json "$i" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["role"], d["stats"]["msgs_out"], d["stats"]["bytes_out"])'; done; }
stats >"$T/s0"
sleep 30
stats >"$T/s1"
python3 - "$T/s0" "$T/s1" <<'PY'
import sys
a = [l.split() for l in open(sys.argv[1])]
b = [l.split() for l in open(sys.argv[2])]
rate = []
for (r0, m0, b0), (r1, m1, b1) in zip(a, b):
    # the 46-byte envelope (header 30 + tag 16) around each message
    rate.append((r1, ((int(b1) - int(b0)) + 46 * (int(m1) - int(m0))) / 30.0))
lead = [x for r, x in rate if r == "leader"]
foll = [x for r, x in rate if r != "leader"]
print("steady_real_bytes_per_s leader %.0f, follower voters %.0f each (mean), all 5 voters %.0f; "
      "at N = 100 that is %.1f B/s per node (non-voters send none)"
      % (sum(lead), sum(foll) / max(1, len(foll)), sum(x for _, x in rate), sum(x for _, x in rate) / 100))
PY
for i in "${FIVE[@]}"; do kill -TERM "${NODE_PID[$i]}" 2>/dev/null || true; done
for i in "${FIVE[@]}"; do wait_exit "${NODE_PID[$i]}" 15 || true; done

IDS=()
echo "# 4. API calls at steady state, $APIN agents in tests/cloudsim (do-dns, do-lb, reconcile_interval 60s)"
sim_start --boot-delay 0.2 --quiet
LB=$(sim_lb web)
elect_droplets "$APIN"
for ((i = 0; i < APIN; i++)); do
	if [ "$i" -lt 5 ]; then
		elect_start "$i" 127.0.77 "bootstrap_expect = 5" "bootstrap_settle = 1s"
	else
		elect_start "$i" 127.0.77
	fi
done
all_in() { [ "$(sim_state 'len(www())')" = "$APIN" ] && [ "$(sim_state "len(lb('$LB'))")" = "$APIN" ]; }
wait_until 240 all_in || fail "not all $APIN in rotation: $(sim_state 'len(www())') in DNS"
t_up=$(date +%s.%N)
boot=$(sim_state "sum(1 for r in s['request_log'] if r.get('agent', '').startswith('mitosis/'))")
echo "api_calls_to_full_rotation $boot (one discovery-free start of $APIN agents: the leader's office, then one registration per node)"
sleep "$APISECS"
python3 - "$SIM_URL" "$t_up" "$APISECS" "$APIN" <<'PY'
import collections, json, sys, urllib.request
url, t0, secs, n = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
log = json.load(urllib.request.urlopen(url + "/_sim/state"))["request_log"]
win = [r for r in log if r.get("agent", "").startswith("mitosis/") and t0 <= r["time"] < t0 + secs]
nodes = collections.Counter(r["agent"].split()[1] for r in win)
kinds = collections.Counter(r["method"] + " " + r["path"].split("?")[0].rsplit("/", 1)[0] for r in win)
print("api_calls_per_hour_n%d %.0f (%d calls in %.0f s, from %d node%s: %s)"
      % (n, len(win) * 3600.0 / secs, len(win), secs, len(nodes), "" if len(nodes) == 1 else "s",
         ", ".join("%s %d" % kv for kv in sorted(kinds.items()))))
PY
