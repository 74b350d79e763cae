#!/usr/bin/env bash
# A key rotation under traffic, driven by SIGHUP (docs/protocol.md, "Key
# rotation"): four gossiping agents, each with its own key file, go through
# the three rounds (add B as accept; make B primary, node by node, a second
# apart, so that old and new senders mix; drop A). The cluster must stay
# converged with no death and no suspicion that sticks, and nothing may be
# dropped: had a sender kept sealing with A after round 2, round 3 would drop
# its datagrams as unknown-key. Then a datagram sealed with the retired key is
# refused and counted, a keyring that does not load leaves the running one in
# place, and a changed key that cannot be reloaded is named as needing a restart.
. "$(dirname "$0")/lib.sh"

WIRE_SEND=${WIRE_SEND:-$BUILD_DIR/tools/wire_send}
[ -x "$WIRE_SEND" ] || fail "missing $WIRE_SEND (make tools)"
N=4
make_keyring "$T/a.key"
make_keyring "$T/b.key"
A=$(awk '$1 == "primary" { print $2, $3 }' "$T/a.key")
B=$(awk '$1 == "primary" { print $2, $3 }' "$T/b.key")

# keyfile I LINE...: node I's key file, written whole (mode 0600).
keyfile() {
	local i=$1
	shift
	printf '%s\n' "$@" >"$T/n$i.key.new"
	chmod 600 "$T/n$i.key.new"
	mv "$T/n$i.key.new" "$T/n$i.key"
}
# reload I WHAT: SIGHUP node I and wait until it has reloaded keyring WHAT.
reload() {
	local before
	before=$(grep -c "reload: keyring" "$LOG/n$1.log" || true)
	kill -HUP "${NODE_PID[$1]}"
	for _ in $(seq 1 50); do
		[ "$(grep -c "reload: keyring" "$LOG/n$1.log" || true)" -gt "$before" ] && break
		sleep 0.1
	done
	grep "reload: keyring" "$LOG/n$1.log" | tail -n1 | grep -qF "primary $2" ||
		fail "n$1 did not reload to primary $2: $(tail -n3 "$LOG/n$1.log")"
}
status_field() { # status_field I PYTHON-EXPR-ON-d
	"$MITOSIS" status --json -s "$T/n$1.sock" | python3 -c "import json,sys; d=json.load(sys.stdin); print($2)"
}
all_alive() {
	local i
	for i in $(seq 1 $N); do [ "$(count_state "$i" alive)" = $N ] || return 1; done
}

SEEDS=127.0.63.1:7950
for i in $(seq 1 $N); do
	keyfile "$i" "primary $A"
	KEYFILE=$T/n$i.key start_node "$i" "127.0.63.$i"
done
wait_until 20 all_alive || fail "the cluster did not converge before the rotation"
say "$N nodes alive, every one with key ${A%% *}"

for i in $(seq 1 $N); do keyfile "$i" "primary $A" "accept $B" && reload "$i" "${A%% *}"; done
say "round 1: ${B%% *} accepted everywhere"
for i in $(seq 1 $N); do
	keyfile "$i" "accept $A" "primary $B" && reload "$i" "${B%% *}"
	sleep 1
done
say "round 2: ${B%% *} primary, one node a second"
for i in $(seq 1 $N); do keyfile "$i" "primary $B" && reload "$i" "${B%% *}"; done
say "round 3: ${A%% *} dropped everywhere"
sleep 3 # several probe rounds with B alone

all_alive || fail "not every node sees $N alive after the rotation"
for i in $(seq 1 $N); do
	read -r unknown deaths < <(status_field "$i" 'd["datagrams"]["drops"]["unknown-key"], d["swim"]["deaths"]')
	[ "$unknown" = 0 ] || fail "n$i dropped $unknown datagrams as unknown-key: a sender kept the old key"
	[ "$deaths" = 0 ] || fail "n$i declared $deaths deaths during the rotation"
done
say "after the rotation: $N alive everywhere, no unknown-key drop, no death"

# A datagram sealed with the retired key is refused and counted.
"$WIRE_SEND" -k "$T/a.key" -c itest -t 127.0.63.2:7950 -n 4242 -r 1002 valid=5 >/dev/null
sleep 0.5
unknown=$(status_field 2 'd["datagrams"]["drops"]["unknown-key"]')
[ "$unknown" = 5 ] || fail "n2 counted $unknown unknown-key drops for 5 datagrams under the retired key"
say "5 datagrams under the retired key: 5 unknown-key drops counted"

# A keyring that does not load leaves the running one in place.
printf 'primary deadbeef not-base64\n' >"$T/n1.key"
kill -HUP "${NODE_PID[1]}"
wait_for "$LOG/n1.log" 5 "keeping keyring ${B%% *}" || fail "n1 did not keep its keyring: $(tail -n3 "$LOG/n1.log")"
keyfile 1 "primary $B"
# A key that cannot change while the agent runs is named, and keeps its value.
echo "probe_interval = 2s" >>"$T/n1.conf"
reload 1 "${B%% *}"
wait_for "$LOG/n1.log" 5 "reload: probe_interval changed; it needs a restart" ||
	fail "n1 did not name probe_interval: $(tail -n3 "$LOG/n1.log")"
sleep 1
all_alive || fail "the cluster fell apart after the failed reload"
say "a broken keyring is refused (the old one stays); probe_interval needs a restart, and says so"
