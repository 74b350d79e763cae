#!/usr/bin/env bash
# sign_datagrams: a node that signs every datagram (Ed25519) and two that do
# not (the default) form one cluster; the unsigned nodes accept its signed
# datagrams (counted), it accepts theirs, and a signed datagram with a broken
# signature is refused as bad-signature although its tag is right.
. "$(dirname "$0")/lib.sh"

WIRE_SEND=${WIRE_SEND:-$BUILD_DIR/tools/wire_send}
[ -x "$WIRE_SEND" ] || fail "missing $WIRE_SEND (make tools)"
make_keyring "$T/cluster.key"
SEEDS=127.0.12.1:7950
start_node 1 127.0.12.1 "sign_datagrams = yes"
start_node 2 127.0.12.2
start_node 3 127.0.12.3
wait_for "$LOG/n1.log" 10 "datagrams signed" || fail "n1 does not say it signs: $(tail -3 "$LOG/n1.log")"

all_three() {
	local i
	for i in 1 2 3; do [ "$(count_state "$i" alive)" = 3 ] || return 1; done
}
wait_until 20 all_three || fail "signing and non-signing agents did not converge"

# Each datagram from n1 is 64 bytes longer: n2's accepted traffic includes
# them, and nobody refused anything.
verdict() { "$MITOSIS" status --json -s "$T/n$1.sock" | python3 -c 'import json,sys
d=json.load(sys.stdin)["datagrams"]; print(d["accepted"], sum(d["drops"].values()))'; }
read -r acc2 drops2 < <(verdict 2)
read -r acc1 drops1 < <(verdict 1)
[ "$acc2" -gt 0 ] && [ "$drops2" -eq 0 ] || fail "n2: accepted $acc2, dropped $drops2"
[ "$acc1" -gt 0 ] && [ "$drops1" -eq 0 ] || fail "n1: accepted $acc1, dropped $drops1"

"$WIRE_SEND" -k "$T/cluster.key" -c itest -t 127.0.12.2:7950 -n 4242 badsig=3 plain=2 >/dev/null
sleep 0.5
bad=$("$MITOSIS" status --json -s "$T/n2.sock" | python3 -c 'import json,sys; print(json.load(sys.stdin)["datagrams"]["drops"]["bad-signature"])')
[ "$bad" = 3 ] || fail "n2 counted $bad bad signatures, expected 3"
say "a signing node and two plain ones agree on 3 members; forged signatures refused ($bad)"
