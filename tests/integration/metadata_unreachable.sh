#!/usr/bin/env bash
# With the metadata service unreachable (nothing listening, a server that
# never answers, one that answers 500), the agent gives up with a clear error
# and exit 1 within 10 s, on the default timeout (2 s) and tries (3). A
# service that fails once is survived by the retry.
. "$(dirname "$0")/lib.sh"

make_keyring "$T/cluster.key"

check_gives_up() {
	local name=$1 url=$2 started elapsed
	printf 'metadata_url = %s\n' "$url" | make_config "$T/$name.conf" "$T/cluster.key"
	started=$(date +%s%N)
	spawn "$name" "$MITOSIS" agent -c "$T/$name.conf"
	wait_exit "$LAST_PID" 12 || fail "$name: agent still running after 12 s"
	elapsed=$((($(date +%s%N) - started) / 1000000))
	[ "$EXIT_CODE" -eq 1 ] || fail "$name: exit code $EXIT_CODE, expected 1"
	[ "$elapsed" -lt 10000 ] || fail "$name: took ${elapsed} ms, more than 10 s"
	grep -qF "no identity after 3 tries" "$LOG/$name.log" ||
		fail "$name: no clear final error: $(tail -3 "$LOG/$name.log")"
	[ "$(grep -c 'try [0-9] of 3 failed' "$LOG/$name.log")" -eq 3 ] || fail "$name: expected 3 failed tries"
	say "$name: gave up after ${elapsed} ms with a clear error"
}

# Nothing listens on this port: take a free one and close it.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
check_gives_up refused "http://127.0.0.1:$PORT"

start_metadata --mode hang
check_gives_up hang "$META_URL"
grep -qiF "timed out" "$LOG/hang.log" || fail "hang: the timeout is not named"
kill "$META_PID"

start_metadata --mode status --status 500
check_gives_up status500 "$META_URL"
grep -qF "HTTP status 500" "$LOG/status500.log" || fail "status500: status not named"
kill "$META_PID"

cat >"$T/v1.json" <<'JSON'
{"droplet_id": 42, "hostname": "flaky-1", "interfaces": {"private": [{"ipv4": {"ip_address": "127.0.0.1"}}]}}
JSON
start_metadata --mode flaky --fail-first 1 --body "$T/v1.json"
printf 'metadata_url = %s\nbind = 127.0.0.1:%s\n' "$META_URL" "$(free_udp_port)" | make_config "$T/flaky.conf" "$T/cluster.key"
spawn flaky "$MITOSIS" agent -c "$T/flaky.conf"
wait_for "$LOG/flaky.log" 10 "identity: droplet_id=42" || fail "flaky: no identity after a retry"
kill -TERM "$LAST_PID"
wait_exit "$LAST_PID" 5 || fail "flaky: no exit"
[ "$EXIT_CODE" -eq 0 ] || fail "flaky: exit $EXIT_CODE"
say "flaky: identity after one failed try"
