#!/usr/bin/env bash
# timeout: 180
# Issue 13, test 2: idle -> scale-in to min_nodes, gently. Four droplets of
# the policy's snapshot (realism profile), one of them tagged mitosis-protect,
# all idle (10 against a target of 100). After scale_in_window the leader
# retires the two nodes that are neither itself nor protected: each is marked
# draining (gossiped, shown by `mitosis members`), taken out of DNS and the
# load balancer, waited dns_ttl + drain_timeout, asked to leave the gossip
# (its agent exits 0: a graceful leave), and only then deleted. The order is
# checked in the simulator's request log and in the leader's log.
. "$(dirname "$0")/lib.sh"

policy_cluster 4 "scale_in_window = 3s" "scale_in_cooldown = 0" "billing_hold = no" "min_nodes = 2" "retire_leave_timeout = 20s"
LEADER=$(policy_leader)
PROTECTED=
for id in "${IDS[@]}"; do [ "$id" != "$LEADER" ] && PROTECTED=$id && break; done
sim_api POST /v2/tags '{"name":"mitosis-protect"}' >/dev/null || true
sim_api POST /v2/tags/mitosis-protect/resources "{\"resources\":[{\"resource_id\":\"$PROTECTED\",\"resource_type\":\"droplet\"}]}" >/dev/null ||
	fail "could not tag $PROTECTED mitosis-protect"
wait_secs 40 policy_in_rotation 4 || fail "the four droplets are not in rotation: dns $(sim_state 'www()')"
say "$LEADER leads, $PROTECTED is protected (tag); the load drops to 10 everywhere"
# Who is in rotation, every 0.3 s, to check that no victim is deleted while in it.
python3 - "$SIM_URL" "$T/rotation.jsonl" <<'PY' &
import json, sys, time, urllib.request
url, out = sys.argv[1:3]
end = time.time() + 150
with open(out, "a") as f:
    while time.time() < end:
        try:
            s = json.load(urllib.request.urlopen(url + "/_sim/state", timeout=5))
            www = [r["data"] for r in s["domains"]["example.com"]["records"] if r["type"] == "A" and r["name"] == "www"]
            lb = [i for l in s["load_balancers"] for i in l["droplet_ids"]]
            f.write(json.dumps({"t": time.time(), "www": www, "lb": lb}) + "\n")
            f.flush()
        except Exception:
            pass
        time.sleep(0.3)
PY
PIDS+=("$!")
sim_state '"\n".join("%d %s" % (d["id"], d["sim"]["public_ipv4"]) for d in s["droplets"])' >"$T/ips.txt"
for id in "${IDS[@]}"; do policy_load "$id" 10; done

draining_seen() {
	"$MITOSIS" members --json -s "$(policy_sock "$LEADER")" 2>/dev/null |
		python3 -c 'import json,sys; sys.exit(0 if sum(bool(m.get("draining")) for m in json.load(sys.stdin)) >= 1 else 1)' 2>/dev/null
}
wait_secs 40 draining_seen || fail "no node shown draining by mitosis members"
"$MITOSIS" members -s "$(policy_sock "$LEADER")" >"$LOG/members.txt"
grep -q "^draining: " "$LOG/members.txt" || fail "mitosis members (text) does not say draining"
say "mitosis members shows: $(grep '^draining' "$LOG/members.txt" | head -n 1)"

two() { [ "$(policy_count)" = 2 ]; }
wait_secs 90 two || fail "no scale-in to min_nodes: $(policy_count) droplets"
mapfile -t LEFT < <(sim_state '"\n".join(str(d["id"]) for d in s["droplets"])')
for id in "$LEADER" "$PROTECTED"; do
	printf '%s\n' "${LEFT[@]}" | grep -qx "$id" || fail "$id (leader or protected) was retired"
done
say "scaled in to ${LEFT[*]}: the leader and the protected node stay"

python3 - "$SIM_URL" "$T/rotation.jsonl" "$T/ips.txt" "$(policy_root "$LEADER")/var/log/dosim/agent.log" "${IDS[@]}" "$LEADER" "$PROTECTED" <<'PY' || fail "scale-in order"
import datetime, json, sys, urllib.request
url, rot, ipf, log = sys.argv[1:5]
ids, leader, protected = sys.argv[5:9], sys.argv[9], sys.argv[10]
ips = dict(l.split() for l in open(ipf) if l.strip())
s = json.load(urllib.request.urlopen(url + "/_sim/state"))
seen = [json.loads(l) for l in open(rot)]
lines = open(log).read().splitlines()
def first(pred, seq):
    return next((i for i, x in enumerate(seq) if pred(x)), None)
for v in ids:
    if v in (leader, protected):
        continue
    dele = [r["time"] for r in s["request_log"] if r["method"] == "DELETE" and r["path"] == "/v2/droplets/" + v
            and r.get("agent", "").startswith("mitosis/")]
    assert dele, "victim %s never deleted by the leader" % v
    mark = first(lambda l: "node %s marked draining" % v in l, lines)
    ask = first(lambda l: "node %s asked to leave" % v in l, lines)
    left = first(lambda l: ("member %s " % v) in l and l.rstrip().split("(")[0].strip().endswith("-> left"), lines)
    gone = first(lambda l: "deleting droplet %s" % v in l, lines)
    assert None not in (mark, ask, left, gone), (v, mark, ask, left, gone)
    assert mark < ask < left < gone, "order for %s: mark %s ask %s left %s delete %s" % (v, mark, ask, left, gone)
    # Its last moment in DNS or on the LB comes before its delete, and before it was asked to leave.
    inside = [r["t"] for r in seen if int(v) in r["lb"] or ips[v] in r["www"]]
    assert inside, "the watcher never saw %s in rotation" % v
    assert max(inside) < min(dele), "%s deleted while in rotation (%.1f s before it left)" % (v, max(inside) - min(dele))
    asked = datetime.datetime.fromisoformat(lines[ask].split()[0].replace("Z", "+00:00")).timestamp()
    assert max(inside) < asked, "%s asked to leave while still in rotation" % v
    print("victim %s: out of DNS and the LB %.1f s before its delete; marked, asked to leave, left, then deleted"
          % (v, min(dele) - max(inside)))
PY
say "each victim: marked draining, out of DNS and the LB, asked to leave, left the gossip by itself, then deleted"
sleep 3
[ "$(policy_count)" = 2 ] || fail "below min_nodes or a clone after the scale-in: $(policy_count)"
