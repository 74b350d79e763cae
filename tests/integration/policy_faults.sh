#!/usr/bin/env bash
# timeout: 220
# Issue 13, test 6: 20% of the API calls fail through a scale-out and a
# scale-in. Two droplets of the policy's snapshot (realism profile) are
# overloaded (175 against a target of 100), then idle; every /v2 request
# has a 20% chance of failing, in four equal shares: 500 before the
# endpoint runs, 500 after it ran (the create happened, its answer is
# lost), 429 with retry-after, and a timeout after it ran (held past
# api_timeout). The end state must be the one without faults: scaled out
# to 4, then back to min_nodes = 2; each remaining droplet once in DNS and
# on the load balancer, nothing of a deleted droplet left in either; no
# droplet billed but the two (no leak, none doubled and kept).
. "$(dirname "$0")/lib.sh"

policy_cluster 2 "scale_out_window = 3s" "scale_out_cooldown = 5s" "scale_in_window = 3s" \
	"scale_in_cooldown = 0" "billing_hold = no" "min_nodes = 2" "max_nodes = 4" \
	"retire_leave_timeout = 20s" "api_timeout = 3s"
LEADER=$(policy_leader)
wait_secs 40 policy_in_rotation 2 || fail "the two droplets are not in rotation: dns $(sim_state 'www()')"
sim_post /_sim/faults '{"rules": [{"path": "/v2/*", "error": 500, "rate": 0.05},
	{"path": "/v2/*", "error": 500, "after": true, "rate": 0.0526},
	{"path": "/v2/*", "error": 429, "retry_after": 1, "rate": 0.0556},
	{"path": "/v2/*", "error": "timeout", "after": true, "hold": 4, "rate": 0.0588}], "seed": 6}' ||
	fail "could not set the faults"
say "$LEADER leads; 20% of API calls fail from now on; the load rises to 175 on both"

for id in "${IDS[@]}"; do policy_load "$id" 175; done
T0=$(date +%s)
four() { [ "$(policy_count)" = 4 ] && policy_in_rotation 4; }
wait_secs 90 four || fail "no scale-out to 4 in rotation: $(policy_count) droplets, dns $(sim_state 'www()') lb $(sim_state "lb('$LB')")"
say "scaled out to 4, in DNS and on the LB, $(($(date +%s) - T0)) s after the overload began"

for id in $(sim_state '" ".join(str(d["id"]) for d in s["droplets"])'); do policy_load "$id" 10; done
T0=$(date +%s)
two() { [ "$(sim_state 'sum(1 for c in s["cost"]["droplets"] if c["alive"])')" = 2 ] && policy_in_rotation 2; }
wait_secs 120 two || fail "no scale-in to 2: billed $(sim_state '[c["droplet_id"] for c in s["cost"]["droplets"] if c["alive"]]'), dns $(sim_state 'www()') lb $(sim_state "lb('$LB')")"
say "scaled in to 2 $(($(date +%s) - T0)) s after the load dropped"

# Quiet for a few reconciles: still 2, and the end state holds.
sleep 6
billed=$(policy_rotation_is_billed) || fail "end state: rotation and billing differ"
[ "$(wc -w <<<"$billed")" = 2 ] && grep -qw "$LEADER" <<<"$billed" || fail "billed now: $billed (leader $LEADER)"
dups=$(sim_eval 'sum(n - 1 for n in collections.Counter(c["name"] for c in s["cost"]["droplets"]).values())')
faults=$(sim_eval 'len([r for r in s["request_log"] if r.get("fault")])')
mutating=$(sim_eval 'len([r for r in s["request_log"] if r.get("fault") and r["method"] in ("POST", "PUT", "DELETE")])')
say "$(sim_eval 'len(s["cost"]["droplets"])') droplets billed in all, $dups doubled by a lost answer (deleted again), $faults faults injected ($mutating on mutating calls)"
[ "$faults" -gt 0 ] || fail "no fault was injected"
say "end state: 2 droplets, each once in DNS and on the LB, nothing else billed"
