#!/usr/bin/env bash
# A running agent (static identity, no metadata service) takes valid
# datagrams, signed or not, and rejects forged, replayed, tampered, truncated and oversized
# ones, datagrams sealed for another node, and stamps outside the clock bound,
# counting each by reason; the counts are logged at shutdown.
. "$(dirname "$0")/lib.sh"

WIRE_SEND=${WIRE_SEND:-$BUILD_DIR/tools/wire_send}
[ -x "$WIRE_SEND" ] || fail "missing $WIRE_SEND (make tools)"
make_keyring "$T/cluster.key"
PORT=$(free_udp_port)
printf 'node_id = 1001\nhostname = wire-test\nprivate_ipv4 = 127.0.0.1\nbind = 127.0.0.1:%s\n' "$PORT" |
	make_config "$T/agent.conf" "$T/cluster.key"

spawn agent "$MITOSIS" agent -c "$T/agent.conf"
AGENT=$LAST_PID
wait_for "$LOG/agent.log" 10 "listening on udp 127.0.0.1:$PORT" || fail "agent did not start: $(tail -3 "$LOG/agent.log")"
grep -qF "source=config" "$LOG/agent.log" || fail "static identity not used"

"$WIRE_SEND" -k "$T/cluster.key" -c itest -t "127.0.0.1:$PORT" -n 2002 \
	valid=16 plain=4 replay=5 tamper=4 badsig=3 junk=6 truncated=2 oversized=2 wrong-cluster=3 \
	unknown-key=3 bad-magic=2 >"$LOG/send.out"
# A restarted sender (its clock moved on) is accepted; stamps more than 30 s
# behind or ahead of the agent's clock are not, nor datagrams sealed for
# another node (the destination binding: a capture is valid at one node only).
"$WIRE_SEND" -k "$T/cluster.key" -c itest -t "127.0.0.1:$PORT" -n 2002 valid=2 >>"$LOG/send.out"
"$WIRE_SEND" -k "$T/cluster.key" -c itest -t "127.0.0.1:$PORT" -n 2002 -o -40000 valid=3 >>"$LOG/send.out"
"$WIRE_SEND" -k "$T/cluster.key" -c itest -t "127.0.0.1:$PORT" -n 2002 -o 40000 valid=2 >>"$LOG/send.out"
"$WIRE_SEND" -k "$T/cluster.key" -c itest -t "127.0.0.1:$PORT" -n 2002 -r 9999 valid=2 >>"$LOG/send.out"
"$WIRE_SEND" -k "$T/cluster.key" -c itest -t "127.0.0.1:$PORT" -n 2002 -r 1001 valid=1 >>"$LOG/send.out"
sleep 0.5
kill -TERM "$AGENT"
wait_exit "$AGENT" 5 || fail "agent did not exit"
[ "$EXIT_CODE" -eq 0 ] || fail "agent exit $EXIT_CODE"

line=$(grep -F "wire: in=" "$LOG/agent.log" | tail -n1)
[ -n "$line" ] || fail "no counters line"
say "$line"
count() { echo "$line" | grep -oE " $1=[0-9]+" | cut -d= -f2; }
expect() {
	local got
	got=$(count "$1")
	[ "$got" = "$2" ] || fail "$1: expected $2, got '${got}' in: $line"
}
expect in 60
expect accept 23
expect replay 5
expect bad-tag 12
expect stale 3
expect future 2
expect bad-signature 3
expect truncated 2
expect oversized 2
expect wrong-cluster 3
expect unknown-key 3
expect malformed 2
say "every datagram accepted or dropped by the expected reason"
