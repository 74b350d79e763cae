#!/bin/bash
# The haproxy registrar against a real HAProxy (Debian's package, installed
# here when missing) on loopback: three web servers (python3 -m http.server on
# 127.0.40.1-3, each answering its own name) are registered through the
# runtime API, requests through HAProxy reach all three, a deregistered node
# stops receiving requests, a drained server is made ready again by a
# reconcile, a dry run changes nothing, `mitosis haproxy-config` prints a
# backend HAProxy accepts, and HAProxy was never reloaded: same pid, and its
# log shows no reload.
. "$(dirname "$0")/lib.sh"

if ! command -v haproxy >/dev/null; then
	say "installing haproxy"
	DEBIAN_FRONTEND=noninteractive apt-get install -y haproxy >"$LOG/apt.log" 2>&1 ||
		fail "apt-get install haproxy failed (see $LOG/apt.log)"
fi

free_tcp_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
# hap CMD: one runtime API command over the Unix socket; prints the reply.
hap() {
	python3 - "$T/admin.sock" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.argv[2].encode() + b"\n")
out = b""
while True:
    b = s.recv(65536)
    if not b: break
    out += b
sys.stdout.write(out.decode())
PY
}
# servers: "name op_state admin_state" per mitosis server of backend web.
servers() {
	hap "show servers state web" | awk '$1 ~ /^[0-9]+$/ && $4 ~ /^mitosis-/ { print $4, $6, $7 }' | sort
}
# hits N: which node names answer N requests through the frontend.
hits() {
	local i
	for ((i = 0; i < $1; i++)); do
		curl -s --max-time 2 "http://127.0.40.100:$FE_PORT/" || echo "error"
		echo
	done | grep -v '^$' | sort | uniq -c | awk '{ print $2 }' | tr '\n' ' '
}

WEB_PORT=$(free_tcp_port)
FE_PORT=$(free_tcp_port)
ADMIN_PORT=$(free_tcp_port)
for i in 1 2 3; do
	mkdir -p "$T/www$i"
	printf 'node%d' "$i" >"$T/www$i/index.html"
	spawn "web$i" python3 -m http.server --bind "127.0.40.$i" --directory "$T/www$i" "$WEB_PORT"
done

cat >"$T/haproxy.cfg" <<EOF
global
	stats socket $T/admin.sock mode 600 level admin
	stats socket ipv4@127.0.0.1:$ADMIN_PORT level admin
	log stdout format raw local0 info
defaults
	mode http
	log global
	option httplog
	timeout connect 2s
	timeout client 5s
	timeout server 5s
frontend fe
	bind 127.0.40.100:$FE_PORT
	default_backend web
backend web
	balance roundrobin
	option httpchk GET /
	default-server inter 500ms fall 2 rise 1
	server static-off 127.0.40.9:$WEB_PORT disabled
EOF
haproxy -c -f "$T/haproxy.cfg" >"$LOG/haproxy-check.log" 2>&1 || fail "haproxy.cfg rejected: $(cat "$LOG/haproxy-check.log")"
spawn haproxy haproxy -db -f "$T/haproxy.cfg"
HAP_PID=$LAST_PID
wait_until 10 test -S "$T/admin.sock" || fail "haproxy did not start"
wait_until 10 bash -c "curl -s --max-time 1 http://127.0.40.$((1)):$WEB_PORT/ | grep -q node1" || fail "web1 not up"

make_keyring "$T/cluster.key"
make_config "$T/m.conf" "$T/cluster.key" <<EOF
registrars = haproxy
haproxy_runtime = unix:$T/admin.sock
haproxy_backend = web
haproxy_server_port = $WEB_PORT
register_address = private
EOF
reg() {
	"$MITOSIS" "$1" -c "$T/m.conf" --json --node "100$2" --ip "127.0.40.$2" --name "n$2" \
		>>"$LOG/cli.out" 2>>"$LOG/cli.log"
}

# --- register three: all UP, all answer ------------------------------------
t0=$(date +%s%N)
for i in 1 2 3; do reg register "$i" || fail "register n$i"; done
say "3 registers took $((($(date +%s%N) - t0) / 1000000)) ms"
want="mitosis-1001 2 0
mitosis-1002 2 0
mitosis-1003 2 0"
export -f hap servers
export T
wait_until 10 bash -c "[ \"\$(servers)\" = \"$want\" ]" || fail "servers: $(servers)"
[ "$(hits 30)" = "node1 node2 node3 " ] || fail "requests reached: $(hits 30)"
say "3 servers UP, requests reach node1 node2 node3"

# --- idempotent: registering again sends only the state query --------------
reg register 2 || fail "second register"
[ "$(servers)" = "$want" ] || fail "second register changed: $(servers)"

# --- dry run: prints the commands, changes nothing ----------------------------
out=$("$MITOSIS" deregister -c "$T/m.conf" --dry-run --node 1002 --ip 127.0.40.2 2>>"$LOG/cli.log")
echo "$out" >>"$LOG/cli.out"
[ "$(echo "$out" | grep '^dry-run:')" = "dry-run: haproxy unix:$T/admin.sock: set server web/mitosis-1002 state drain
dry-run: haproxy unix:$T/admin.sock: set server web/mitosis-1002 state maint
dry-run: haproxy unix:$T/admin.sock: del server web/mitosis-1002" ] || fail "dry-run output: $out"
[ "$(servers)" = "$want" ] || fail "dry run changed: $(servers)"

# --- deregister n2: gone from the backend, gets no requests --------------------
reg deregister 2 || fail "deregister n2"
[ "$(servers)" = "mitosis-1001 2 0
mitosis-1003 2 0" ] || fail "after deregister: $(servers)"
[ "$(hits 20)" = "node1 node3 " ] || fail "requests after deregister reached: $(hits 20)"
reg deregister 2 || fail "deregister of an absent server must succeed"
say "deregistered node gets no requests"

# --- reconcile: a drained server is made ready, a missing one added -------------
hap "set server web/mitosis-1001 state drain" >/dev/null
[ "$(servers | head -1)" = "mitosis-1001 2 8" ] || fail "drain did not take: $(servers)"
printf '[{"id":1001,"name":"n1","ip":"127.0.40.1"},{"id":1002,"name":"n2","ip":"127.0.40.2"},{"id":1003,"name":"n3","ip":"127.0.40.3"}]' >"$T/nodes.json"
"$MITOSIS" register -c "$T/m.conf" --reconcile --nodes "$T/nodes.json" >>"$LOG/cli.out" 2>>"$LOG/cli.log" ||
	fail "reconcile"
wait_until 10 bash -c "[ \"\$(servers)\" = \"$want\" ]" || fail "after reconcile: $(servers)"
[ "$(hap 'show servers state web' | awk '$4 == "static-off"' | wc -l)" = 1 ] || fail "reconcile touched a foreign server"
say "reconcile restored drained and missing servers"

# --- haproxy-config prints a backend HAProxy accepts ------------------------------
"$MITOSIS" haproxy-config --nodes "$T/nodes.json" --backend web --port "$WEB_PORT" >"$T/backend.cfg" 2>>"$LOG/cli.log" ||
	fail "haproxy-config"
cp "$T/backend.cfg" "$LOG/backend.cfg"
grep -qx "	server mitosis-1002 127.0.40.2:$WEB_PORT check # n2" "$T/backend.cfg" || fail "backend text: $(cat "$T/backend.cfg")"
sed '/^backend web/,$d' "$T/haproxy.cfg" | sed "s|$T/admin.sock|$T/check.sock|" >"$T/full.cfg"
cat "$T/backend.cfg" >>"$T/full.cfg"
haproxy -c -f "$T/full.cfg" >"$LOG/generated-check.log" 2>&1 || fail "generated backend rejected: $(cat "$LOG/generated-check.log")"
"$MITOSIS" haproxy-config --json --nodes "$T/nodes.json" --backend web --port "$WEB_PORT" 2>>"$LOG/cli.log" |
	python3 -c 'import json,sys; d=json.load(sys.stdin); assert [s["name"] for s in d["servers"]] == ["mitosis-1001","mitosis-1002","mitosis-1003"], d' ||
	fail "haproxy-config --json"
say "generated backend accepted by haproxy -c"

# --- no reload ---------------------------------------------------------------------
kill -0 "$HAP_PID" || fail "haproxy died"
[ "$(pgrep -f "haproxy -db -f $T/haproxy.cfg" | head -1)" = "$HAP_PID" ] || fail "haproxy pid changed"
if grep -qiE 'reload|reexec|SIGUSR2' "$LOG/haproxy.out" "$LOG/haproxy.log"; then
	fail "haproxy log shows a reload"
fi
say "haproxy pid $HAP_PID unchanged, no reload in its log"

# --- exec, beside haproxy (over the TCP runtime socket this time): the script
# sees the node; a failing script fails ------------------------------------------
cat >"$T/hook.sh" <<'EOF'
#!/bin/sh
echo "$1 id=$MITOSIS_NODE_ID name=$MITOSIS_NODE_NAME pub=$MITOSIS_NODE_PUBLIC_IPV4 priv=$MITOSIS_NODE_PRIVATE_IPV4 addr=$MITOSIS_NODE_ADDRESS cluster=$MITOSIS_CLUSTER" >>"$HOOK_OUT"
[ "$MITOSIS_NODE_NAME" != "bad" ] || exit 3
EOF
chmod +x "$T/hook.sh"
make_config "$T/x.conf" "$T/cluster.key" <<EOF
registrars = haproxy, exec
haproxy_runtime = 127.0.0.1:$ADMIN_PORT
haproxy_backend = web
haproxy_server_port = $WEB_PORT
register_address = private
exec_command = $T/hook.sh
EOF
export HOOK_OUT=$T/hook.out
"$MITOSIS" deregister -c "$T/x.conf" --node 1003 --ip 127.0.40.3 --name n3 >>"$LOG/cli.out" 2>>"$LOG/cli.log" ||
	fail "deregister with exec"
[ "$(servers)" = "mitosis-1001 2 0
mitosis-1002 2 0" ] || fail "deregister over TCP: $(servers)"
"$MITOSIS" register -c "$T/x.conf" --node 1003 --ip 127.0.40.3 --name n3 >>"$LOG/cli.out" 2>>"$LOG/cli.log" ||
	fail "register with exec"
[ "$(cat "$HOOK_OUT")" = "deregister id=1003 name=n3 pub=127.0.40.3 priv=127.0.40.3 addr=127.0.40.3 cluster=itest
register id=1003 name=n3 pub=127.0.40.3 priv=127.0.40.3 addr=127.0.40.3 cluster=itest" ] ||
	fail "hook saw: $(cat "$HOOK_OUT")"
wait_until 10 bash -c "[ \"\$(servers)\" = \"$want\" ]" || fail "after exec round: $(servers)"
out=$("$MITOSIS" register -c "$T/x.conf" --json --node 1003 --ip 127.0.40.3 --name bad 2>>"$LOG/cli.log") &&
	fail "a failing hook must fail register"
echo "$out" | grep -qF "\"error\":\"exec: $T/hook.sh register (node 1003): exit status 3\"" || fail "hook failure: $out"
say "exec hook: environment and exit status"
say "PASS"
