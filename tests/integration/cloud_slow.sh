#!/usr/bin/env bash
# A slow or unreachable API, as a user meets it: `mitosis cloud ls` against an
# API that accepts connections and never answers says after a second what it
# waits for, and at twice api_timeout gives up with one sentence (no follow-on
# "cancelled" lines), in seconds rather than after five timed-out tries. The
# configuration is given as flags (--token-file, --api-url, --api-timeout):
# the cloud verbs take every key as the agent does. A clone whose create went
# through does not give up when the API then falls silent: it waits for its
# own deadline and deletes what it made, so nothing is left behind. A retire
# whose DELETE is lost and whose polls then go unanswered does not give up
# either: it deletes again after delete_timeout and ends at the 404.
. "$(dirname "$0")/lib.sh"

make_keyring "$T/key"
printf 'cluster = itest\nkey_file = %s\n' "$T/key" >"$T/m.conf"
(umask 077 && printf 'dop_v1_%s\n' "$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$T/token")
cat "$T/token" >>"$MITOSIS_SECRETS"

# A listener that accepts and never answers (the kernel's backlog does the accepting).
spawn blackhole python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64)
print(s.getsockname()[1], flush=True)
time.sleep(120)'
for _ in $(seq 1 50); do [ -s "$LOG/blackhole.out" ] && break; sleep 0.1; done
PORT=$(head -n1 "$LOG/blackhole.out")
[ -n "$PORT" ] || fail "the black hole did not start"
URL=http://127.0.0.1:$PORT

t0=$(date +%s%N)
set +e
"$MITOSIS" cloud ls -c "$T/m.conf" --token-file "$T/token" --api-url "$URL" --api-timeout 2s \
	>"$LOG/ls.out" 2>"$LOG/ls.err"
rc=$?
set -e
ms=$((($(date +%s%N) - t0) / 1000000))
cat "$LOG/ls.err"
[ "$rc" -eq 1 ] || fail "cloud ls against a silent API exited $rc"
grep -qF "mitosis cloud: waiting for the DigitalOcean API at $URL (GET /v2/droplets?tag_name=mitosis-itest" "$LOG/ls.err" ||
	fail "no word of what it waits for"
grep -qF "mitosis cloud: giving up: the DigitalOcean API at $URL did not answer for" "$LOG/ls.err" ||
	fail "no clear message at the deadline"
[ "$(wc -l <"$LOG/ls.err")" -eq 2 ] || fail "more than the two lines: $(cat "$LOG/ls.err")"
[ "$ms" -lt 6000 ] || fail "took $ms ms to give up with api_timeout = 2s"
[ ! -s "$LOG/ls.out" ] || fail "printed a result: $(cat "$LOG/ls.out")"
say "silent API: 'waiting for' after 1 s, one 'giving up' line at twice api_timeout, $ms ms in all"

# A mistyped flag is named, with the one it resembles.
set +e
"$MITOSIS" cloud ls -c "$T/m.conf" --token-flie "$T/token" 2>"$LOG/typo.err"
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "a mistyped flag exited $rc"
grep -qF "unknown option '--token-flie' (did you mean '--token-file'?)" "$LOG/typo.err" ||
	fail "no 'did you mean': $(cat "$LOG/typo.err")"
if grep -rqF -f "$T/token" "$LOG"; then fail "the token leaked into $LOG"; fi
say "a mistyped flag gets 'did you mean'"

# The create is accepted, then every lookup times out for a while: giving up
# at twice api_timeout would leave the droplet (the chaos run's one leak). The
# clone waits instead, and deletes it at active_timeout (it never boots).
rm -f "$T/key"
cloud_sim_start --boot-delay 60
made() { [ "$(sim_eval 'len(s["droplets"])')" != 0 ]; }
silence() {
	wait_until 10 made &&
		sim_post /_sim/faults '{"rules": [{"method": "GET", "path": "/v2/droplets*", "error": "timeout", "hold": 2, "count": 8}]}'
}
silence &
SILENCE_PID=$!
t0=$(date +%s%N)
set +e
"$MITOSIS" clone -c "$T/m.conf" --api-timeout 1s --active-timeout 12s --json >"$LOG/clone.json" 2>"$LOG/clone.err"
rc=$?
set -e
ms=$((($(date +%s%N) - t0) / 1000000))
wait $SILENCE_PID || fail "the create never showed, or the faults could not be set"
cat "$LOG/clone.err"
[ "$rc" -eq 1 ] || fail "the clone exited $rc"
[ "$(sim_eval 'len(s["injected"])')" -ge 2 ] || fail "the lookups did not time out"
grep -qF "not giving up: a create or a DELETE was sent, and only its own deadline ends it (a clone deletes what is not ready by active_timeout, 12s;" "$LOG/clone.err" ||
	fail "the clone did not say why it waits on a silent API"
! grep -q "mitosis clone: giving up" "$LOG/clone.err" || fail "the clone gave up with a droplet made"
grep -q "not active by active_timeout" "$LOG/clone.err" || fail "the clone did not delete its droplet at the deadline"
[ "$(sim_eval 'len(s["droplets"])')" = 0 ] || fail "a droplet was left behind: $(sim_eval 's["droplets"]')"
say "create accepted, then $(sim_eval 'len(s["injected"])') lookups timed out: no give-up, its droplet deleted at active_timeout, none left ($ms ms)"

# A retire: its DELETE answers 204 and the droplet stays (a lost delete), then
# the polls time out for a while. It waits, sees the droplet still there at
# delete_timeout, deletes it again, and ends at the 404.
D=$(sim_droplet lingers)
sim_post /_sim/faults '{"rules": [], "delete_lost": {"rate": 1, "count": 1}}'
deletes() { sim_eval "len([r for r in s['request_log'] if r['method'] == 'DELETE' and r['path'] == '/v2/droplets/$D'])"; }
deleted() { [ "$(deletes)" != 0 ]; }
silence() {
	wait_until 20 deleted &&
		sim_post /_sim/faults '{"rules": [{"method": "GET", "path": "/v2/droplets/*", "error": "timeout", "hold": 2, "count": 6}]}'
}
silence &
SILENCE_PID=$!
set +e
"$MITOSIS" retire "$D" --no-wait -c "$T/m.conf" --api-timeout 1s --delete-timeout 4s --json >"$LOG/retire.json" 2>"$LOG/retire.err"
rc=$?
set -e
wait $SILENCE_PID || fail "the retire sent no DELETE, or the faults could not be set"
cat "$LOG/retire.err"
[ "$rc" -eq 0 ] || fail "the retire exited $rc"
grep -qF "not giving up: a create or a DELETE was sent" "$LOG/retire.err" || fail "the retire did not say why it waits"
[ "$(deletes)" = 2 ] ||
	fail "expected two DELETEs (the first one lost)"
[ "$(sim_eval 'len(s["droplets"])')" = 0 ] || fail "the droplet was left behind: $(sim_eval 's["droplets"]')"
say "retire: DELETE lost, then the polls timed out: no give-up, deleted again after delete_timeout, gone"
