#!/usr/bin/env bash
# Running agents put themselves into rotation: two agents with registrars
# do-dns and do-lb (against the simulator) each get one A record under
# www.example.com and a place on the load balancer once they start; a
# graceful stop (SIGTERM) takes the node out of DNS and the load balancer
# before it leaves the gossip, with the default leave_timeout (n1) and with
# leave_timeout = 0 (n0: deregistration does not depend on the leave delay). Prints the agent time from gossip start to
# "in rotation".
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
$([ "$i" -eq 0 ] && echo "leave_timeout = 0")
EOF
	spawn "n$i" "$MITOSIS" agent -c "$T/n$i.conf"
	NODE_PID[$i]=$LAST_PID
done

in_rotation() {
	[ "$(sim_state 'www()')" = "$(python3 -c 'import sys; print(sorted(sys.argv[1:]))' "${IPS[@]}")" ] &&
		[ "$(sim_state "lb('$LB')")" = "$(python3 -c 'import sys; print(sorted(int(x) for x in sys.argv[1:]))' "${IDS[@]}")" ]
}
wait_until 15 in_rotation || fail "not in rotation: dns $(sim_state 'www()') lb $(sim_state "lb('$LB')")"
for i in 0 1; do
	wait_for "$LOG/n$i.log" 5 "rotation: this node is in rotation" || fail "n$i did not log its registration"
	ms=$(python3 - "$LOG/n$i.log" <<'PY'
import sys, datetime
t = {}
for line in open(sys.argv[1]):
    for key in ("gossip: advertising", "rotation: this node is in rotation"):
        if key in line and key not in t:
            t[key] = datetime.datetime.strptime(line[:23], "%Y-%m-%dT%H:%M:%S.%f")
print(int((t["rotation: this node is in rotation"] - t["gossip: advertising"]).total_seconds() * 1000))
PY
)
	say "n$i: in DNS and on the load balancer ${ms} ms after its gossip started (API calls included)"
done

# A graceful stop takes the node out of rotation first.
kill -TERM "${NODE_PID[1]}"
wait_exit "${NODE_PID[1]}" 15 || fail "n1 did not stop"
[ "$EXIT_CODE" -eq 0 ] || fail "n1 exited $EXIT_CODE"
grep -qF "rotation: this node is out of rotation" "$LOG/n1.log" || fail "n1 did not deregister: $(tail -3 "$LOG/n1.log")"
[ "$(sim_state 'www()')" = "['${IPS[0]}']" ] || fail "DNS after n1 left: $(sim_state 'www()')"
[ "$(sim_state "lb('$LB')")" = "[${IDS[0]}]" ] || fail "LB after n1 left: $(sim_state "lb('$LB')")"
left_at=$(grep -m1 -F "gossip: leaving the cluster" "$LOG/n1.log" | cut -c1-23)
out_at=$(grep -m1 -F "out of rotation" "$LOG/n1.log" | cut -c1-23)
[[ "$out_at" < "$left_at" || "$out_at" == "$left_at" ]] || fail "n1 left the gossip ($left_at) before leaving rotation ($out_at)"
say "graceful stop: out of DNS and the load balancer, then left the gossip"

# leave_timeout = 0 skips the wait, never the deregistration.
kill -TERM "${NODE_PID[0]}"
wait_exit "${NODE_PID[0]}" 15 || fail "n0 did not stop"
[ "$EXIT_CODE" -eq 0 ] || fail "n0 exited $EXIT_CODE"
grep -qF "rotation: this node is out of rotation" "$LOG/n0.log" || fail "n0 (leave_timeout = 0) did not deregister: $(tail -3 "$LOG/n0.log")"
[ "$(sim_state 'www()')" = "[]" ] || fail "DNS after n0 left: $(sim_state 'www()')"
[ "$(sim_state "lb('$LB')")" = "[]" ] || fail "LB after n0 left: $(sim_state "lb('$LB')")"
say "leave_timeout = 0: still out of DNS and the load balancer before exit"
