#!/usr/bin/env bash
# timeout: 90
# The replicated history (docs/policy.md, "History replication"), without a
# cloud: three agents elect a leader, which appends test records through the
# hidden verb `_history-append` (test only). Every node answers them in
# `mitosis history` within a few seconds; after kill -9 of the leader the
# others still answer them and the new leader's records follow; the killed
# node restarts with its file (state_dir/history, here with three bytes of
# junk appended: its good prefix is kept and the damage logged with its
# offset) and pulls what it missed.
. "$(dirname "$0")/lib.sh"

NET=127.0.81
make_keyring "$T/cluster.key"
IDS=(1000 1001 1002)
ALL=(0 1 2)
# Every node seeds every node: a restarted first node has someone to join.
SEEDS="$NET.1, $NET.2, $NET.3"
for i in "${ALL[@]}"; do
	start_node "$i" "$NET.$((i + 1))" "bootstrap_expect = 3" "bootstrap_settle = 1s"
done
wait_until 30 agreed_leader "${ALL[@]}" || fail "no agreed leader"
L=$LEADER_I
say "node ${IDS[$L]} leads term $LEADER_TERM"

history_has() { "$MITOSIS" history -s "$T/n$1.sock" 2>/dev/null | grep -qF -- "$2"; }
everyone_has() {
	local i
	for i in "${@:2}"; do history_has "$i" "$1" || return 1; done
}

F=$(((L + 1) % 3))
"$MITOSIS" _history-append "not the leader" -s "$T/n$F.sock" 2>"$LOG/refused.txt" &&
	fail "a follower appended a record"
grep -qF "does not lead" "$LOG/refused.txt" || fail "refusal: $(cat "$LOG/refused.txt")"
t0=$(date +%s.%N)
for k in 1 2 3 4; do
	"$MITOSIS" _history-append "test record $k of term $LEADER_TERM" -s "$T/n$L.sock" >/dev/null
done
wait_until 5 everyone_has "test record 4 of term $LEADER_TERM" "${ALL[@]}" ||
	fail "not on every node within 5 s: $(for i in "${ALL[@]}"; do "$MITOSIS" history -s "$T/n$i.sock"; done)"
ms=$(python3 -c "import time; print(int((time.time() - $t0) * 1000))")
say "4 records on all 3 nodes ${ms} ms after the first append"
n=$("$MITOSIS" history --json -s "$T/n$F.sock" | python3 -c 'import json,sys; r=json.load(sys.stdin)["records"]; print(len(r), r[-1]["term"], r[-1]["seq"], r[-1]["kind"])')
[ "$n" = "4 $LEADER_TERM 4 decision" ] || fail "history --json on a follower: $n"
[ "$("$MITOSIS" history -n 2 -s "$T/n$F.sock" | wc -l)" = 2 ] || fail "history -n 2"
"$MITOSIS" history -n 0 -s "$T/n$F.sock" 2>/dev/null && fail "history -n 0 accepted"

# kill -9 of the leader: the others still answer, the new leader appends after.
# (Its file is written at most once a second: give it that.)
TERM1=$LEADER_TERM
sleep 1.5
kill -9 "${NODE_PID[$L]}"
wait "${NODE_PID[$L]}" 2>/dev/null || true
REST=()
for i in "${ALL[@]}"; do [ "$i" = "$L" ] || REST+=("$i"); done
new_leader() { agreed_leader "${REST[@]}" && [ "$LEADER_I" != "$L" ]; }
wait_until 20 new_leader || fail "no new leader after the kill"
L2=$LEADER_I
everyone_has "test record 4 of term $TERM1" "${REST[@]}" || fail "old records lost after the failover"
"$MITOSIS" _history-append "after the failover" -s "$T/n$L2.sock" >/dev/null
wait_until 5 everyone_has "after the failover" "${REST[@]}" || fail "the new leader's record did not spread"
say "node ${IDS[$L2]} leads term $LEADER_TERM; both survivors answer the old records and the new one"

# The killed node restarts from its file (damaged at its end) and catches up.
f="$T/n$L.state/history"
[ -f "$f" ] || fail "no history file in state_dir"
size=$(stat -c %s "$f")
printf '\x05\x01\x02' >>"$f"
spawn "n$L-again" "$MITOSIS" agent -c "$T/n$L.conf"
NODE_PID[$L]=$LAST_PID
wait_for "$LOG/n$L-again.log" 10 "damaged at byte $size of $((size + 3)) (record truncated): kept the 4 records before it" ||
	fail "damage not logged: $(grep history "$LOG/n$L-again.log")"
wait_until 10 history_has "$L" "test record 4 of term $TERM1" || fail "the restarted node lost its records"
wait_until 10 history_has "$L" "after the failover" || fail "the restarted node did not catch up"
[ "$("$MITOSIS" history -s "$T/n$L.sock" | wc -l)" = 5 ] || fail "restarted node: $("$MITOSIS" history -s "$T/n$L.sock")"
say "the restarted node kept its good prefix (damage at byte $size logged) and pulled the new record"
