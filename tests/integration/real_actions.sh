#!/usr/bin/env bash
# Issue 12, point 2: a 422 on a droplet action is not always "pending event".
# With DigitalOcean's strict answers (--strict-actions), `mitosis resize`:
#  a. to an invalid size: exits 1 at the first permanent 422 with DO's
#     message, and the droplet is active again (it powered it off first);
#  b. to a size whose disk is smaller than the droplet's (grown) disk: the
#     same, with "Size can not be smaller than the Droplet's original size.";
#  c. with the droplet's status lagging its actions (--droplet-status-lag 4):
#     meets "Droplet is already powered off." (and "...on.") where that is the
#     goal, takes it as reached, and succeeds: active at the new size.
. "$(dirname "$0")/lib.sh"

# resize_run NAME SIZE: `mitosis resize SIZE`, bounded; sets RC and SECS.
resize_run() { bounded "$1" "$MITOSIS" resize "$2" -c "$T/m.conf"; }

cloud_sim_start --strict-actions --action-delay 0.5
ID=$(sim_droplet web-1)
sim_identity "$T/m.conf" "$ID"
say "droplet $ID: $(sim_truth "$ID")"

say "a. an invalid size: exit 1 with DO's message, powered on again"
resize_run bogus s-bogus-size
[ "$RC" = 1 ] || fail "resize to an invalid size exited $RC after $SECS s (124: still retrying at 60 s)"
grep -qF "You specified an invalid size for the resize." "$LOG/bogus.err" || fail "DO's message is not shown"
grep -qF "the droplet is active again, as it was" "$LOG/bogus.err" || fail "it does not say it put the droplet back"
[ "$(sim_truth "$ID")" = "active s-1vcpu-1gb" ] || fail "droplet left $(sim_truth "$ID")"
say "invalid size: exit 1 after $SECS s, droplet active again"

say "b. a size with a smaller disk than the grown one: exit 1, powered on again"
sim_action "$ID" '{"type":"power_off"}'
sim_action "$ID" '{"type":"resize","size":"s-2vcpu-4gb","disk":true}'
sim_action "$ID" '{"type":"power_on"}'
[ "$(sim_truth "$ID")" = "active s-2vcpu-4gb" ] || fail "setup: droplet is $(sim_truth "$ID")"
resize_run smaller s-1vcpu-2gb
[ "$RC" = 1 ] || fail "resize to a smaller disk exited $RC after $SECS s"
grep -qF "Size can not be smaller than the Droplet's original size." "$LOG/smaller.err" || fail "DO's message is not shown"
[ "$(sim_truth "$ID")" = "active s-2vcpu-4gb" ] || fail "droplet left $(sim_truth "$ID")"
say "smaller disk: exit 1 after $SECS s, droplet active again at s-2vcpu-4gb"

say "c. a status that lags: 'already powered off/on' where that is the goal is the goal reached"
sim_post /_sim/config '{"droplet_status_lag": 4}'
n0=$(sim_eval 'len(s["request_log"])')
resize_run lag s-4vcpu-8gb
[ "$RC" = 0 ] || fail "resize with a lagging status exited $RC after $SECS s"
[ "$(sim_truth "$ID")" = "active s-4vcpu-8gb" ] || fail "droplet left $(sim_truth "$ID")"
say "lagging status: exit 0 after $SECS s ($(sim_eval "sum(1 for r in s['request_log'][$n0:] if r['status'] == 422)") refusals met), active at s-4vcpu-8gb"
if grep -rqF -f "$T/token" "$LOG"; then fail "the token leaked into $LOG"; fi
say "PASS"
