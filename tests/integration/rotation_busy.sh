#!/usr/bin/env bash
# timeout: 150
# One registration waiting for a load balancer's health check holds nothing
# else back. Three agents with do-dns and do-lb (against the simulator); the
# third droplet fails the health check (nftables rejects the check's port on
# its addresses), so the leader's registration of it waits health_timeout
# (60 s here). Meanwhile the reconcile comes due: it waits for that change,
# but the inventory listing goes on at reconcile_interval, and a follower
# killed with -9 leaves DNS and the load balancer within seconds (before the
# fix, the due reconcile stopped every other change until the wait ended).
. "$(dirname "$0")/lib.sh"
nft_guard rotation_busy

sim_start
make_keyring "$T/cluster.key"
sim_api POST /v2/droplets '{"names":["web-a","web-b","web-c"],"region":"nyc3","size":"s-1vcpu-1gb","image":"debian-12-x64","tags":["mitosis-itest"]}' >/dev/null
all_active() { [ "$(sim_state 'sum(d["status"] == "active" for d in s["droplets"])')" = 3 ]; }
wait_until 10 all_active || fail "droplets did not become active"
mapfile -t IDS < <(sim_state '"\n".join(str(d["id"]) for d in sorted(s["droplets"], key=lambda d: d["id"]))')
mapfile -t IPS < <(sim_state '"\n".join(d["sim"]["public_ipv4"] for d in sorted(s["droplets"], key=lambda d: d["id"]))')
mapfile -t PRIV < <(sim_state '"\n".join(d["sim"]["private_ipv4"] for d in sorted(s["droplets"], key=lambda d: d["id"]))')
LB=$(sim_lb web)

# The third droplet's health check fails: its port is rejected on both addresses.
nft -f - <<NFT || fail "could not install the nftables rules"
table inet $TABLE {
	chain output {
		type filter hook output priority 0; policy accept;
		ip daddr { ${PRIV[2]}, ${IPS[2]} } tcp dport $SIM_META_PORT reject
	}
}
NFT

start() {
	local i=$1
	rotation_config "$T/n$i.conf" "$T/cluster.key" "$LB" <<EOF
node_id = ${IDS[$i]}
hostname = web-$i
public_ipv4 = ${IPS[$i]}
private_ipv4 = 127.0.61.$((i + 1))
seeds = 127.0.61.1
bootstrap_expect = 2
bootstrap_settle = 1s
reconcile_interval = 2s
health_timeout = 60s
EOF
	spawn "n$i" "$MITOSIS" agent -c "$T/n$i.conf"
	NODE_PID[$i]=$LAST_PID
}
start 0
start 1
two_in() { [ "$(sim_state "lb('$LB')")" = "$(python3 -c 'import sys; print(sorted(int(x) for x in sys.argv[1:]))' "${IDS[0]}" "${IDS[1]}")" ]; }
wait_until 25 two_in || fail "the first two are not on the load balancer: $(sim_state "lb('$LB')")"
L=0
F=1
[ "$(grep -c 'this node is now leader' "$LOG/n1.log")" -gt 0 ] && L=1 && F=0
say "n$L leads; n0 and n1 in rotation; n2's health check port is rejected"

start 2
wait_for "$LOG/n$L.log" 20 "waiting up to 60 s for each of 1 member(s) to pass its health check" ||
	fail "the leader does not wait for n2's health check: $(tail -3 "$LOG/n$L.log")"
sleep 3 # the reconcile is due now, with n2's registration still waiting
t0=$(date +%s%3N)
kill -9 "${NODE_PID[$F]}"
out() { [ "$(sim_state "'${IPS[$F]}' in www() or ${IDS[$F]} in lb('$LB')")" = False ]; }
wait_until 20 out || fail "n$F, dead, is still in rotation while n2's health check waits: dns $(sim_state 'www()') lb $(sim_state "lb('$LB')")"
ms=$(($(date +%s%3N) - t0))
grep -q "load balancer .*: .* did not pass" "$LOG/n$L.log" && fail "n2's wait ended before the test did: the test proves nothing"
[ "$ms" -lt 15000 ] || fail "n$F left rotation only after $ms ms"
lists=$(sim_state "len([r for r in s['request_log'] if r['path'].startswith('/v2/droplets?tag_name=') and r['time'] >= $t0 / 1000 - 3])")
[ "$lists" -ge 2 ] || fail "the inventory was listed $lists times in the last seconds: the listing stopped during the wait"
say "killed n$F: out of DNS and the load balancer after $ms ms while n2's registration waited; $lists inventory listings meanwhile"
