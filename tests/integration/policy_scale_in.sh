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
four_in() { [ "$(sim_state 'len(www())')" = 4 ] && [ "$(sim_state "len(lb('$LB'))")" = 4 ]; }
wait_until 40 four_in || fail "the four droplets are not in rotation: dns $(sim_state 'www()')"
say "$LEADER leads, $PROTECTED is protected (tag); the load drops to 10 everywhere"
for id in "${IDS[@]}"; do policy_load "$id" 10; done

draining_seen() {
	"$MITOSIS" members --json -s "$(policy_sock "$LEADER")" 2>/dev/null |
		python3 -c 'import json,sys; sys.exit(0 if sum(bool(m.get("draining")) for m in json.load(sys.stdin)) >= 1 else 1)' 2>/dev/null
}
wait_until 40 draining_seen || fail "no node shown draining by mitosis members"
"$MITOSIS" members -s "$(policy_sock "$LEADER")" >"$LOG/members.txt"
grep -q "^draining: " "$LOG/members.txt" || fail "mitosis members (text) does not say draining"
say "mitosis members shows: $(grep '^draining' "$LOG/members.txt" | head -n 1)"

two() { [ "$(policy_count)" = 2 ]; }
wait_until 90 two || fail "no scale-in to min_nodes: $(policy_count) droplets"
mapfile -t LEFT < <(sim_state '"\n".join(str(d["id"]) for d in s["droplets"])')
for id in "$LEADER" "$PROTECTED"; do
	printf '%s\n' "${LEFT[@]}" | grep -qx "$id" || fail "$id (leader or protected) was retired"
done
say "scaled in to ${LEFT[*]}: the leader and the protected node stay"

python3 - "$SIM_URL" "$LB" "$(policy_root "$LEADER")/var/log/dosim/agent.log" "${IDS[@]}" "$LEADER" "$PROTECTED" <<'PY' || fail "scale-in order"
import json, sys, urllib.request
url, lb, log = sys.argv[1:4]
ids, leader, protected = sys.argv[4:8], sys.argv[8], sys.argv[9]
s = json.load(urllib.request.urlopen(url + "/_sim/state"))
req = [r for r in s["request_log"] if r.get("agent", "").startswith("mitosis/")]
lines = open(log).read().splitlines()
def first(pred, seq):
    return next((i for i, x in enumerate(seq) if pred(x)), None)
for v in ids:
    if v in (leader, protected):
        continue
    dele = first(lambda r: r["method"] == "DELETE" and r["path"] == "/v2/droplets/" + v, req)
    lbout = first(lambda r: r["method"] == "DELETE" and r["path"].startswith("/v2/load_balancers/%s/droplets" % lb) and v in json.dumps(r), req)
    assert dele is not None, "victim %s never deleted" % v
    dns = [i for i, r in enumerate(req) if r["method"] == "DELETE" and "/records/" in r["path"]]
    assert dns and min(dns) < dele, "no DNS record removed before deleting %s" % v
    assert lbout is None or lbout < dele, "LB removal after the delete of %s" % v
    mark = first(lambda l: "node %s marked draining" % v in l, lines)
    ask = first(lambda l: "node %s asked to leave" % v in l, lines)
    out = first(lambda l: "node %s taken out of rotation" % v in l, lines)
    left = first(lambda l: ("member %s " % v) in l and l.rstrip().split("(")[0].strip().endswith("-> left"), lines)
    gone = first(lambda l: "deleting droplet %s" % v in l, lines)
    assert None not in (mark, ask, out, left, gone), (v, mark, ask, out, left, gone)
    assert mark < ask and out < ask < left < gone, "order for %s: mark %s out %s ask %s left %s delete %s" % (v, mark, out, ask, left, gone)
    d = [x for x in s["droplets"] if str(x["id"]) == v]
    assert not d, "%s still listed" % v
print("order ok")
PY
say "each victim: marked draining, out of DNS and the LB, asked to leave, left the gossip by itself, then deleted"
sleep 3
[ "$(policy_count)" = 2 ] || fail "below min_nodes or a clone after the scale-in: $(policy_count)"
