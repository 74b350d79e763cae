#!/usr/bin/env bash
# docs/operations.md, "From a laptop to a running cluster", run as written
# against the simulator: the laptop.conf block and every `$` and `node$` line
# between <!-- walkthrough --> and <!-- /walkthrough --> are taken from the doc,
# so the doc cannot drift from what works. The only mapping, the simulator's
# stand-ins for what a laptop has on DigitalOcean (tests/integration/lib.sh,
# bake_sim_setup):
#   - laptop.conf gets `api_url = SIMULATOR` appended, `token` is the
#     simulator's token, `bake.yaml` its stand-in for cloud-init/bake.yaml,
#     and `ssh` on PATH writes into the droplet's root;
#   - https://api.digitalocean.com in a command is the simulator's URL;
#   - `mitosis bake` gets the simulator's Debian (--base-image), whose init
#     starts the installed agent;
#   - `node$` lines run with MITOSIS_SOCKET set to a live node's control socket.
# After the commands it checks what the doc promises: a leader served the three
# founders, the clone joined and was put into rotation, the retired founder is
# gone and out of the record, and the tear-down left no droplet, no record and
# no image of ours.
. "$(dirname "$0")/lib.sh"

DOC=$ROOT/docs/operations.md
sim_start --boot-delay 1 --action-delay 1 --kill-grace 1 --seed 31
bake_sim_setup web
W=$T/laptop
mkdir -p "$W"
cp "$TOKEN_FILE" "$W/token"
cp "$T/bake.yaml" "$W/bake.yaml"

# The doc's laptop.conf, and its commands.
python3 - "$DOC" "$W/laptop.conf" "$T/commands" <<'PY' || fail "cannot extract the walkthrough from $DOC"
import re, sys
doc = open(sys.argv[1]).read()
conf = re.search(r"<!-- walkthrough: laptop.conf -->\n```\n(.*?)```", doc, re.S)
part = re.search(r"<!-- walkthrough -->\n(.*?)<!-- /walkthrough -->", doc, re.S)
assert conf and part, "markers missing"
open(sys.argv[2], "w").write(conf.group(1))
cmds = [ln.strip() for ln in part.group(1).splitlines() if re.match(r"\s+(node)?\$ ", ln)]
assert len(cmds) >= 10, cmds
open(sys.argv[3], "w").write("\n".join(cmds) + "\n")
PY
echo "api_url = $SIM_URL" >>"$W/laptop.conf"
say "$(grep -c . "$T/commands") commands from the walkthrough"

# A live node's control socket, for the node$ lines.
cat >"$T/bin/node-socket" <<EOF
#!/bin/sh
curl -sf "$SIM_URL/_sim/state" | python3 -c 'import json,sys; print(next(d["sim"]["root"] for d in json.load(sys.stdin)["droplets"] if d["status"] == "active" and d["sim"]["agent_alive"]) + "/run/mitosis/mitosis.sock")'
EOF
chmod 755 "$T/bin/node-socket"
# One script, so the doc's shell variables ($image, ...) carry from line to line.
{
	echo "set -euo pipefail"
	echo "cd '$W'"
	echo "export PATH='$T/bin:$(dirname "$MITOSIS"):$PATH'"
	n=0
	while IFS= read -r line; do
		n=$((n + 1))
		cmd=${line#*\$ }
		cmd=${cmd//https:\/\/api.digitalocean.com/$SIM_URL}
		case "$cmd" in
		"mitosis bake "*) cmd="mitosis bake --base-image $BASE ${cmd#mitosis bake }" ;;
		esac
		printf 'echo %q >&2\n' "[$n] $line"
		case "$line" in
		node\$*) printf 'MITOSIS_SOCKET=$(node-socket) %s\n' "$cmd" ;;
		*) printf '%s\n' "$cmd" ;;
		esac
	done <"$T/commands"
} >"$T/walk.sh"
cp "$T/walk.sh" "$LOG/walk.sh"
set +e
bash "$T/walk.sh" >"$LOG/walk.out" 2>"$LOG/walk.err"
rc=$?
set -e
[ ! -f "$W/cluster.key" ] || awk '$1 == "primary" || $1 == "accept" { print $3 }' "$W/cluster.key" >>"$MITOSIS_SECRETS"
[ "$rc" = 0 ] || fail "the walkthrough failed at: $(grep '^\[' "$LOG/walk.err" | tail -n 1): $(tail -n 5 "$LOG/walk.err")"
say "ran: $(grep -c '^\[' "$LOG/walk.err") commands"

# What the doc promised.
grep -q "^founder .*" "$W/founders.txt" && [ "$(grep -c '^founder' "$W/founders.txt")" = 3 ] ||
	fail "bootstrap did not list 3 founders: $(cat "$W/founders.txt")"
grep -q "^leader: serving all 3 founders" "$W/founders.txt" || fail "bootstrap did not see a leader: $(cat "$W/founders.txt")"
grep -q "^election: node [0-9]* .* leads term" "$LOG/walk.out" || fail "node\$ mitosis leader printed no leader: $(cat "$LOG/walk.out")"
grep -q "retired node" "$LOG/walk.out" || fail "the retire did not say it retired: $(tail -n 20 "$LOG/walk.out")"
[ "$(sim_eval "len(s['droplets'])")" = 0 ] || fail "the tear-down left droplets: $(sim_eval "[d['name'] for d in s['droplets']]")"
[ "$(sim_state 'len(www())')" = 0 ] || fail "the tear-down left www records: $(sim_state 'www()')"
[ "$(sim_eval "len([i for i in s['images'] if not i['public'] and i['name'] != 'debian-12-sim'])")" = 0 ] ||
	fail "the tear-down left images: $(sim_eval "[i['name'] for i in s['images']]")"
say "laptop to cluster and back: 2 bakes, 3 founders with one leader, 2 clones, a retire, a tear-down; nothing left"
