#!/usr/bin/env bash
# Issue 12, point 4: a create that fails after its 202 makes the droplet
# vanish (404, create action errored). `clone` must notice it at the next poll
# (the 202 named the droplet: GET by id says 404) and count it as failed at
# once, not wait out active_timeout (20 s here):
#  1. one clone, vanished: exit 1 within a few seconds of the vanish, the error
#     names the droplet, nothing is left behind;
#  2. two clones, one vanished: the other is reported active, exit 1, the
#     vanished one named.
. "$(dirname "$0")/lib.sh"

# clone_run NAME ARGS...: `mitosis clone --json ARGS`, bounded; sets RC and SECS.
clone_run() {
	local name=$1
	shift
	bounded "$name" "$MITOSIS" clone --json -c "$T/m.conf" "$@"
}

cloud_sim_start --boot-delay 2 --boot-failure vanish
sed -i 's/^active_timeout = .*/active_timeout = 20s/' "$T/m.conf"

say "1. a vanished create is noticed at once"
clone_run one
[ "$RC" = 1 ] || fail "a vanished clone exited $RC"
[ "$SECS" -lt 10 ] || fail "took $SECS s: the vanish (at 2 s) was waited out to active_timeout (20 s)"
VID=$(sim_eval "s['cost']['droplets'][0]['droplet_id']")
grep -qF "droplet $VID (" "$LOG/one.err" && grep -qF "vanished" "$LOG/one.err" || fail "the vanished droplet is not named"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); o=d["operations"][0]; assert o["creates_sent"] == 1 and d["droplets"] == [] and "vanished" in o["error"], d' \
	"$LOG/one.out" || fail "clone --json is wrong"
[ "$(sim_eval 'len(s["droplets"])')" = 0 ] || fail "something was left behind"
say "vanished: exit 1 after $SECS s, droplet $VID named"

say "2. two clones, one vanished: the other is active"
sim_post /_sim/faults '{"boot_failure": {"rate": 1, "mode": "vanish", "count": 1}}'
clone_run two --count 2
[ "$RC" = 1 ] || fail "two clones with one vanished exited $RC"
[ "$SECS" -lt 10 ] || fail "took $SECS s"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["droplets"]) == 1 and d["droplets"][0]["status"] == "active", d' \
	"$LOG/two.out" || fail "the surviving clone is not reported active"
[ "$(sim_eval 'len(s["droplets"])')" = 1 ] || fail "expected exactly the surviving droplet"
grep -qF "1 of 2 clones active" "$LOG/two.err" || fail "the count of active clones is not said"
if grep -rqF -f "$T/token" "$LOG"; then fail "the token leaked into $LOG"; fi
say "PASS"
