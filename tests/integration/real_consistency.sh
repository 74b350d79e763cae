#!/usr/bin/env bash
# Issue 12, point 5: DigitalOcean is eventually consistent.
#  a. a listing by tag lags a create (--tag-lag 3): a create answered 500
#     after it happened must not be created again on the strength of one
#     lagging listing: exactly one droplet of that name, none billed unseen;
#  b. a droplet is active before its private address (--private-ip-lag 5):
#     clone reports it only with the address the cluster uses;
#  c. a new load balancer member is down until it passes the balancer's
#     health check (--lb-health): `register` waits for it and says so, fails
#     (exit 1) when the node never passes, and returns only once the
#     balancer itself (/_sim) counts it healthy;
#  d. addresses while still `new` (--ip-lag=-5): clone still waits for active;
#  e. a member registered before the API shows its private address (which
#     the balancer checks): its public one only stands in until it shows.
. "$(dirname "$0")/lib.sh"

# clone_run NAME: `mitosis clone --json`, bounded; sets RC and SECS.
# app_listen NAME ADDR: the application the balancer checks, on ADDR:$APP_PORT.
app_listen() {
	spawn "$1" python3 -c 'import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(64); print("up", flush=True)
while True:
    c, _ = s.accept(); c.close()' "$2" "$APP_PORT"
	wait_for "$LOG/$1.out" 5 up || fail "the application on $2 did not start"
}
clone_run() { bounded "$1" "$MITOSIS" clone --json -c "$T/m.conf"; }

cloud_sim_start --boot-delay 2 --tag-lag 3

say "a. a lost create answer and a lagging tag listing: no double, no leak"
sim_post /_sim/faults '{"rules": [{"method": "POST", "path": "/v2/droplets", "error": 500, "after": true, "count": 1}]}'
clone_run lag
[ "$RC" = 0 ] || fail "clone exited $RC"
NAME=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["droplets"][0]["name"])' "$LOG/lag.out")
sleep 4 # every lag is over: what exists now is what was made
[ "$(sim_eval "sum(1 for b in s['cost']['droplets'] if b['name'] == '$NAME' and b['alive'])")" = 1 ] ||
	fail "droplets named $NAME alive: $(sim_eval "[(b['droplet_id'], b['alive']) for b in s['cost']['droplets'] if b['name'] == '$NAME']")"
[ "$(sim_eval "sum(1 for b in s['cost']['droplets'] if b['alive'])")" = 1 ] || fail "a droplet leaked"
say "lost answer + tag lag: one droplet $NAME ($(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["operations"][0]["creates_sent"])' "$LOG/lag.out") create(s) sent)"

say "b. active before the private address: reported with it"
sim_post /_sim/faults '{"rules": []}'
sim_post /_sim/config '{"tag_lag": 0, "private_ip_lag": 5}'
clone_run ip
[ "$RC" = 0 ] || fail "clone exited $RC"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["droplets"][0]; assert d["private_ipv4"].startswith("127.78.") and d["public_ipv4"], d' \
	"$LOG/ip.out" || fail "clone reported a droplet without its private address: $(cat "$LOG/ip.out")"
say "private address lag: reported after $SECS s with both addresses"

say "c. a new load balancer member serves only once healthy"
sim_post /_sim/config '{"private_ip_lag": 0, "lb_health": true}'
ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["droplets"][0]["id"])' "$LOG/ip.out")
PUB=$(sim_eval "[d['sim']['public_ipv4'] for d in s['droplets'] if d['id'] == $ID][0]")
PRIV=$(sim_eval "[d['sim']['private_ipv4'] for d in s['droplets'] if d['id'] == $ID][0]")
APP_PORT=$(free_tcp_port)
LB=$(sim_api POST /v2/load_balancers "{\"name\":\"lb\",\"region\":\"nyc3\",\"forwarding_rules\":[{\"entry_protocol\":\"http\",\"entry_port\":80,\"target_protocol\":\"http\",\"target_port\":$APP_PORT}],\"droplet_ids\":[],\"health_check\":{\"protocol\":\"tcp\",\"port\":$APP_PORT,\"check_interval_seconds\":1,\"response_timeout_seconds\":1,\"healthy_threshold\":3,\"unhealthy_threshold\":3}}" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["load_balancer"]["id"])')
printf 'registrars = do-lb\nlb_id = %s\nhealth_timeout = 6s\n' "$LB" >>"$T/m.conf"
health() { curl -sf -m 5 "$SIM_URL/_sim/load_balancers/$LB/health" | python3 -c 'import json,sys; print([m["health_status"] for m in json.load(sys.stdin)["droplets"] if m["droplet_id"] == '"$ID"'])'; }
register() { bounded "$1" "$MITOSIS" register --node "$ID" --ip "$PUB" --name web-1 -c "$T/m.conf"; }
register down
[ "$RC" = 1 ] || fail "register of a node that never passes the health check exited $RC"
grep -qF "gets no traffic" "$LOG/down.err" || fail "the failure does not say the node gets no traffic"
grep -qF "waiting up to 6 s" "$LOG/down.err" || fail "register did not say what it waits for"
[ "$(health)" = "['unhealthy']" ] || fail "the balancer counts it $(health)"
"$MITOSIS" deregister --node "$ID" --ip "$PUB" -c "$T/m.conf" >>"$LOG/dereg.out" 2>&1 || fail "deregister failed"
app_listen app "$PRIV"
register up
[ "$RC" = 0 ] || fail "register of a healthy node exited $RC"
[ "$(health)" = "['healthy']" ] || fail "register returned while the balancer counts the node $(health)"
[ "$SECS" -ge 3 ] || fail "register returned after $SECS s: it cannot have waited for 3 checks 1 s apart"
say "load balancer: unhealthy node refused (exit 1), healthy node registered after $SECS s, as the balancer counts it"

say "e. a member read before its private address is checked there once it shows"
sim_post /_sim/config '{"private_ip_lag": 6}'
ID2=$(sim_api POST /v2/droplets '{"name":"web-2","size":"s-1vcpu-1gb","image":100000001,"region":"nyc3"}' |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["droplet"]["id"])')
active2() { [ "$(sim_eval "[d['status'] for d in s['droplets'] if d['id'] == $ID2][0]")" = active ]; }
wait_until 20 active2 || fail "droplet $ID2 did not become active"
PUB2=$(sim_eval "[d['sim']['public_ipv4'] for d in s['droplets'] if d['id'] == $ID2][0]")
PRIV2=$(sim_eval "[d['sim']['private_ipv4'] for d in s['droplets'] if d['id'] == $ID2][0]")
app_listen app2 "$PRIV2"
sed -i 's/^health_timeout = .*/health_timeout = 30s/' "$T/m.conf"
bounded lag2 "$MITOSIS" register --node "$ID2" --ip "$PUB2" --name web-2 -c "$T/m.conf"
[ "$RC" = 0 ] || fail "register of a node read before its private address exited $RC: $(tail -n 2 "$LOG/lag2.err")"
grep -qF "($PRIV2) passes its health check" "$LOG/lag2.err" || fail "not checked at its private address: $(cat "$LOG/lag2.err")"
sim_post /_sim/config '{"private_ip_lag": 0}'
say "registered after $SECS s, checked at its private address once the API showed it"

say "d. addresses while still new: clone waits for active"
sim_post /_sim/config '{"lb_health": false, "public_ip_lag": -5, "private_ip_lag": -5, "boot_delay": 8}'
sed -i '/^registrars = /d; s/^active_timeout = .*/active_timeout = 20s/' "$T/m.conf"
clone_run new
[ "$RC" = 0 ] || fail "clone exited $RC"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["droplets"][0]; assert d["status"] == "active" and d["private_ipv4"], d' \
	"$LOG/new.out" || fail "clone reported a droplet that was not active"
if grep -rqF -f "$T/token" "$LOG"; then fail "the token leaked into $LOG"; fi
say "PASS"
