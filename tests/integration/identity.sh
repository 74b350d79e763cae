#!/usr/bin/env bash
# The agent reads its identity from a metadata server, logs it, binds its
# gossip port on the private address, and exits 0 on SIGTERM with every
# handle closed.
. "$(dirname "$0")/lib.sh"

cat >"$T/v1.json" <<'JSON'
{"droplet_id": 2756294, "hostname": "web-7", "region": "nyc3",
 "user_data": "#cloud-config\n", "tags": ["autoscale", "svc:web"], "auth_key": "ignored",
 "interfaces": {
   "public": [{"type": "public", "ipv4": {"ip_address": "203.0.113.10", "netmask": "255.255.240.0", "gateway": "203.0.113.1"}}],
   "private": [{"type": "private", "ipv4": {"ip_address": "127.0.0.1", "netmask": "255.0.0.0", "gateway": "0.0.0.0"}}]},
 "dotty_status": "running"}
JSON
start_metadata --body "$T/v1.json"
make_keyring "$T/cluster.key"
printf 'metadata_url = %s\n' "$META_URL" | make_config "$T/agent.conf" "$T/cluster.key"

# The --bind flag overrides the config (which has no bind key).
spawn agent "$MITOSIS" agent -c "$T/agent.conf" --bind "127.0.0.1:$(free_udp_port)"
AGENT=$LAST_PID
wait_for "$LOG/agent.log" 10 "listening on udp" || fail "agent did not start: $(tail -5 "$LOG/agent.log")"
grep -qF 'identity: droplet_id=2756294 hostname="web-7" region="nyc3" public_ipv4=203.0.113.10 private_ipv4=127.0.0.1 tags="autoscale,svc:web" source=metadata' "$LOG/agent.log" ||
	fail "identity line missing or wrong: $(grep identity "$LOG/agent.log")"
say "identity logged"

kill -TERM "$AGENT"
wait_exit "$AGENT" 5 || fail "agent did not exit within 5 s of SIGTERM"
[ "$EXIT_CODE" -eq 0 ] || fail "agent exited $EXIT_CODE after SIGTERM"
grep -qF "received SIGTERM, shutting down" "$LOG/agent.log" || fail "no shutdown line"
grep -qF "stopped (exit 0)" "$LOG/agent.log" || fail "no clean stop line"
if grep -q "still open at exit" "$LOG/agent.log"; then fail "a handle was left open"; fi
say "clean exit on SIGTERM"

# SIGINT takes the same path; this time the default port and the private
# address from the metadata (127.0.0.1:7950) are used.
spawn agent2 "$MITOSIS" agent -c "$T/agent.conf"
AGENT=$LAST_PID
wait_for "$LOG/agent2.log" 10 "listening on udp 127.0.0.1:7950" || fail "second agent did not bind 127.0.0.1:7950: $(tail -3 "$LOG/agent2.log")"
kill -INT "$AGENT"
wait_exit "$AGENT" 5 || fail "agent did not exit within 5 s of SIGINT"
[ "$EXIT_CODE" -eq 0 ] || fail "agent exited $EXIT_CODE after SIGINT"
say "clean exit on SIGINT"
