#!/usr/bin/env bash
# The voter set (docs/election.md, "The voter set" and "Lost quorum"): ten
# agents, five voters. kill -9 two voters at once: the leader replaces them
# with healthy non-voters (voter_replace_after = 3 s here) and keeps acting
# (it takes the dead out of rotation). kill -9 three of the five voters at
# once (the leader survives): the leader steps down within its lease, no node
# leads, no API call at all is made any more, and `status` says the quorum is
# lost and names the recovery step. `mitosis leader force-recover --yes` on
# one survivor then restores a leader, which acts again.
. "$(dirname "$0")/lib.sh"

elect_cluster 10 127.0.74 "bootstrap_expect = 6" "voter_replace_after = 3s" "voter_stable = 2s" \
	"reconcile_interval = 5s"
ALIVE=("${ALL[@]}")
say "node $AGREED leads term $LEADER_TERM"

# voters_of I: the voter ids node I names, space-separated.
voters_of() { leader_json "$1" | python3 -c 'import json,sys; print(" ".join(str(v["id"]) for v in json.load(sys.stdin)["voters"]))'; }
# voters_alive_of I: how many of them it holds alive.
voters_alive_of() { leader_field "$1" voters_alive; }
five_voters() { [ "$(voters_of "$LEADER_I" | wc -w)" = 5 ] && [ "$(voters_alive_of "$LEADER_I")" = 5 ]; }
wait_until 20 five_voters || fail "not five voters: $(leader_json "$LEADER_I")"
read -r -a V <<<"$(voters_of "$LEADER_I")"
say "voters: ${V[*]}"

# drop I: node I is gone from ALIVE.
drop() {
	local i keep=()
	for i in "${ALIVE[@]}"; do [ "$i" = "$1" ] || keep+=("$i"); done
	ALIVE=("${keep[@]}")
}
# Two voters other than the leader, killed at once.
KILL=()
for v in "${V[@]}"; do
	[ "$v" = "$AGREED" ] || [ "${#KILL[@]}" -ge 2 ] || KILL+=("$(index_of "$v")")
done
for i in "${KILL[@]}"; do kill -9 "${NODE_PID[$i]}"; done
for i in "${KILL[@]}"; do wait "${NODE_PID[$i]}" 2>/dev/null || true; drop "$i"; done
say "killed voters ${IDS[${KILL[0]}]} and ${IDS[${KILL[1]}]}"
replaced() {
	agreed_leader "${ALIVE[@]}" || return 1
	local now
	now=$(voters_of "$LEADER_I")
	[ "$(wc -w <<<"$now")" = 5 ] && [ "$(voters_alive_of "$LEADER_I")" = 5 ] &&
		[[ " $now " != *" ${IDS[${KILL[0]}]} "* ]] && [[ " $now " != *" ${IDS[${KILL[1]}]} "* ]]
}
wait_until 40 replaced || fail "the dead voters were not replaced: $(leader_json "$LEADER_I")"
read -r -a V <<<"$(voters_of "$LEADER_I")"
eight_dns() { [ "$(sim_state 'len(www())')" = 8 ]; }
wait_until 20 eight_dns || fail "the dead are still in rotation: $(sim_state 'www()')"
say "node $AGREED promoted non-voters (voters now ${V[*]}) and took the dead out of rotation"

# Three voters other than the leader, killed at once: no majority is left.
L=$LEADER_I
KILL=()
for v in "${V[@]}"; do
	[ "$v" = "$AGREED" ] || [ "${#KILL[@]}" -ge 3 ] || KILL+=("$(index_of "$v")")
done
t_kill=$(date +%s.%N)
for i in "${KILL[@]}"; do kill -9 "${NODE_PID[$i]}"; done
for i in "${KILL[@]}"; do wait "${NODE_PID[$i]}" 2>/dev/null || true; drop "$i"; done
say "killed voters ${IDS[${KILL[0]}]}, ${IDS[${KILL[1]}]} and ${IDS[${KILL[2]}]}"
nobody_leads() {
	local i
	for i in "${ALIVE[@]}"; do [ "$(leader_field "$i" leading)" = false ] || return 1; done
}
wait_until 10 nobody_leads || fail "a node still leads without a majority"
lost_everywhere() {
	local i
	for i in "${ALIVE[@]}"; do [ "$(leader_field "$i" quorum_lost)" = true ] || return 1; done
}
wait_until 40 lost_everywhere || fail "not every survivor reports the lost quorum: $(leader_json "$L")"
"$MITOSIS" status -s "$T/n$L.sock" >"$LOG/status-lost.txt"
grep -qE "^election: QUORUM LOST in term [0-9]+: 2 of 5 voters alive, no leader" "$LOG/status-lost.txt" ||
	fail "status: $(grep -A4 '^election' "$LOG/status-lost.txt")"
grep -qF "recovery: if the dead voters are gone for good, run \`mitosis leader force-recover\` on ONE surviving voter" "$LOG/status-lost.txt" ||
	fail "status does not name the recovery step: $(cat "$LOG/status-lost.txt")"
sleep 6 # more than one reconcile_interval: a leader still at work would call the API
calls=$(sim_state "sum(1 for r in s['request_log'] if r.get('agent', '').startswith('mitosis/') and r['time'] > $t_kill + 3.0)")
[ "$calls" = 0 ] || fail "$calls API calls after the quorum was lost: $(sim_state "[r['method'] + ' ' + r['path'] for r in s['request_log'] if r['time'] > $t_kill + 3.0]")"
say "no leader, no API call, and status names the recovery step"

# force-recover on one surviving voter restores a leader.
R=$L
"$MITOSIS" leader force-recover -s "$T/n$R.sock" </dev/null >"$LOG/fr-noconfirm.out" 2>&1 && fail "force-recover ran without confirmation"
grep -qF "confirm with --yes" "$LOG/fr-noconfirm.out" || fail "force-recover: $(cat "$LOG/fr-noconfirm.out")"
"$MITOSIS" leader force-recover --yes -s "$T/n$R.sock" >"$LOG/fr.out" 2>&1 || fail "force-recover: $(cat "$LOG/fr.out")"
wait_until 30 agreed_leader "${ALIVE[@]}" || fail "no leader after force-recover: $(leader_json "$R")"
five_dns() { [ "$(sim_state 'len(www())')" = 5 ]; }
wait_until 30 five_dns || fail "the recovered leader does not act: $(sim_state 'www()')"
say "force-recover on node ${IDS[$R]}: node $AGREED leads term $LEADER_TERM and took the three dead out of rotation"
