#!/usr/bin/env bash
# timeout: 60
# Event hooks (docs/policy.md, "Event hooks") on leader_changed, which fires
# without the scaling loop: a lone agent founds its cluster and takes office.
# The on_event script runs as `SCRIPT leader_changed` with MITOSIS_EVENT and
# the node's fields in its environment, and its output reaches the log
# escaped; the lifecycle hook (asked through the control socket, test only)
# reads the script's "more 30s". The webhook, a local Python http.server whose URL path holds a
# secret, answers 500 first: the agent retries with backoff, the second
# POST carries the same JSON and gets 200, and the secret is never logged.
. "$(dirname "$0")/lib.sh"

NET=127.0.82
make_keyring "$T/cluster.key"
cat >"$T/hook.sh" <<HOOK
#!/bin/sh
case "\$1" in
scale_in_pending)
	[ "\$MITOSIS_NODE_ID" = 1000 ] && echo "draining" && echo "more 30s"
	exit 0 ;;
esac
env | grep '^MITOSIS_' | sort >"$T/hook.env"
echo "hello from the hook \$1"
printf 'bell\007\n'
HOOK
chmod 755 "$T/hook.sh"

PORT=$(free_tcp_port)
SECRET="s3cr3t-$$-$RANDOM"
echo "$SECRET" >>"$MITOSIS_SECRETS"
cat >"$T/server.py" <<'PY'
import http.server, json, sys
n = 0
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global n
        n += 1
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open(sys.argv[2], "a") as f:
            f.write(json.dumps({"n": n, "path": self.path, "body": json.loads(body)}) + "\n")
        self.send_response(500 if n == 1 else 200)
        self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
spawn server python3 "$T/server.py" "$PORT" "$T/posts.jsonl"
IDS=(1000)
start_node 0 "$NET.1" "bootstrap_expect = 1" "on_event = $T/hook.sh" \
	"webhook_url = http://127.0.0.1:$PORT/hook/$SECRET?token=$SECRET" "hook_timeout = 5s"
wait_until 20 agreed_leader 0 || fail "the lone node does not lead"
TERM1=$LEADER_TERM

wait_until 10 test -s "$T/hook.env" || fail "the script did not run: $(grep hook "$LOG/n0.log")"
sleep 0.3
want="MITOSIS_CLUSTER=itest
MITOSIS_DETAIL=took office in term $TERM1
MITOSIS_EVENT=leader_changed
MITOSIS_NODE_ADDRESS=$NET.1
MITOSIS_NODE_ID=1000
MITOSIS_NODE_NAME=n0
MITOSIS_SELF_ID=1000
MITOSIS_TERM=$TERM1"
got=$(grep -v '^MITOSIS_TIME=' "$T/hook.env")
[ "$got" = "$want" ] || fail "hook environment: $(cat "$T/hook.env")"
grep -q '^MITOSIS_TIME=1[0-9]\{12\}$' "$T/hook.env" || fail "MITOSIS_TIME: $(cat "$T/hook.env")"
wait_for "$LOG/n0.log" 5 "hello from the hook leader_changed" || fail "the script's output is not logged"
wait_for "$LOG/n0.log" 5 'bell\x07' || fail "the script's output is not escaped: $(grep bell "$LOG/n0.log" | od -c | head)"
say "on_event ran as SCRIPT leader_changed with the node's fields; its output is logged escaped"

two_posts() { [ "$(wc -l <"$T/posts.jsonl" 2>/dev/null || echo 0)" -ge 2 ]; }
wait_until 15 two_posts || fail "no retry after the 500: $(cat "$T/posts.jsonl" 2>/dev/null)"
python3 - "$T/posts.jsonl" "$TERM1" <<'PY' || fail "webhook posts: $(cat "$T/posts.jsonl")"
import json, sys
p = [json.loads(l) for l in open(sys.argv[1])]
b = p[0]["body"]
assert p[0]["body"] == p[1]["body"], "the retry carries another body"
assert b["event"] == "leader_changed" and b["node_id"] == "1000" and b["from"] == "1000", b
assert b["node_name"] == "n0" and b["cluster"] == "itest" and b["term"] == int(sys.argv[2]), b
assert b["time"].endswith("Z"), b
PY
grep -qF "webhook http://127.0.0.1:$PORT leader_changed: an error answer; retry 1" "$LOG/n0.log" ||
	fail "the retry is not logged: $(grep webhook "$LOG/n0.log")"
grep -qF "$SECRET" "$LOG/n0.log" && fail "the webhook secret reached the log"
sleep 2
[ "$(wc -l <"$T/posts.jsonl")" = 2 ] || fail "posted again after the 200: $(cat "$T/posts.jsonl")"
say "the webhook got the JSON, a 500, a retry, then 200; only scheme://host is logged"

# The lifecycle hook: the script's "more 30s" asks for more time.
lifecycle() {
	python3 - "$T/n0.sock" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(("_hooks-lifecycle %s\n" % sys.argv[2]).encode())
s.shutdown(socket.SHUT_WR)
print(s.recv(1000).decode().strip())
PY
}
[ "$(lifecycle 1000)" = started ] || fail "_hooks-lifecycle refused"
wait_for "$LOG/n0.log" 10 "hooks: lifecycle (test): status 1, more 30000 ms" ||
	fail "the lifecycle answer: $(grep -i lifecycle "$LOG/n0.log")"
[ "$(lifecycle 1001)" = started ] || fail "_hooks-lifecycle refused"
wait_for "$LOG/n0.log" 10 "hooks: lifecycle (test): status 0, more 0 ms" ||
	fail "a silent lifecycle hook does not go on: $(grep -i lifecycle "$LOG/n0.log")"
say "the lifecycle hook reads \"more 30s\" from the script, and goes on without it"
