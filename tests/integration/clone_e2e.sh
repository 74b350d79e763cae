#!/usr/bin/env bash
# End to end in the simulator: a snapshot holding the real agent (config,
# keyring, API token, registrars do-dns and do-lb); `mitosis clone --count 2`
# creates two droplets from it; each boots, reads its identity from its own
# metadata, finds the other through the cluster tag (its one API call), and
# the two found the cluster (bootstrap_expect = 2: this snapshot makes a new
# cluster's first nodes) and elect a leader, which alone puts both into DNS
# and the load balancer. `mitosis retire` then takes one out of DNS and the
# load balancer before its droplet is deleted.
. "$(dirname "$0")/lib.sh"

sim_start --boot-delay 0.5 --action-delay 0.5 --kill-grace 2 --agent "$MITOSIS" --quiet
make_keyring "$T/cluster.key"
LB=$(sim_lb web)

# The image: what a user bakes. Secrets go in as files of mode 0600.
cat >"$T/droplet.conf" <<EOF
cluster = itest
key_file = /etc/mitosis/cluster.key
token_file = /etc/mitosis/token
api_url = $SIM_URL
registrars = do-dns, do-lb
dns_domain = example.com
dns_name = www
dns_ttl = 30
lb_id = $LB
bootstrap_expect = 2
bootstrap_settle = 1s
EOF
python3 - "$T" >"$T/snapshot.json" <<'PY'
import base64, json, sys
t = sys.argv[1]
def b64(p): return base64.b64encode(open(p, "rb").read()).decode()
print(json.dumps({"name": "mitosis-e2e", "files": {
    "/etc/mitosis/mitosis.conf": {"content": open(t + "/droplet.conf").read(), "mode": "0644"},
    "/etc/mitosis/cluster.key": {"content_b64": b64(t + "/cluster.key"), "mode": "0600"},
    "/etc/mitosis/token": {"content_b64": b64(t + "/token"), "mode": "0600"}},
    "command": ["{mitosis}", "agent", "-c", "{root}/etc/mitosis/mitosis.conf",
                "--key-file", "{root}/etc/mitosis/cluster.key", "--token-file", "{root}/etc/mitosis/token",
                "--metadata-url", "{metadata_url}", "--control-socket", "{root}/run/mitosis/mitosis.sock",
                "--state-dir", "{root}/var/lib/mitosis"]}))
PY
IMAGE=$(curl -sf -m 5 -X POST -H 'Content-Type: application/json' --data @"$T/snapshot.json" "$SIM_URL/_sim/snapshots" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["image"]["id"])')
[ -n "$IMAGE" ] || fail "could not register the snapshot"

rotation_config "$T/m.conf" "$T/cluster.key" "$LB" <<EOF
clone_image = $IMAGE
clone_size = s-1vcpu-1gb
clone_region = nyc3
active_timeout = 20s
drain_timeout = 0
EOF
"$MITOSIS" clone -c "$T/m.conf" --count 2 --json >"$LOG/clone.json" 2>"$LOG/clone.err" ||
	fail "clone failed: $(tail -n 3 "$LOG/clone.err")"
mapfile -t IDS < <(python3 -c 'import json,sys; [print(d["id"]) for d in json.load(open(sys.argv[1]))["droplets"]]' "$LOG/clone.json")
mapfile -t IPS < <(python3 -c 'import json,sys; [print(d["public_ipv4"]) for d in json.load(open(sys.argv[1]))["droplets"]]' "$LOG/clone.json")
[ "${#IDS[@]}" = 2 ] || fail "clone did not report two droplets"
say "cloned ${IDS[*]} from image $IMAGE"

ROOTS=()
for id in "${IDS[@]}"; do ROOTS+=("$(sim_state "next(d['sim']['root'] for d in s['droplets'] if d['id'] == $id)")"); done
both_members() {
	local r
	for r in "${ROOTS[@]}"; do
		[ "$("$MITOSIS" members --json -s "$r/run/mitosis/mitosis.sock" 2>/dev/null |
			python3 -c 'import json,sys; print(sum(m["state"]=="alive" for m in json.load(sys.stdin)))' 2>/dev/null)" = 2 ] || return 1
	done
}
wait_until 30 both_members || fail "the clones' agents did not form a cluster: $(sim_eval "[d['sim']['agent_alive'] for d in s['droplets']]")"
say "the two clones' agents found each other through the cluster tag"

want_dns=$(python3 -c 'import sys; print(sorted(sys.argv[1:]))' "${IPS[@]}")
want_lb=$(python3 -c 'import sys; print(sorted(int(x) for x in sys.argv[1:]))' "${IDS[@]}")
in_rotation() { [ "$(sim_state 'www()')" = "$want_dns" ] && [ "$(sim_state "lb('$LB')")" = "$want_lb" ]; }
wait_until 30 in_rotation || fail "clones not in rotation: dns $(sim_state 'www()') lb $(sim_state "lb('$LB')")"
calls=$(sim_state "sorted(set(a.split()[1] for a in (r.get('agent', '') for r in s['request_log']) if a.startswith('mitosis/') and ' op=' in a))")
[ "$(python3 -c 'import ast,sys; print(len(ast.literal_eval(sys.argv[1])))' "$calls")" = 1 ] ||
	fail "mutating API calls from more than one node: $calls"
say "the elected leader ($calls) put both clones into DNS (one A record each) and the load balancer"

"$MITOSIS" retire "${IDS[1]}" -c "$T/m.conf" --no-wait >"$LOG/retire.out" 2>"$LOG/retire.err" ||
	fail "retire failed: $(tail -n 3 "$LOG/retire.err")"
gone() { [ "$(sim_eval "sum(d['id'] == ${IDS[1]} for d in s['droplets'])")" = 0 ]; }
wait_until 20 gone || fail "the retired droplet still exists"
[ "$(sim_state 'www()')" = "['${IPS[0]}']" ] || fail "DNS after retire: $(sim_state 'www()')"
[ "$(sim_state "lb('$LB')")" = "[${IDS[0]}]" ] || fail "LB after retire: $(sim_state "lb('$LB')")"
order=$(sim_eval "[r['method'] + ' ' + r['path'] for r in s['request_log'] if r['method'] == 'DELETE']")
python3 - "$order" "${IDS[1]}" <<'PY' || fail "retire did not leave rotation before deleting: $order"
import ast, sys
calls, victim = ast.literal_eval(sys.argv[1]), sys.argv[2]
drop = next(i for i, c in enumerate(calls) if c == "DELETE /v2/droplets/" + victim)
assert any("records" in c for c in calls[:drop]) and any("load_balancers" in c for c in calls[:drop]), calls
PY
say "retire: out of DNS and the load balancer first, then the droplet was deleted"
