#!/usr/bin/env bash
# A leader frozen past its lease must not act when it resumes (issue 11,
# property 1, and docs/election.md "What the shell must still do"). Five
# agents elect a leader L; SIGSTOP L for 10 s: the others elect L2 in a new
# term, which takes L out of rotation (it is dead to them). SIGCONT L: L's
# timers fire late, its reconcile is due, and its view says it is alive and
# in office and should be in rotation. The simulator's request log must show
# no mutating call from L after L2's term began (none carrying L's old term),
# and L must follow L2. L2 then puts L back.
. "$(dirname "$0")/lib.sh"

elect_cluster 5 127.0.72 "bootstrap_expect = 5" "reconcile_interval = 3s"
L=$LEADER_I
TERM1=$LEADER_TERM
in_dns() { [ "$(sim_state "'$1' in www()")" = "$2" ]; }
wait_until 20 in_dns "${PUB[$L]}" True || fail "the leader is not in rotation"
say "node ${IDS[$L]} leads term $TERM1; SIGSTOP for 10 s"

t_stop=$(date +%s.%N)
kill -STOP "${NODE_PID[$L]}"
REST=()
for i in "${ALL[@]}"; do [ "$i" = "$L" ] || REST+=("$i"); done
new_leader() { agreed_leader "${REST[@]}" && [ "$LEADER_I" != "$L" ]; }
wait_until 15 new_leader || { kill -CONT "${NODE_PID[$L]}"; fail "no new leader while the old one is stopped"; }
L2=$LEADER_I
TERM2=$LEADER_TERM
t_term2=$(log_time "$LOG/n$L2.log" "election: lease held: this node may act in term $TERM2")
wait_until 15 in_dns "${PUB[$L]}" False || { kill -CONT "${NODE_PID[$L]}"; fail "L2 did not take the stopped leader out of rotation"; }
say "node ${IDS[$L2]} leads term $TERM2 and took the stopped node out of DNS"
while [ "$(python3 -c "import time; print(int(time.time() - $t_stop < 10))")" = 1 ]; do sleep 0.2; done

t_cont=$(date +%s.%N)
kill -CONT "${NODE_PID[$L]}"
wait_until 20 agreed_leader "${ALL[@]}" || fail "the resumed node does not follow: $(leader_json "$L")"
[ "$LEADER_I" = "$L2" ] || fail "the resumed node took the lead back"
wait_until 20 in_dns "${PUB[$L]}" True || fail "L2 did not put the resumed node back into rotation"
sleep 4 # a reconcile of the old leader, had it acted, would have run by now

late=$(mutating_calls "'node=${IDS[$L]} ' in r.get('agent', '') and r['time'] > $t_term2")
[ -z "$late" ] || fail "the old leader acted after term $TERM2 began: $late"
old=$(mutating_calls "'term=$TERM1 ' in r.get('agent', '') and r['time'] > $t_term2")
[ -z "$old" ] || fail "mutating calls of term $TERM1 after term $TERM2 began: $old"
grep -qF "leader: out of office (term $TERM1)" "$LOG/n$L.log" || fail "the old leader did not leave office"
[ "$(leader_field "$L" role)" = voter ] || fail "the old leader is not a follower: $(leader_json "$L")"
say "resumed $(python3 -c "print(round($t_cont - $t_stop, 1))") s after the stop: no mutating call from it after term $TERM2 began"
