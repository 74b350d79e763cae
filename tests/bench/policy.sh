#!/usr/bin/env bash
# Scaling-policy figures with real agents on the simulator's realism profile
# (docs/policy.md "Figures", issue 13), printed as "name value" lines, each
# latency the median of POLICY_BENCH_REPS fresh clusters (default 3; the runs
# follow as a comment):
#   1. overload-to-create-call latency against scale_out_window (2 s and 5 s):
#      from writing the overload into both nodes' custom metric file to the
#      leader's POST /v2/droplets in the simulator's request log (target:
#      window + 1 s);
#   2. create-to-registered: from that POST to the leader's calls that put
#      the clone into DNS and on the load balancer (the later of the two), the
#      clone's simulated boot (create to active) and the difference (target:
#      1 s), and the API calls every agent made from the overload to then;
#   3. crash-to-out-of-rotation: kill -9 of a follower to its removal from DNS
#      and the load balancer, beside the ~50 s a DigitalOcean load balancer's
#      default health check takes (5 failures 10 s apart);
#   4. scale-in, step by step: idle -> marked draining -> out of DNS and the
#      LB -> asked to leave (dns_ttl + drain_timeout later) -> droplet DELETE
#      -> 404, and the API calls from the mark to the 404.
# Starts agents and a simulator: run `make bench` under flock /tmp/mitosis-it.lock.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
REPS=${POLICY_BENCH_REPS:-3}
export MITOSIS=$ROOT/$BUILD/mitosis BUILD_DIR=$ROOT/$BUILD
export MITOSIS_LOGDIR=${MITOSIS_LOGDIR:-$(mktemp -d /tmp/mitosis-bench-policy.XXXXXX)}
# shellcheck source=../integration/lib.sh
. "$ROOT/tests/integration/lib.sh"

now_ms() { date +%s%3N; }
# The simulator's request time (unix s, float) of the agents' first create.
create_time() {
	sim_state 'min([r["time"] for r in s["request_log"] if r["method"] == "POST" and r["path"].split("?")[0] == "/v2/droplets" and r.get("agent", "").startswith("mitosis/")] or [0])'
}
# api_calls FROM TO (unix ms): the agents' requests in [FROM, TO]: "N, mutating M:
# METHOD PATH xK, ..." (ids as N; a listing by its filter).
api_calls() {
	python3 - "$SIM_URL" "$1" "$2" <<'PY'
import collections, json, re, sys, urllib.request
s = json.load(urllib.request.urlopen(sys.argv[1] + "/_sim/state"))
lo, hi = float(sys.argv[2]) / 1000, (float(sys.argv[3]) + 1) / 1000  # ms given, rounded down
rs = [r for r in s["request_log"] if r.get("agent", "").startswith("mitosis/") and lo <= r["time"] <= hi]
def kind(r):
    path, _, q = r["path"].partition("?")
    path = re.sub(r"/[0-9a-f-]{8,}|/\d+", "/N", path)
    keys = sorted(k.split("=")[0] for k in q.split("&") if k and not k.startswith(("page=", "per_page=")))
    return "%s %s%s" % (r["method"], path, "?" + "&".join(keys) if keys else "")
by = collections.Counter(kind(r) for r in rs)
print("%d, mutating %d: %s" % (len(rs), sum(r["method"] != "GET" for r in rs),
                              ", ".join("%s x%d" % kv for kv in sorted(by.items(), key=lambda kv: -kv[1]))))
PY
}
# load_all VALUE ID...: the custom metric of each droplet, the roots read
# first so that LOAD_AT (ms) is the writes, not the simulator's answers.
load_all() {
	local v=$1 roots=() r id
	shift
	for id in "$@"; do roots+=("$(policy_root "$id")"); done
	LOAD_AT=$(now_ms)
	for r in "${roots[@]}"; do policy_load_at "$r" "$v"; done
}
median() { python3 -c 'import statistics, sys; print(int(statistics.median(int(x) for x in sys.argv[1:])))' "$@"; }
# figure NAME VALUES...: the median, and the runs as a comment.
figure() {
	local name=$1
	shift
	echo "$name $(median "$@")"
	echo "# $name runs: $*"
}

# overload W [CONF...]: a fresh 2-node cluster with scale_out_window W s, both
# nodes overloaded; sets OVL (ms to the create), TC (its time), T0 (the writes).
overload() {
	local w=$1
	shift
	rm -f "$T/cluster.key"
	policy_cluster 2 "scale_out_window = ${w}s" "scale_out_cooldown = 60s" "max_nodes = 3" "$@"
	LEADER=$(policy_leader)
	# warm-up (5 s from created_at) over, so only the window counts
	sleep 6
	load_all 150 "${IDS[@]}"
	T0=$LOAD_AT
	created() { [ "$(create_time)" != 0 ]; }
	wait_until 60 created || fail "no create with scale_out_window = ${w}s"
	TC=$(create_time)
	OVL=$(python3 -c 'import sys; print(int(float(sys.argv[1]) * 1000) - int(sys.argv[2]))' "$TC" "$T0")
}

# registered: waits for the clone in DNS and on the LB; sets CLONE, and from
# the simulator's clock: CTR (ms from the create to its A record and LB
# membership, the later of the two calls), BOOT (create to active) and CALLS
# (the agents' calls from the overload to then).
registered() {
	local ip t_reg
	CLONE=$(sim_state "next(str(d['id']) for d in s['droplets'] if d['id'] not in (${IDS[0]}, ${IDS[1]}))")
	ip=$(sim_state "next(d['sim']['public_ipv4'] for d in s['droplets'] if d['id'] == $CLONE)")
	reg() { [ "$(sim_state "'$ip' in www() and $CLONE in lb('$LB')")" = True ]; }
	wait_until 60 reg || fail "clone $CLONE never registered"
	read -r t_reg BOOT < <(python3 - "$SIM_URL" "$CLONE" "$TC" <<'PY'
import json, sys, urllib.request
s = json.load(urllib.request.urlopen(sys.argv[1] + "/_sim/state"))
clone, tc = sys.argv[2], float(sys.argv[3])
act = next(e["time"] for e in s["events"] if e["message"].startswith("droplet %s active" % clone))
def first(pred):
    return min(r["time"] for r in s["request_log"] if r["method"] == "POST" and r["time"] > act and
               r["status"] < 300 and r.get("agent", "").startswith("mitosis/") and pred(r["path"].split("?")[0]))
dns = first(lambda p: p.startswith("/v2/domains/") and p.endswith("/records"))
lb = first(lambda p: p.startswith("/v2/load_balancers/") and p.endswith("/droplets"))
print("%d %d" % (1000 * max(dns, lb), 1000 * (act - tc)))
PY
)
	CTR=$(python3 -c 'import sys; print(int(sys.argv[2]) - int(float(sys.argv[1]) * 1000))' "$TC" "$t_reg")
	CALLS=$(api_calls "$T0" "$t_reg")
}

crash() {
	local victim= vip t_kill id
	for id in "${IDS[@]}"; do [ "$id" != "$LEADER" ] && victim=$id; done
	vip=$(sim_state "next(d['sim']['public_ipv4'] for d in s['droplets'] if d['id'] == $victim)")
	t_kill=$(now_ms)
	kill -9 "$(sim_state "next(d['sim']['agent_pid'] for d in s['droplets'] if d['id'] == $victim)")"
	out() { [ "$(sim_state "'$vip' in www() or $victim in lb('$LB')")" = False ]; }
	wait_until 60 out || fail "the dead node stayed in rotation"
	echo "policy_crash_to_out_of_rotation_ms $(($(now_ms) - t_kill))"
	echo "do_lb_default_health_check_detection_ms 50000"
}

# scale_in: the three nodes go idle; prints the steps of the one retire.
scale_in() {
	local t_idle log
	log=$(policy_root "$LEADER")/var/log/dosim/agent.log
	load_all 10 "${IDS[@]}" "$CLONE"
	t_idle=$LOAD_AT
	two() { [ "$(policy_count)" = 2 ]; }
	wait_secs 120 two || fail "no scale-in to 2: $(policy_count) droplets"
	gone() { [ "$(sim_state "len([r for r in s['request_log'] if r['status'] == 404 and r['method'] == 'GET' and r['path'].startswith('/v2/droplets/') and r.get('agent', '').startswith('mitosis/')])")" -ge 1 ]; }
	wait_secs 60 gone || fail "the victim's delete never reached 404"
	cp "$log" "$LOG/scale-in-leader.log"
	curl -sf -m 5 "$SIM_URL/_sim/state" >"$LOG/scale-in-state.json"
	python3 - "$LOG/scale-in-state.json" "$LOG/scale-in-leader.log" "$t_idle" >"$T/scale-in.txt" <<'PY' ||
import datetime, json, sys
s = json.load(open(sys.argv[1]))
lines = open(sys.argv[2]).read().splitlines()
t_idle = int(sys.argv[3]) / 1000
def at(line): return datetime.datetime.fromisoformat(line.split()[0].replace("Z", "+00:00")).timestamp()
def when(pred, what):
    for l in lines:
        if pred(l):
            return at(l)
    sys.exit("scale-in: no line for %s in the leader's log" % what)
mark = next(l for l in lines if "marked draining" in l)
victim = mark.split("node ", 1)[1].split()[0]
t_mark = at(mark)
t_ask = when(lambda l: "node %s asked to leave" % victim in l, "asked to leave")
t_left = when(lambda l: ("member %s " % victim) in l and l.rstrip().split("(")[0].strip().endswith("-> left"), "left")
rl = [r for r in s["request_log"] if r.get("agent", "").startswith("mitosis/")]
def req(pred, what):
    for r in rl:
        if pred(r):
            return r["time"]
    sys.exit("scale-in: no %s in the request log" % what)
t_dns = req(lambda r: r["method"] == "DELETE" and "/records/" in r["path"] and r["time"] >= t_mark, "record DELETE")
t_lb = req(lambda r: r["method"] == "DELETE" and r["path"].startswith("/v2/load_balancers/") and r["time"] >= t_mark, "LB member DELETE")
t_del = req(lambda r: r["method"] == "DELETE" and r["path"] == "/v2/droplets/" + victim, "droplet DELETE")
t_404 = req(lambda r: r["status"] == 404 and r["path"] == "/v2/droplets/" + victim and r["time"] >= t_del, "404")
t_out = max(t_dns, t_lb)
assert t_mark < t_out < t_ask < t_left < t_del < t_404, (t_mark, t_out, t_ask, t_left, t_del, t_404)
ms = lambda a, b: int((b - a) * 1000)
print("policy_scale_in_idle_to_draining_ms %d" % ms(t_idle, t_mark))
print("policy_scale_in_draining_to_out_of_rotation_ms %d" % ms(t_mark, t_out))
print("policy_scale_in_out_of_rotation_to_leave_ms %d" % ms(t_out, t_ask))
print("policy_scale_in_leave_to_left_ms %d" % ms(t_ask, t_left))
print("policy_scale_in_left_to_delete_ms %d" % ms(t_left, t_del))
print("policy_scale_in_delete_to_gone_ms %d" % ms(t_del, t_404))
print("policy_scale_in_api_calls %d" % len([r for r in rl if t_mark <= r["time"] <= t_404]))
print("span %d %d %s" % (t_mark * 1000, t_404 * 1000, victim))
PY
		fail "scale-in: $(cat "$T/scale-in.txt")"
	grep -v '^span ' "$T/scale-in.txt"
	read -r _ lo hi victim < <(grep '^span ' "$T/scale-in.txt")
	echo "# policy_scale_in_api_calls (victim $victim, from its mark to its 404): $(api_calls "$lo" "$hi")"
}

echo "# the policy on the realism profile x${POLICY_TIME_SCALE:-0.05} (boot 60 s -> 3 s), load sampled every 500 ms, $REPS runs each"
for w in 2 5; do
	ovl=() ctr=() boot=() after=()
	for ((rep = 1; rep <= REPS; rep++)); do
		if [ "$w" = 5 ] && [ "$rep" = "$REPS" ]; then
			overload "$w" "scale_in_window = 3s" "scale_in_cooldown = 0" "billing_hold = no" "min_nodes = 2" \
				"retire_leave_timeout = 20s"
		else
			overload "$w"
		fi
		registered
		ovl+=("$OVL") ctr+=("$CTR") boot+=("$BOOT") after+=("$((CTR - BOOT))")
		[ "$rep" = "$REPS" ] && echo "# window ${w}s, run $rep: API calls from the overload to the clone in rotation: $CALLS"
		if [ "$rep" = "$REPS" ] && [ "$w" = 2 ]; then crash; fi
		if [ "$rep" = "$REPS" ] && [ "$w" = 5 ]; then scale_in; fi
		for id in $(sim_state '" ".join(str(d["id"]) for d in s["droplets"])'); do
			cp "$(policy_root "$id")/var/log/dosim/agent.log" "$LOG/window${w}s-run$rep-agent-$id.log" 2>/dev/null || true
		done
		sim_stop
	done
	figure "policy_overload_to_create_ms_window_${w}s" "${ovl[@]}"
	figure "policy_create_to_registered_ms_window_${w}s" "${ctr[@]}"
	figure "policy_clone_boot_ms_window_${w}s" "${boot[@]}"
	figure "policy_active_to_registered_ms_window_${w}s" "${after[@]}"
done
