#!/usr/bin/env bash
# The metrics server (metrics_listen) under a real Prometheus and under abuse.
#
#   n1 127.0.66.1 --- n2 127.0.66.2 --- n3 127.0.66.3   gossip :7950, metrics :9950
#      ^ 200 slow clients (one byte every 0.2 s), an oversized head, junk
#   prometheus (Debian's package) on 127.0.66.9, scraping the three every second
#
# While 200 slow connections hold n1's metrics port, n2 and n3 join: the
# cluster must converge as fast as without them and nobody may suspect
# anybody (the server must never stall the loop the gossip runs on); the slow
# clients are all dropped within METRICS_TIMEOUT_MS, the oversized and
# malformed ones are refused with 431 and 400. Then /health, `promtool check
# metrics`, and a query through Prometheus' HTTP API: every node's
# mitosis_members{state="alive"} is 3. The three found the cluster together
# (bootstrap_expect = 3) with an exec registrar: exactly one reports
# mitosis_leader 1, all the same term, and the leader alone counts the
# registrar operations its hook saw.
. "$(dirname "$0")/lib.sh"

command -v prometheus >/dev/null && command -v promtool >/dev/null ||
	{ echo "SKIP: prometheus and promtool missing (scripts/deps.sh installs Debian's prometheus)"; exit 77; }
make_keyring "$T/cluster.key"
# The registrar: a hook that records what the leader asks of it.
printf '#!/bin/sh\necho "$1 $MITOSIS_NODE_ID" >>%s\n' "$T/hook.log" >"$T/hook"
chmod 755 "$T/hook"
# Fast membership timing, so that a stalled loop would show as suspicions.
node() { # node I [SEEDS]
	SEEDS=${2:-} start_node "$1" "127.0.66.$1" "metrics_listen = 127.0.66.$1" \
		"probe_interval = 200ms" "probe_timeout = 50ms" "suspicion_unit = 100ms" \
		"bootstrap_expect = 3" "bootstrap_settle = 1s" "registrars = exec" "exec_command = $T/hook"
}
alive() { [ "$(count_state "$1" alive)" = "$2" ]; }

node 1
wait_for "$LOG/n1.log" 10 "metrics: serving /metrics and /health on http://127.0.66.1:9950" ||
	fail "n1 does not serve metrics: $(tail -n 3 "$LOG/n1.log")"
curl -sf -m 2 http://127.0.66.1:9950/health >"$LOG/health1.json" || fail "n1 /health did not answer 200 while alone by design"
say "n1 alone by design: /health $(cat "$LOG/health1.json")"

# The abuse, in the background: 200 slow clients, then one oversized head and junk.
cat >"$T/abuse.py" <<'PY'
import json, socket, sys, time
host, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
t0, socks, res = time.time(), [], {"connected": 0, "closed": 0, "answered_200": 0, "longest": 0.0}
for _ in range(n):
    s = socket.socket(); s.settimeout(2)
    try:
        s.connect((host, 9950)); s.setblocking(False); socks.append([s, time.time(), 0]); res["connected"] += 1
    except OSError:
        pass
msg = b"GET /metrics HTTP/1.1\r\nX-Slow: " + b"a" * 200
deadline = time.time() + 12
while socks and time.time() < deadline:
    for e in list(socks):
        s, start, i = e
        try:
            data = s.recv(4096)
            if data.startswith(b"HTTP/1.1 200"): res["answered_200"] += 1
            if not data:
                raise ConnectionResetError
        except BlockingIOError:
            pass
        except OSError:
            res["closed"] += 1; res["longest"] = max(res["longest"], time.time() - start)
            socks.remove(e); s.close(); continue
        try:
            s.send(msg[i:i + 1]); e[2] = min(i + 1, len(msg) - 1)
        except BlockingIOError:
            pass
        except OSError:
            res["closed"] += 1; res["longest"] = max(res["longest"], time.time() - start)
            socks.remove(e); s.close()
    time.sleep(0.2)
res["still_open"] = len(socks)
def ask(raw):
    s = socket.create_connection((host, 9950), timeout=5); s.sendall(raw)
    data = b""
    while True:
        b = s.recv(4096)
        if not b: break
        data += b
    return data.split(b"\r\n", 1)[0].decode()
res["oversized"] = ask(b"GET /metrics HTTP/1.1\r\nX-Big: " + b"b" * 4000 + b"\r\n\r\n")
res["malformed"] = ask(b"GET /metrics SPDY/3\r\n\r\n")
res["post"] = ask(b"POST /metrics HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi")
json.dump(res, open(out, "w"))
PY
spawn abuse python3 "$T/abuse.py" 127.0.66.1 200 "$T/abuse.json"
ABUSE=$LAST_PID
sleep 1
t0=$(date +%s%N)
node 2 127.0.66.1
node 3 127.0.66.1
converged() { alive 1 3 && alive 2 3 && alive 3 3; }
wait_until 15 converged || fail "the cluster did not converge under the slow clients"
took=$(( ($(date +%s%N) - t0) / 1000000 ))
say "3 nodes converged in $took ms while 200 slow clients held n1's metrics port"
wait_exit "$ABUSE" 30 || fail "the abuse script did not end"
cat "$T/abuse.json" >"$LOG/abuse.json"
python3 - "$T/abuse.json" <<'PY' || fail "the metrics server did not refuse the abuse: $(cat "$T/abuse.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["connected"] == 200 and r["closed"] == 200 and r["still_open"] == 0, r
assert r["answered_200"] == 0, r
assert r["longest"] < 5 + 1.5, r  # METRICS_TIMEOUT_MS, and the poll period
assert r["oversized"] == "HTTP/1.1 431 Request Header Fields Too Large", r
assert r["malformed"] == "HTTP/1.1 400 Bad Request", r
assert r["post"] == "HTTP/1.1 405 Method Not Allowed", r
PY
say "abuse: $(cat "$T/abuse.json")"
for i in 1 2 3; do
	curl -sf -m 2 "http://127.0.66.$i:9950/metrics" >"$LOG/metrics$i.txt" || fail "n$i /metrics"
	grep -q '^mitosis_swim_suspicions_total 0$' "$LOG/metrics$i.txt" ||
		fail "n$i suspected a member while n1's metrics port was abused: $(grep suspicions "$LOG/metrics$i.txt")"
	promtool check metrics <"$LOG/metrics$i.txt" >"$LOG/promtool$i.txt" 2>&1 ||
		fail "promtool check metrics on n$i: $(cat "$LOG/promtool$i.txt")"
done
say "no suspicion on any node; promtool check metrics passes on all three"
curl -s -o /dev/null -w '%{http_code}' -m 2 http://127.0.66.2:9950/health | grep -qx 200 || fail "n2 /health is not 200"

# A real Prometheus scrapes the three and answers a query through its HTTP API.
cat >"$T/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: mitosis
    static_configs:
      - targets: ['127.0.66.1:9950', '127.0.66.2:9950', '127.0.66.3:9950']
EOF
promtool check config "$T/prometheus.yml" >"$LOG/promtool-config.txt" 2>&1 || fail "prometheus.yml: $(cat "$LOG/promtool-config.txt")"
PROM_PORT=$(free_tcp_port)
spawn prometheus prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/tsdb" \
	--web.listen-address=127.0.66.9:$PROM_PORT --log.level=warn
query() { curl -sf -m 2 --data-urlencode "query=$1" http://127.0.66.9:$PROM_PORT/api/v1/query; }
three() {
	query 'mitosis_members{state="alive"}' 2>/dev/null | python3 -c '
import json, sys
try: r = json.load(sys.stdin)["data"]["result"]
except ValueError: sys.exit(1)  # not up yet
sys.exit(0 if len(r) == 3 and all(x["metric"]["job"] == "mitosis" and x["value"][1] == "3" for x in r) else 1)'
}
wait_until 30 three || fail "Prometheus did not see 3 alive members on each node: $(query 'mitosis_members{state="alive"}')"
[ "$(query 'sum(up{job="mitosis"})' | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["result"][0]["value"][1])')" = 3 ] ||
	fail "Prometheus does not see all three targets up"
say "Prometheus scraped the three nodes: mitosis_members{state=\"alive\"} is 3 on each, up == 3"

# The election and the leader's registrar work, through Prometheus and on the leader.
value() { query "$1" | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "none")'; }
one_leader() { [ "$(value 'sum(mitosis_leader)')" = 1 ]; }
one_term() { [ "$(value 'count(mitosis_election_term > 0)')" = 3 ] && [ "$(value 'max(mitosis_election_term) - min(mitosis_election_term)')" = 0 ]; }
wait_until 30 one_leader || fail "Prometheus does not see exactly one leader: $(query 'mitosis_leader')"
wait_until 10 one_term || fail "the three nodes are not in one term: $(query 'mitosis_election_term')"
[ "$(value 'sum(mitosis_election_voter)')" = 3 ] || fail "the three founders are not all voters: $(query 'mitosis_election_voter')"
leader=$(query 'mitosis_leader == 1' | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["result"][0]["metric"]["instance"])')
leader_metric() { curl -sf -m 2 "http://$leader/metrics" >"$LOG/metrics-leader.txt" && sed -n "s/^$1 //p" "$LOG/metrics-leader.txt"; }
# Taking office, the leader reconciles: the exec hook runs `register` for each of the three.
reconciled() { [ "$(leader_metric 'mitosis_registrar_operations_total{operation="reconcile"}')" -ge 1 ] && [ "$(grep -c '^register' "$T/hook.log" 2>/dev/null)" -ge 3 ]; }
wait_until 20 reconciled || fail "the leader $leader did not count its reconcile: $(grep registrar "$LOG/metrics-leader.txt"; cat "$T/hook.log")"
# A fourth node joins later: the leader registers it alone, and counts one register.
SEEDS=127.0.66.1 start_node 4 127.0.66.4 "probe_interval = 200ms" "probe_timeout = 50ms" "suspicion_unit = 100ms" \
	"registrars = exec" "exec_command = $T/hook"
registered() { [ "$(leader_metric 'mitosis_registrar_operations_total{operation="register"}')" -ge 1 ] && grep -q '^register 1004$' "$T/hook.log"; }
wait_until 20 registered || fail "the leader $leader did not count n4's registration: $(grep registrar "$LOG/metrics-leader.txt"; cat "$T/hook.log")"
grep -q '^mitosis_registrar_errors_total{operation="register"} 0$' "$LOG/metrics-leader.txt" || fail "the leader counted failed registrations"
hooked=$(grep -c '^register' "$T/hook.log")
for i in 1 2 3; do
	[ "127.0.66.$i:9950" = "$leader" ] && continue
	curl -sf -m 2 "http://127.0.66.$i:9950/metrics" >"$LOG/metrics-follower$i.txt" || fail "n$i /metrics"
	grep -q '^mitosis_leader 0$' "$LOG/metrics-follower$i.txt" || fail "follower n$i does not say mitosis_leader 0"
	grep -q '^mitosis_registrar_operations_total{operation="register"} 0$' "$LOG/metrics-follower$i.txt" ||
		fail "follower n$i counted registrar operations: $(grep registrar_operations "$LOG/metrics-follower$i.txt")"
done
promtool check metrics <"$LOG/metrics-leader.txt" >"$LOG/promtool-leader.txt" 2>&1 || fail "promtool on the leader: $(cat "$LOG/promtool-leader.txt")"
say "one leader ($leader) in term $(value 'max(mitosis_election_term)'); it counted $(grep -o 'operation="[a-z]*"} [0-9]*' "$LOG/metrics-leader.txt" | head -3 | tr '\n' ' ')($hooked hook runs), the followers none"

kill -TERM "${NODE_PID[1]}"
wait_exit "${NODE_PID[1]}" 10 || fail "n1 did not stop"
grep -q "metrics: [0-9]* connections, [0-9]* over the limit, [0-9]* timed out, [0-9]* requests refused" "$LOG/n1.log" ||
	fail "n1 did not log its metrics connections"
grep -q 'stopped (exit 0)' "$LOG/n1.log" || fail "n1 did not stop cleanly with its metrics server open"
say "n1: $(grep -o 'metrics: [0-9]* connections.*' "$LOG/n1.log")"

# The Grafana dashboard's queries are valid PromQL ($cluster as Grafana fills it in).
python3 - "$ROOT/docs/grafana-dashboard.json" >"$T/dash-rules.yml" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print("groups:\n  - name: dashboard\n    rules:")
for p in d["panels"]:
    for t in p["targets"]:
        print("      - record: dashboard:%d:%s\n        expr: %s" % (p["id"], t["refId"], json.dumps(t["expr"].replace("$cluster", ".*"))))
PY
promtool check rules "$T/dash-rules.yml" >"$LOG/dash-rules.txt" 2>&1 || fail "docs/grafana-dashboard.json: $(cat "$LOG/dash-rules.txt")"
say "the Grafana dashboard's $(grep -c 'expr:' "$T/dash-rules.yml") queries parse (promtool check rules)"
