#!/usr/bin/env bash
# The agent's own API calls held to the official spec: the cloud and rotation
# verbs run against Prism's validating proxy (`prism proxy --errors`, with
# ../shared/do-api/openapi.json) in front of the simulator. Prism answers any
# request or response that breaks the spec with an application/problem+json
# error, which fails the verb, and logs the violation, which fails the test.
# Skips, saying why, when the spec or Prism (npm) is not available.
. "$(dirname "$0")/lib.sh"

SPEC=${DO_OPENAPI:-$ROOT/../shared/do-api/openapi.json}
[ -f "$SPEC" ] || { echo "SKIP: the DigitalOcean spec ($SPEC) is missing"; exit 77; }
PRISM=$(cd "$ROOT/tests/cloudsim" && python3 -c 'import test_contract as t; p, why = t.ensure_prism(); print(p or "SKIP: " + why)')
case "$PRISM" in SKIP:*) echo "$PRISM"; exit 77 ;; esac

sim_start --boot-delay 0.3 --action-delay 0.3 --kill-grace 1 --quiet
PRISM_PORT=$(free_tcp_port)
spawn prism "$PRISM" proxy --errors -h 127.0.0.1 -p "$PRISM_PORT" "$SPEC" "$SIM_URL"
prism_up() { curl -s -o /dev/null -m 2 -H "Authorization: Bearer $(cat "$TOKEN_FILE")" "http://127.0.0.1:$PRISM_PORT/v2/account"; }
wait_until 90 prism_up || fail "prism did not start: $(tail -5 "$LOG/prism.out")"
API=http://127.0.0.1:$PRISM_PORT
say "prism validating proxy at $API in front of $SIM_URL"

LB=$(sim_lb web)
make_keyring "$T/key"
rotation_config "$T/m.conf" "$T/key" "$LB" "$API" <<EOF
clone_image = 100000001
clone_size = s-1vcpu-1gb
clone_region = nyc3
active_timeout = 20s
drain_timeout = 0
EOF

run() { # run NAME ARGS...: a verb through Prism; fails the test on failure
	local name=$1
	shift
	"$MITOSIS" "$@" -c "$T/m.conf" >"$LOG/$name.out" 2>"$LOG/$name.err" ||
		fail "$name failed through prism: $(tail -n 3 "$LOG/$name.err")"
}
run clone clone --count 2 --json
mapfile -t IDS < <(python3 -c 'import json,sys; [print(d["id"]) for d in json.load(open(sys.argv[1]))["droplets"]]' "$LOG/clone.out")
mapfile -t IPS < <(python3 -c 'import json,sys; [print(d["public_ipv4"]) for d in json.load(open(sys.argv[1]))["droplets"]]' "$LOG/clone.out")
run ls cloud ls --json
for i in 0 1; do
	run "register$i" register --node "${IDS[$i]}" --ip "${IPS[$i]}" --name "n$i"
done
run reconcile register --reconcile --nodes <(python3 -c 'import json,sys; print(json.dumps([{"id": int(sys.argv[1]), "name": "n0", "ip": sys.argv[2]}]))' "${IDS[0]}" "${IPS[0]}")
run retire retire "${IDS[0]}" --no-wait
printf 'node_id = %s\nhostname = n1\nprivate_ipv4 = 127.0.0.1\n' "${IDS[1]}" >>"$T/m.conf"
run snapshot snapshot contract-snap --json
run resize resize s-2vcpu-2gb --json

# Prism logs "Request terminated with error" for every request or response
# that breaks the spec (with --errors it also answered it with an error).
if grep -qE "Request terminated with error|[Vv]iolation" "$LOG/prism.out"; then
	fail "prism saw spec violations: $(grep -E -m5 'Request terminated with error|[Vv]iolation' "$LOG/prism.out")"
fi
calls=$(grep -c "Request received" "$LOG/prism.out")
[ "$calls" -gt 20 ] || fail "only $calls requests went through prism"
say "clone, cloud ls, register, reconcile, retire, snapshot and resize: $calls API calls through prism, none breaks the spec"
