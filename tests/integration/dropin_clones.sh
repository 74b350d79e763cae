#!/usr/bin/env bash
# Clone user-data writes a drop-in of its own (/etc/mitosis/conf.d/50-user-data.conf),
# so that snapshots of clones and clones of clones never hold a key twice:
#
#   image (baked conf)  --clone-->  A (no seeds: none to give)
#                       --clone-->  B (seeds: A)  --snapshot--> S1
#   S1 (B's disk, B's drop-in)  --clone-->  C (seeds: A, B; B's drop-in replaced)
#                                           --snapshot--> S2 --clone--> D (seeds: A, B, C)
#
# Each generation's config must pass `agent -n` (an appended `seeds` would be
# "already set"), hold one `seeds` line, naming its own seeds, and its agent
# must join the others. The drop-in is written whole, so running the same
# user-data again changes nothing: D's file equals what its user-data says.
. "$(dirname "$0")/lib.sh"

sim_start --boot-delay 0.5 --action-delay 0.5 --kill-grace 2 --agent "$MITOSIS" --quiet
make_keyring "$T/cluster.key"

cat >"$T/droplet.conf" <<EOF
cluster = itest
key_file = /etc/mitosis/cluster.key
EOF
python3 - "$T" >"$T/snapshot.json" <<'PY'
import base64, json, sys
t = sys.argv[1]
print(json.dumps({"name": "mitosis-dropin", "files": {
    "/etc/mitosis/mitosis.conf": {"content": open(t + "/droplet.conf").read(), "mode": "0644"},
    "/etc/mitosis/cluster.key": {"content_b64": base64.b64encode(open(t + "/cluster.key", "rb").read()).decode(),
                                 "mode": "0600"}},
    "command": ["{mitosis}", "agent", "-c", "{root}/etc/mitosis/mitosis.conf",
                "--key-file", "{root}/etc/mitosis/cluster.key", "--metadata-url", "{metadata_url}",
                "--control-socket", "{root}/run/mitosis/mitosis.sock", "--state-dir", "{root}/var/lib/mitosis",
                "--probe-interval", "300ms",
                "--probe-timeout", "100ms"]}))
PY
IMAGE=$(curl -sf -m 5 -X POST -H 'Content-Type: application/json' --data @"$T/snapshot.json" "$SIM_URL/_sim/snapshots" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["image"]["id"])')
[ -n "$IMAGE" ] || fail "could not register the image"
cloud_config "$T/m.conf" "$T/cluster.key"

# clone IMAGE NAME: one droplet from IMAGE; sets ID and ROOT.
clone() {
	"$MITOSIS" clone -c "$T/m.conf" --clone-image "$1" --json >"$LOG/clone-$2.json" 2>"$LOG/clone-$2.err" ||
		fail "clone $2 failed: $(tail -n 3 "$LOG/clone-$2.err")"
	ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["droplets"][0]["id"])' "$LOG/clone-$2.json")
	ROOT=$(sim_state "next(d['sim']['root'] for d in s['droplets'] if d['id'] == $ID)")
	wait_for "$ROOT/var/log/dosim/agent.log" 20 "listening on udp" ||
		fail "$2: the agent did not start: $(tail -n 5 "$ROOT/var/log/dosim/agent.log" 2>&1)"
}

# snapshot ID: snapshots the droplet and prints the new image id.
snapshot() {
	local aid
	aid=$(sim_api POST "/v2/droplets/$1/actions" '{"type":"snapshot","name":"gen"}' |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["action"]["id"])')
	wait_until 20 bash -c "[ \"\$(curl -sf -m 5 -H \"Authorization: Bearer \$(cat $TOKEN_FILE)\" $SIM_URL/v2/actions/$aid |
		python3 -c 'import json,sys; print(json.load(sys.stdin)[\"action\"][\"status\"])')\" = completed ]" ||
		fail "snapshot of $1 did not complete"
	sim_api GET "/v2/droplets/$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["droplet"]["snapshot_ids"][-1])'
}

# check NAME N: this generation's config is valid, has one seeds line naming
# the private addresses of the N droplets before it, and its agent sees them.
check() {
	local name=$1 n=$2 seeds
	"$MITOSIS" agent -n --show-origin -c "$ROOT/etc/mitosis/mitosis.conf" --key-file "$ROOT/etc/mitosis/cluster.key" \
		>"$LOG/origin-$name.txt" 2>&1 || fail "$name: agent -n refused its config: $(cat "$LOG/origin-$name.txt")"
	[ "$(cat "$ROOT"/etc/mitosis/mitosis.conf "$ROOT"/etc/mitosis/conf.d/*.conf | grep -c '^ *seeds')" -le 1 ] ||
		fail "$name: seeds set more than once: $(grep -r seeds "$ROOT/etc/mitosis")"
	seeds=$(sed -n 's/^seeds = \(.*\)  # .*/\1/p' "$LOG/origin-$name.txt")
	if [ "$n" -gt 0 ]; then
		grep -q "^seeds = .*  # $ROOT/etc/mitosis/conf.d/50-user-data.conf:2$" "$LOG/origin-$name.txt" ||
			fail "$name: seeds not from its own drop-in: $(grep seeds "$LOG/origin-$name.txt")"
		[ "$(echo "$seeds" | tr ',' '\n' | grep -c .)" = "$n" ] || fail "$name: $n seeds wanted, got '$seeds'"
		wait_until 20 bash -c "[ \"\$('$MITOSIS' members --json -s '$ROOT/run/mitosis/mitosis.sock' 2>/dev/null |
			python3 -c 'import json,sys; print(sum(m[\"state\"] == \"alive\" for m in json.load(sys.stdin)))')\" = $((n + 1)) ]" ||
			fail "$name: its agent does not see $((n + 1)) alive members"
	fi
	say "$name: one seeds line (${seeds:-none}), agent -n OK, $((n + 1)) member(s) alive"
}

clone "$IMAGE" A
A_ID=$ID
check A 0
grep -q seeds "$ROOT/etc/mitosis/conf.d/50-user-data.conf" && fail "A: seeds written though there was no member"
clone "$IMAGE" B
B_ID=$ID
check B 1
S1=$(snapshot "$B_ID")
[ -n "$S1" ] || fail "no snapshot image of B"
clone "$S1" C
C_ID=$ID
check C 2
S2=$(snapshot "$C_ID")
clone "$S2" D
check D 3

# Running the same user-data again writes the same whole file: D's drop-in is
# exactly what its user-data holds, not an accumulation of its ancestors'.
ud=$(curl -sf -m 5 "$(sim_state "next(d['sim']['metadata_url'] for d in s['droplets'] if d['id'] == $ID)")/metadata/v1/user-data") ||
	fail "cannot read D's user-data from its metadata service"
python3 - "$ROOT/etc/mitosis/conf.d/50-user-data.conf" "$ud" <<'PY' || fail "D's drop-in is not its user-data's content"
import sys
content = open(sys.argv[1]).read()
ud = sys.argv[2]
body = ud.split("content: |\n", 1)[1].split("runcmd:", 1)[0]
want = "".join(l[6:] + "\n" for l in body.splitlines())
assert content == want, (content, want)
PY
say "D's drop-in is its own user-data's, whole: re-running it changes nothing"
