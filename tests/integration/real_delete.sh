#!/usr/bin/env bash
# Issue 12, point 3: a 204 on DELETE is not the end. The droplet stays listed
# and billed until destroyed (--delete-delay), and now and then a delete is
# lost (delete_lost: 204, droplet kept). A delete is done when GET says 404:
#  a. `retire --no-wait` with a 4 s delete delay exits 0 only once the droplet
#     answers 404;
#  b. one lost delete: retire deletes again after delete_timeout and exits 0,
#     the droplet gone (two DELETEs in the log);
#  c. every delete lost: retire exits 1, naming the droplet that may still be
#     billed;
#  d. the deletes inside `clone` use the same: a clone stuck in `new` is
#     deleted at active_timeout, its lost delete sent again, and it is gone.
. "$(dirname "$0")/lib.sh"

# gone ID: the API answers 404 for it (the simulator's state may still list it).
gone() { ! sim_api GET "/v2/droplets/$1" >/dev/null 2>&1; }
# retire_run NAME ID: `mitosis retire ID --no-wait --json`, bounded; sets RC and SECS.
retire_run() { bounded "$1" "$MITOSIS" retire "$2" --no-wait --json -c "$T/m.conf"; }
deletes_of() { sim_eval "sum(1 for r in s['request_log'] if r['method'] == 'DELETE' and r['path'] == '/v2/droplets/$1')"; }

cloud_sim_start --delete-delay 4
echo "delete_timeout = 10s" >>"$T/m.conf"

say "a. retire waits until GET says 404"
ID=$(sim_droplet web-a)
retire_run a "$ID"
[ "$RC" = 0 ] || fail "retire exited $RC"
gone "$ID" || fail "retire said done while droplet $ID still answers: $(sim_api GET "/v2/droplets/$ID" | head -c 200)"
[ "$SECS" -ge 3 ] || fail "retire took $SECS s: it cannot have waited out a 4 s delete delay"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ok"] and d["deleted"], d' "$LOG/a.out" || fail "retire --json is wrong"
say "delete delay: retire exit 0 after $SECS s, the droplet answers 404"

say "b. a lost delete is sent again, and the droplet goes"
sim_post /_sim/config '{"delete_delay": 0}'
sed -i 's/^delete_timeout = .*/delete_timeout = 2s/' "$T/m.conf"
ID=$(sim_droplet web-b)
sim_post /_sim/faults '{"delete_lost": {"rate": 1, "count": 1}}'
retire_run b "$ID"
[ "$RC" = 0 ] || fail "retire after a lost delete exited $RC"
gone "$ID" || fail "droplet $ID is still there after retire"
[ "$(deletes_of "$ID")" = 2 ] || fail "expected 2 DELETEs of $ID, saw $(deletes_of "$ID")"
grep -qF "droplet $ID: still there" "$LOG/b.err" || fail "the second delete was not said"
say "lost delete: deleted again, exit 0 after $SECS s"

say "c. every delete lost: exit 1 naming the droplet that may still bill"
ID=$(sim_droplet web-c)
sim_post /_sim/faults '{"delete_lost": {"rate": 1, "count": null}}'
retire_run c "$ID"
[ "$RC" = 1 ] || fail "retire of an undeletable droplet exited $RC"
grep -qF "droplet $ID still exists" "$LOG/c.err" && grep -qF "may still be billed" "$LOG/c.err" ||
	fail "the error does not name the droplet that may still bill"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert not d["ok"] and not d["deleted"] and "may still be billed" in d["error"], d' \
	"$LOG/c.out" || fail "retire --json does not carry the failure"
say "undeletable: exit 1 after $SECS s, droplet $ID named"

say "d. clone's deletes: a stuck clone is deleted at active_timeout, through a lost delete"
sim_post /_sim/faults '{"delete_lost": {"rate": 1, "count": 1}, "boot_failure": {"rate": 1, "mode": "stuck", "count": 1}}'
sed -i 's/^active_timeout = .*/active_timeout = 10s/' "$T/m.conf"
bounded d "$MITOSIS" clone --json -c "$T/m.conf"
[ "$RC" = 1 ] || fail "a stuck clone exited $RC"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["deleted"] == 1 and d["droplets"] == [], d' "$LOG/d.out" ||
	fail "stuck clone --json is wrong"
STUCK=$(sim_eval "[b['droplet_id'] for b in s['cost']['droplets']][-1]")
gone "$STUCK" || fail "the stuck clone $STUCK is still there"
[ "$(deletes_of "$STUCK")" = 2 ] || fail "expected 2 DELETEs of the stuck clone, saw $(deletes_of "$STUCK")"
[ "$(sim_eval "sum(1 for b in s['cost']['droplets'] if b['alive'])")" = 1 ] ||
	fail "droplets still billed: $(sim_eval "[b['droplet_id'] for b in s['cost']['droplets'] if b['alive']]")"
if grep -rqF -f "$T/token" "$LOG"; then fail "the token leaked into $LOG"; fi
say "PASS"
