#!/usr/bin/env bash
# A 3|2 split (issue 11, property 2). Five agents on loopback addresses elect
# a leader L; nftables rules then drop gossip between {L, one other} and the
# other three (the simulator on 127.0.0.1 stays reachable to all). Only the
# 3-side elects (a new term); the 2-side, the old leader included, makes no
# mutating call once its lease has run out, and says the quorum is lost.
# Heal: one leader for all five, terms only go up, and nothing is repeated:
# each node holds one DNS record and one place on the load balancer.
# The rules live in a table of their own, removed on exit, pass or fail.
. "$(dirname "$0")/lib.sh"

nft_guard mts_split

NET=127.0.73
elect_cluster 5 "$NET" "bootstrap_expect = 5" "reconcile_interval = 4s"
L=$LEADER_I
TERM1=$LEADER_TERM
all_dns() { [ "$(sim_state 'len(www())')" = 5 ]; }
wait_until 20 all_dns || fail "not all in rotation: $(sim_state 'www()')"

# The minority: the leader and the next node; the majority: the other three.
M2=("$L" "$(((L + 1) % 5))")
M3=()
for i in "${ALL[@]}"; do [ "$i" = "${M2[0]}" ] || [ "$i" = "${M2[1]}" ] || M3+=("$i"); done
addrs() { local i out=; for i in "$@"; do out+="${out:+, }$NET.$((i + 1))"; done; echo "$out"; }
A2=$(addrs "${M2[@]}")
A3=$(addrs "${M3[@]}")
t_split=$(date +%s.%N)
nft_split "$A2" "$A3"
say "split: {$A2} (the leader's side) | {$A3}"

majority_leads() { agreed_leader "${M3[@]}" && [[ " ${M3[*]} " == *" $LEADER_I "* ]]; }
wait_until 20 majority_leads || fail "the 3-side did not elect: $(for i in "${M3[@]}"; do leader_json "$i"; echo; done)"
L3=$LEADER_I
TERM2=$LEADER_TERM
[ "$TERM2" -gt "$TERM1" ] || fail "the 3-side's term $TERM2 is not above $TERM1"
t_term2=$(log_time "$LOG/n$L3.log" "election: lease held: this node may act in term $TERM2")
say "the 3-side elected node ${IDS[$L3]} in term $TERM2"
minority_quiet() {
	local i
	for i in "${M2[@]}"; do
		[ "$(leader_field "$i" leading)" = false ] || return 1
		[ "$(leader_field "$i" quorum_lost)" = true ] || return 1
	done
}
wait_until 30 minority_quiet || fail "the 2-side still leads or does not see the lost quorum: $(leader_json "${M2[0]}")"
"$MITOSIS" status -s "$T/n${M2[1]}.sock" >"$LOG/status-minority.txt"
grep -qF "QUORUM LOST" "$LOG/status-minority.txt" || fail "status on the 2-side: $(cat "$LOG/status-minority.txt")"
grep -qF "mitosis leader force-recover" "$LOG/status-minority.txt" || fail "status does not name the recovery"
sleep 5 # the 2-side's reconcile would be due twice over by now
ids2="[${IDS[${M2[0]}]}, ${IDS[${M2[1]}]}]"
late=$(mutating_calls "any('node=%d ' % i in r.get('agent', '') for i in $ids2) and r['time'] > $t_split + 3.0")
[ -z "$late" ] || fail "the 2-side made mutating calls after its lease: $late"
stale=$(mutating_calls "'term=$TERM1 ' in r.get('agent', '') and r['time'] > $t_term2")
[ -z "$stale" ] || fail "calls of term $TERM1 after term $TERM2 began: $stale"
say "the 2-side makes no mutating call and reports the lost quorum"

# Heal.
nft delete table inet "$TABLE"
say "healed"
healed() { agreed_leader "${ALL[@]}" && [ "$LEADER_TERM" -ge "$TERM2" ]; }
wait_until 30 healed || fail "no single leader after the heal: $(for i in "${ALL[@]}"; do leader_json "$i"; echo; done)"
TERM3=$LEADER_TERM
wait_until 30 all_dns || fail "not all back in rotation: $(sim_state 'www()')"
dup_dns=$(sim_state "len(www()) - len(set(www()))")
dup_lb=$(sim_state "len(lb('$LB')) - len(set(lb('$LB')))")
[ "$dup_dns" = 0 ] && [ "$dup_lb" = 0 ] || fail "duplicates after the heal: dns $(sim_state 'www()') lb $(sim_state "lb('$LB')")"
[ "$(sim_state "lb('$LB')")" = "$(python3 -c 'import sys; print(sorted(int(x) for x in sys.argv[1:]))' "${IDS[@]}")" ] ||
	fail "LB after the heal: $(sim_state "lb('$LB')")"
for i in "${ALL[@]}"; do
	t=$(leader_field "$i" term)
	[ "$t" -ge "$TERM2" ] || fail "node $i is still in term $t"
done
say "after the heal: node $AGREED leads term $TERM3 (terms $TERM1 -> $TERM2 -> $TERM3), each node once in DNS and on the LB"
