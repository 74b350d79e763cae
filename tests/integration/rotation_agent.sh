#!/usr/bin/env bash
# Running agents are put into rotation by their leader (issue 11: only the
# leader calls the API and the registrars): two agents with registrars do-dns
# and do-lb (against the simulator) found a cluster (bootstrap_expect = 2: one
# voter, which leads) and the leader gives each one A record under
# www.example.com and a place on the load balancer, every mutating call
# carrying its term and an operation id; the follower makes no API call. A
# graceful stop of the follower: the leader takes it out of DNS and the load
# balancer when it gossips LEFT, before its process exits. A graceful stop of
# the leader, alone (with leave_timeout = 0): nobody to hand over to, so it
# takes itself out of rotation under its lease, then leaves. Prints the time
# from gossip start to "in rotation".
. "$(dirname "$0")/lib.sh"

sim_start
make_keyring "$T/cluster.key"
sim_api POST /v2/droplets '{"names":["web-a","web-b"],"region":"nyc3","size":"s-1vcpu-1gb","image":"debian-12-x64"}' >/dev/null
both_active() { [ "$(sim_state 'sum(d["status"] == "active" for d in s["droplets"])')" = 2 ]; }
wait_until 10 both_active || fail "droplets did not become active"
mapfile -t IDS < <(sim_state '"\n".join(str(d["id"]) for d in s["droplets"])')
mapfile -t IPS < <(sim_state '"\n".join(d["sim"]["public_ipv4"] for d in s["droplets"])')
LB=$(sim_lb web)

for i in 0 1; do
	rotation_config "$T/n$i.conf" "$T/cluster.key" "$LB" <<EOF
node_id = ${IDS[$i]}
hostname = web-$i
public_ipv4 = ${IPS[$i]}
private_ipv4 = 127.0.60.$((i + 1))
seeds = 127.0.60.1
bootstrap_expect = 2
bootstrap_settle = 1s
$([ "$i" -eq 0 ] && echo "leave_timeout = 0")
EOF
	spawn "n$i" "$MITOSIS" agent -c "$T/n$i.conf"
	NODE_PID[$i]=$LAST_PID
done

in_rotation() {
	[ "$(sim_state 'www()')" = "$(python3 -c 'import sys; print(sorted(sys.argv[1:]))' "${IPS[@]}")" ] &&
		[ "$(sim_state "lb('$LB')")" = "$(python3 -c 'import sys; print(sorted(int(x) for x in sys.argv[1:]))' "${IDS[@]}")" ]
}
wait_until 25 in_rotation || fail "not in rotation: dns $(sim_state 'www()') lb $(sim_state "lb('$LB')")"
# The one voter leads: the lower id founds the cluster's voter set.
L=0
F=1
[ "${IDS[1]}" -lt "${IDS[0]}" ] && L=1 && F=0
wait_for "$LOG/n$L.log" 5 "leader: registrars reconciled in term" || fail "n$L did not log the reconcile"
TERM1=$(grep -m1 -oE "registrars reconciled in term [0-9]+" "$LOG/n$L.log" | grep -oE "[0-9]+$")
ms=$(python3 - "$LOG/n$L.log" <<'PY'
import sys, datetime
t = {}
for line in open(sys.argv[1]):
    for key in ("gossip: advertising", "leader: registrars reconciled"):
        if key in line and key not in t:
            t[key] = datetime.datetime.strptime(line[:23], "%Y-%m-%dT%H:%M:%S.%f")
print(int((t["leader: registrars reconciled"] - t["gossip: advertising"]).total_seconds() * 1000))
PY
)
say "the leader n$L put both into DNS and the load balancer ${ms} ms after its gossip started (bootstrap, election and API calls included)"
calls=$(sim_state "[r['agent'] for r in s['request_log'] if r.get('agent', '').startswith('mitosis/')]")
python3 - "$calls" "${IDS[$L]}" "$TERM1" <<'PY' || fail "API calls not all the leader's, with its term: $calls"
import ast, sys
agents, leader, term = ast.literal_eval(sys.argv[1]), sys.argv[2], sys.argv[3]
assert agents, "no API call at all"
for a in agents:
    assert ("node=%s" % leader) in a.split(), a
ops = [a for a in agents if " op=" in a]
assert ops and all(("term=%s" % term) in a.split() for a in ops), ops
assert len(set(ops)) == len(ops), ops
PY
say "every API call was the leader's; each mutating one carried term $TERM1 and its own op id"

# A graceful stop of the follower: the leader takes it out at its LEFT.
kill -TERM "${NODE_PID[$F]}"
wait_exit "${NODE_PID[$F]}" 15 || fail "n$F did not stop"
[ "$EXIT_CODE" -eq 0 ] || fail "n$F exited $EXIT_CODE"
wait_for "$LOG/n$L.log" 5 "leader: node ${IDS[$F]} taken out of rotation (term $TERM1)" ||
	fail "the leader did not deregister n$F: $(tail -3 "$LOG/n$L.log")"
[ "$(sim_state 'www()')" = "['${IPS[$L]}']" ] || fail "DNS after n$F left: $(sim_state 'www()')"
[ "$(sim_state "lb('$LB')")" = "[${IDS[$L]}]" ] || fail "LB after n$F left: $(sim_state "lb('$LB')")"
left_at=$(grep -m1 -F "gossip: leaving the cluster" "$LOG/n$F.log" | cut -c1-23)
out_at=$(grep -m1 -F "leader: node ${IDS[$F]} taken out of rotation" "$LOG/n$L.log" | cut -c1-23)
stop_at=$(grep -m1 -F "stopped (exit 0)" "$LOG/n$F.log" | cut -c1-23)
[[ "$left_at" < "$out_at" || "$left_at" == "$out_at" ]] || fail "n$F was deregistered ($out_at) before it left ($left_at)"
[[ "$out_at" < "$stop_at" ]] || fail "n$F stopped ($stop_at) before the leader took it out of rotation ($out_at)"
say "graceful stop of the follower: the leader took it out of DNS and the load balancer at its LEFT, before it exited"

# The leader alone, leave_timeout = 0: no voter to hand over to; it takes
# itself out of rotation, then leaves.
kill -TERM "${NODE_PID[$L]}"
wait_exit "${NODE_PID[$L]}" 15 || fail "n$L did not stop"
[ "$EXIT_CODE" -eq 0 ] || fail "n$L exited $EXIT_CODE"
grep -qF "election: cannot hand leadership over" "$LOG/n$L.log" || fail "n$L did not try to hand over"
grep -qF "rotation: this node is out of rotation" "$LOG/n$L.log" || fail "n$L did not deregister itself: $(tail -3 "$LOG/n$L.log")"
[ "$(sim_state 'www()')" = "[]" ] || fail "DNS after n$L left: $(sim_state 'www()')"
[ "$(sim_state "lb('$LB')")" = "[]" ] || fail "LB after n$L left: $(sim_state "lb('$LB')")"
left_at=$(grep -m1 -F "gossip: leaving the cluster" "$LOG/n$L.log" | cut -c1-23)
out_at=$(grep -m1 -F "rotation: this node is out of rotation" "$LOG/n$L.log" | cut -c1-23)
[[ "$out_at" < "$left_at" || "$out_at" == "$left_at" ]] || fail "n$L left the gossip ($left_at) before leaving rotation ($out_at)"
say "graceful stop of the lone leader (leave_timeout = 0): out of DNS and the load balancer, then left the gossip"
