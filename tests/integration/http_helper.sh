#!/usr/bin/env bash
# The HTTP helper (docs/architecture.md, "HTTP helper"): `mitosis` links no
# libcurl; its requests run in `mitosis-http`, started beside it on demand.
#
#   1. ldd: no libcurl in mitosis; the helper is next to it and has it
#   2. an agent reads its identity through the helper, which then exits
#      after MITOSIS_HTTP_IDLE_MS; the agent's VmRSS is printed
#   3. a helper killed during a request: the request fails with a message
#      naming the helper and the signal, the next try gets a new helper
#   4. idle 0: the helper stops between two tries, the second respawns it
#   5. a helper that cannot start, one that answers garbage and one that
#      never answers: a clear error each time, every handle closed
#   6. a CLI command does not wait for the idle time before it exits
. "$(dirname "$0")/lib.sh"

HELPER=$(dirname "$MITOSIS")/mitosis-http
[ -x "$HELPER" ] || fail "$HELPER is missing: 'make' builds it beside mitosis"
command -v ldd >/dev/null || { echo "SKIP: ldd is missing"; exit 77; }

# --- 1. linkage ---------------------------------------------------------
ldd "$MITOSIS" >"$LOG/ldd-mitosis.txt"
if grep -q libcurl "$LOG/ldd-mitosis.txt"; then
	fail "mitosis links libcurl: $(grep libcurl "$LOG/ldd-mitosis.txt")"
fi
grep -q libuv "$LOG/ldd-mitosis.txt" || fail "ldd output looks wrong: $(head -3 "$LOG/ldd-mitosis.txt")"
ldd "$HELPER" | grep -q libcurl || fail "mitosis-http does not link libcurl"
"$HELPER" --version | grep -q '^libcurl ' || fail "mitosis-http --version lacks libcurl"
say "mitosis links $(grep -c '=>' "$LOG/ldd-mitosis.txt") libraries, none of them libcurl"

cat >"$T/v1.json" <<'JSON'
{"droplet_id": 4242, "hostname": "helper-1", "region": "ams3", "tags": ["web"],
 "interfaces": {"private": [{"type": "private", "ipv4": {"ip_address": "127.0.0.1", "netmask": "255.0.0.0", "gateway": "0.0.0.0"}}]}}
JSON
make_keyring "$T/cluster.key"

# helper_pid_in LOGFILE [N]: pid of the Nth helper the agent reported starting.
helper_pid_in() {
	grep -o 'started mitosis-http ([^)]*), pid [0-9]*' "$1" | sed -n "${2:-1}p" | grep -o '[0-9]*$'
}

# start_agent NAME URL [config lines...]: an agent at -v on a free port; sets AGENT.
start_agent() {
	local name=$1 url=$2
	shift 2
	{
		echo "metadata_url = $url"
		for line in "$@"; do echo "$line"; done
	} | make_config "$T/$name.conf" "$T/cluster.key"
	spawn "$name" "$MITOSIS" agent -v -c "$T/$name.conf" --bind "127.0.0.1:$(free_udp_port)"
	AGENT=$LAST_PID
}

stop_agent() {
	kill -TERM "$AGENT"
	wait_exit "$AGENT" 10 || fail "agent did not exit within 10 s of SIGTERM"
	[ "$EXIT_CODE" -eq 0 ] || fail "agent exited $EXIT_CODE"
	if grep -q "still open at exit" "$LOG/$1.log"; then fail "$1: a handle was left open"; fi
}

# --- 2. identity through the helper, then idle exit ---------------------
start_metadata --body "$T/v1.json"
MITOSIS_HTTP_IDLE_MS=1500 start_agent idle "$META_URL"
wait_for "$LOG/idle.log" 20 'identity: droplet_id=4242 hostname="helper-1"' ||
	fail "no identity through the helper: $(tail -5 "$LOG/idle.log")"
HPID=$(helper_pid_in "$LOG/idle.log")
[ -n "$HPID" ] || fail "the agent did not report starting mitosis-http"
say "identity read through mitosis-http (pid $HPID)"
wait_for "$LOG/idle.log" 20 "exited with status 0 after 1500 ms idle" ||
	fail "the helper did not exit when idle: $(grep http: "$LOG/idle.log" | tail -5)"
wait_until 5 bash -c "! kill -0 $HPID 2>/dev/null" || fail "helper pid $HPID still alive"
[ -z "$(pgrep -P "$AGENT" 2>/dev/null || true)" ] || fail "the agent still has a child process"
say "the helper exited after 1.5 s idle; the agent has no child left"
sleep 1
say "VmRSS of the idle agent (no helper): $(awk '/^VmRSS/ {print $2, $3}' "/proc/$AGENT/status")"
stop_agent idle

# --- 3. the helper killed during a request ------------------------------
# A metadata server whose first request never gets an answer.
cat >"$T/slow.py" <<'PY'
import http.server, socketserver, sys, threading
body = open(sys.argv[1], "rb").read()
state = {"n": 0}
lock = threading.Lock()
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        with lock:
            state["n"] += 1
            n = state["n"]
        print("request %d" % n, flush=True)
        if n == 1:  # hang until the client goes away (20 s at most)
            self.connection.settimeout(20)
            try: self.connection.recv(1)
            except OSError: pass
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
s = S(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
threading.Timer(90, s.shutdown).start()
s.serve_forever()
PY
spawn slow python3 "$T/slow.py" "$T/v1.json"
wait_until 10 test -s "$LOG/slow.out" || fail "slow server did not start"
SLOW_URL="http://127.0.0.1:$(head -n1 "$LOG/slow.out")"
start_agent killed "$SLOW_URL" "metadata_timeout = 20s" "metadata_attempts = 3"
wait_for "$LOG/slow.out" 20 "request 1" || fail "the first request never reached the server"
HPID=$(helper_pid_in "$LOG/killed.log")
[ -n "$HPID" ] || fail "the agent did not report starting mitosis-http"
say "VmRSS of mitosis-http during a request: $(awk '/^VmRSS/ {print $2, $3}' "/proc/$HPID/status")"
kill -KILL "$HPID"
wait_for "$LOG/killed.log" 10 "try 1 of 3 failed: mitosis-http ($HELPER) killed by signal 9" ||
	fail "no clear error after the helper was killed: $(grep -E 'metadata|http:' "$LOG/killed.log" | tail -5)"
grep -q "1 request(s) in flight failed" "$LOG/killed.log" || fail "the loss was not logged"
wait_for "$LOG/killed.log" 20 'identity: droplet_id=4242' ||
	fail "the next try did not work: $(tail -5 "$LOG/killed.log")"
HPID2=$(helper_pid_in "$LOG/killed.log" 2)
[ -n "$HPID2" ] && [ "$HPID2" != "$HPID" ] || fail "no new helper for the next try"
say "killed helper: clear error, then a new helper (pid $HPID2) answered the next try"
stop_agent killed
wait_until 5 bash -c "! kill -0 $HPID2 2>/dev/null" || fail "helper $HPID2 outlived its agent"

# --- 4. idle 0: stop between tries, respawn ------------------------------
start_metadata --body "$T/v1.json" --mode flaky --fail-first 1 --status 503
MITOSIS_HTTP_IDLE_MS=0 start_agent respawn "$META_URL"
wait_for "$LOG/respawn.log" 20 'identity: droplet_id=4242' ||
	fail "no identity after a 503 and a retry: $(tail -5 "$LOG/respawn.log")"
grep -q "try 1 of 3 failed: HTTP status 503" "$LOG/respawn.log" || fail "the first try did not fail as planned"
[ -n "$(helper_pid_in "$LOG/respawn.log" 2)" ] || fail "the retry did not start a second helper"
say "a helper stopped when idle is started again by the next request"
stop_agent respawn

# --- 5. a helper that cannot start --------------------------------------
MITOSIS_HTTP_HELPER=$T/no-such-helper start_agent nohelper "$META_URL" "metadata_attempts = 2"
wait_exit "$AGENT" 20 || fail "agent without a helper did not give up"
[ "$EXIT_CODE" -ne 0 ] || fail "agent without a helper exited 0"
grep -q "try 2 of 2 failed: cannot start mitosis-http ($T/no-such-helper): no such file or directory" \
	"$LOG/nohelper.log" || fail "no clear error without a helper: $(grep metadata "$LOG/nohelper.log" | tail -3)"
if grep -q "still open at exit" "$LOG/nohelper.log"; then fail "nohelper: a handle was left open"; fi
say "a missing helper fails each try with a clear error; every handle closed"

# A helper that answers garbage is killed, and the request fails saying why.
printf '#!/bin/sh\nprintf "garbage!"\nexec sleep 30\n' >"$T/junk-helper"
chmod +x "$T/junk-helper"
MITOSIS_HTTP_HELPER=$T/junk-helper start_agent junk "$META_URL" "metadata_attempts = 1"
wait_exit "$AGENT" 20 || fail "agent with a junk helper did not give up"
grep -q "try 1 of 1 failed: mitosis-http ($T/junk-helper) sent a bad answer (oversized); killed it" \
	"$LOG/junk.log" || fail "no clear error for a junk answer: $(grep -E 'http|metadata' "$LOG/junk.log" | tail -3)"
if grep -q "still open at exit" "$LOG/junk.log"; then fail "junk: a handle was left open"; fi
say "a helper that answers garbage is killed, with the error named"

# A helper that never answers: our own deadline (timeout + 5 s) ends the
# request, and on exit the helper, deaf to its closed stdin, is killed.
printf '#!/bin/sh\nexec sleep 60\n' >"$T/deaf-helper"
chmod +x "$T/deaf-helper"
MITOSIS_HTTP_HELPER=$T/deaf-helper start_agent deaf "$META_URL" "metadata_attempts = 1" \
	"metadata_timeout = 1s"
wait_exit "$AGENT" 30 || fail "agent with a deaf helper did not give up"
grep -q "try 1 of 1 failed: no answer from mitosis-http within 6000 ms" "$LOG/deaf.log" ||
	fail "no deadline error: $(grep -E 'http|metadata' "$LOG/deaf.log" | tail -3)"
grep -q "did not exit after its stdin closed; killing it" "$LOG/deaf.log" ||
	fail "the deaf helper was not killed on close"
if grep -q "still open at exit" "$LOG/deaf.log"; then fail "deaf: a handle was left open"; fi
say "a helper that never answers: deadline error, killed on close, every handle closed"

# --- 6. a CLI verb ends when its work is done ---------------------------
cloud_sim_start
t0=$(date +%s%N)
"$MITOSIS" cloud ls --json -c "$T/m.conf" >"$LOG/cloud-ls.json" 2>"$LOG/cloud-ls.log" ||
	fail "cloud ls failed: $(tail -3 "$LOG/cloud-ls.log")"
ms=$((($(date +%s%N) - t0) / 1000000))
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$LOG/cloud-ls.json" || fail "cloud ls: bad JSON"
# The helper's idle time is 10 s; a CLI that waited for it would take that long.
[ "$ms" -lt 8000 ] || fail "cloud ls took $ms ms: it waited for the helper's idle time"
say "cloud ls through the helper in $ms ms"
