#!/usr/bin/env bash
# A node with no seeds finds its peers through the cluster tag: three
# droplets carry the tag "mitosis-itest" in the simulator; three agents (one
# per droplet, with its id and private address, an API token and no seeds)
# list the tagged droplets, join each other, and agree on three members.
# That one listing at boot is each node's only API call: no leader is
# elected here (no bootstrap_expect), and a node that does not lead calls
# the API no more (issue 11).
. "$(dirname "$0")/lib.sh"

sim_start --boot-delay 0.2 --quiet
make_keyring "$T/cluster.key"
sim_api POST /v2/droplets '{"names":["d-1","d-2","d-3"],"region":"nyc3","size":"s-1vcpu-1gb","image":"debian-12-x64","tags":["mitosis-itest"]}' >/dev/null
all_active() { [ "$(sim_state 'sum(d["status"] == "active" for d in s["droplets"])')" = 3 ]; }
wait_until 10 all_active || fail "droplets did not become active"
mapfile -t IDS < <(sim_state '"\n".join(str(d["id"]) for d in s["droplets"])')
mapfile -t PRIV < <(sim_state '"\n".join(d["sim"]["private_ipv4"] for d in s["droplets"])')
PORT=$(free_udp_port)

for i in 0 1 2; do
	make_config "$T/n$i.conf" "$T/cluster.key" <<EOF
node_id = ${IDS[$i]}
hostname = d-$((i + 1))
private_ipv4 = ${PRIV[$i]}
bind = ${PRIV[$i]}:$PORT
token_file = $TOKEN_FILE
api_url = $SIM_URL
control_socket = $T/n$i.sock
EOF
	spawn "n$i" "$MITOSIS" agent -c "$T/n$i.conf"
done

three_alive() {
	local i
	for i in 0 1 2; do
		[ "$("$MITOSIS" members --json -s "$T/n$i.sock" 2>/dev/null |
			python3 -c 'import json,sys; print(sum(m["state"]=="alive" for m in json.load(sys.stdin)))' 2>/dev/null)" = 3 ] || return 1
	done
}
wait_until 15 three_alive || fail "agents did not find each other: $(grep -h discovery "$LOG"/n*.log)"
grep -qF "discovery: 2 peers carry the cluster tag" "$LOG/n0.log" || fail "n0 did not log its discovery"
say "three agents without seeds joined through the cluster tag"
sleep 3
per_node=$(sim_eval "sorted(collections.Counter(r['agent'].split()[1] + ' ' + r['method'] + ' ' + r['path'].split('&')[0] for r in s['request_log'] if r.get('agent', '').startswith('mitosis/')).items())")
want=$(python3 -c 'import sys; print(sorted((("node=%s GET /v2/droplets?tag_name=mitosis-itest" % i), 1) for i in sys.argv[1:]))' "${IDS[@]}")
[ "$per_node" = "$want" ] || fail "API calls beyond one listing per node: $per_node"
say "each node made one API call, its listing at boot, and none since"
