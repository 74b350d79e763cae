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
in_rotation() { [ "$(sim_state 'len(www())')" = "$1" ] && [ "$(sim_state "len(lb('$LB'))")" = "$1" ]; }
wait_secs 40 in_rotation 2 || fail "the two droplets are not in rotation: dns $(sim_state 'www()')"
sim_post /_sim/faults '{"rules": [{"path": "/v2/*", "error": 500, "rate": 0.05},
	{"path": "/v2/*", "error": 500, "after": true, "rate": 0.0526},
	{"path": "/v2/*", "error": 429, "retry_after": 1, "rate": 0.0556},
	{"path": "/v2/*", "error": "timeout", "after": true, "hold": 4, "rate": 0.0588}], "seed": 6}' ||
	fail "could not set the faults"
say "$LEADER leads; 20% of API calls fail from now on; the load rises to 175 on both"

for id in "${IDS[@]}"; do policy_load "$id" 175; done
T0=$(date +%s)
four() { [ "$(policy_count)" = 4 ] && in_rotation 4; }
wait_secs 90 four || fail "no scale-out to 4 in rotation: $(policy_count) droplets, dns $(sim_state 'www()') lb $(sim_state "lb('$LB')")"
say "scaled out to 4, in DNS and on the LB, $(($(date +%s) - T0)) s after the overload began"

for id in $(sim_state '" ".join(str(d["id"]) for d in s["droplets"])'); do policy_load "$id" 10; done
T0=$(date +%s)
two() { [ "$(sim_state 'sum(1 for c in s["cost"]["droplets"] if c["alive"])')" = 2 ] && in_rotation 2; }
wait_secs 120 two || fail "no scale-in to 2: billed $(sim_state '[c["droplet_id"] for c in s["cost"]["droplets"] if c["alive"]]'), dns $(sim_state 'www()') lb $(sim_state "lb('$LB')")"
say "scaled in to 2 $(($(date +%s) - T0)) s after the load dropped"

# Quiet for a few reconciles: still 2, and the end state holds.
sleep 6
python3 - "$SIM_URL" "$LB" "$LEADER" <<'PY' || fail "end state"
import collections, json, sys, urllib.request
url, lb, leader = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = json.load(urllib.request.urlopen(url + "/_sim/state"))
alive = sorted(c["droplet_id"] for c in s["cost"]["droplets"] if c["alive"])
listed = {d["id"]: d for d in s["droplets"]}
assert len(alive) == 2 and leader in alive, "billed now: %s (leader %d)" % (alive, leader)
www = [r["data"] for r in s["domains"]["example.com"]["records"] if r["type"] == "A" and r["name"] == "www"]
ips = sorted(listed[i]["sim"]["public_ipv4"] for i in alive)
assert sorted(www) == ips, "DNS holds %s, the droplets are %s" % (www, ips)
members = [i for l in s["load_balancers"] if l["id"] == lb for i in l["droplet_ids"]]
assert sorted(members) == alive, "the LB holds %s, the droplets are %s" % (members, alive)
names = collections.Counter(c["name"] for c in s["cost"]["droplets"])
dups = sum(n - 1 for n in names.values())
faults = [r for r in s["request_log"] if r.get("fault")]
mutating = [r for r in faults if r["method"] in ("POST", "PUT", "DELETE")]
print("%d droplets billed in all, %d doubled by a lost answer (deleted again), %d faults injected (%d on mutating calls)"
      % (len(s["cost"]["droplets"]), dups, len(faults), len(mutating)))
assert faults, "no fault was injected"
PY
say "end state: 2 droplets, each once in DNS and on the LB, nothing else billed"
