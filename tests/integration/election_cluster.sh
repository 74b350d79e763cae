#!/usr/bin/env bash
# Five agents on loopback, five droplets of the simulator, the election at its
# defaults (docs/election.md): they bootstrap together and elect one leader,
# which alone puts every node into DNS and the load balancer (each mutating
# call carrying its term and an operation id in the request log; no other
# node calls the API at all). `status` and `leader` name the leader, the term,
# the lease left, each node's role and the voter set. kill -9 of the leader:
# a new one leads within lease + 2 s (5 s at the defaults) and takes the dead
# node out of rotation at once; the killed node restarts with its state and
# follows. Prints the failover time.
. "$(dirname "$0")/lib.sh"

elect_cluster 5 127.0.71 "bootstrap_expect = 5"
L=$LEADER_I
TERM1=$LEADER_TERM
say "node ${IDS[$L]} (e-$L) leads term $TERM1"
leaders=0
for i in "${ALL[@]}"; do
	[ "$(leader_field "$i" role)" = leader ] && leaders=$((leaders + 1))
done
[ "$leaders" = 1 ] || fail "$leaders nodes say they lead"
[ "$(leader_json 0 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["voters"]))')" = 5 ] ||
	fail "not five voters: $(leader_json 0)"

# The leader alone puts every node into rotation.
want_dns=$(python3 -c 'import sys; print(sorted(sys.argv[1:]))' "${PUB[@]}")
want_lb=$(python3 -c 'import sys; print(sorted(int(x) for x in sys.argv[1:]))' "${IDS[@]}")
in_rotation() { [ "$(sim_state 'www()')" = "$1" ] && [ "$(sim_state "lb('$LB')")" = "$2" ]; }
wait_until 20 in_rotation "$want_dns" "$want_lb" ||
	fail "not all in rotation: dns $(sim_state 'www()') lb $(sim_state "lb('$LB')")"
others=$(sim_state "sum(1 for r in s['request_log'] if r.get('agent', '').startswith('mitosis/') and 'node=${IDS[$L]} ' not in r['agent'] + ' ')")
[ "$others" = 0 ] || fail "$others API calls from nodes that do not lead: $(sim_state "[r['agent'] for r in s['request_log']]")"
bad=$(mutating_calls "'node=${IDS[$L]} term=$TERM1 op=${IDS[$L]}-' not in r.get('agent', '')")
[ -z "$bad" ] || fail "mutating calls without the leader's term and an op id: $bad"
ops=$(sim_state "len(set(r['agent'] for r in s['request_log'] if r['method'] != 'GET'))")
nmut=$(sim_state "sum(1 for r in s['request_log'] if r['method'] != 'GET')")
[ "$ops" = "$nmut" ] || fail "$nmut mutating calls share $ops operation ids"
say "the leader alone registered all five ($nmut mutating calls, each with term $TERM1 and its own op id)"

# status and leader say who leads, for how long, and what this node is.
F=$(((L + 1) % 5))
"$MITOSIS" status -s "$T/n$F.sock" >"$LOG/status.txt"
grep -qE "^election: node ${IDS[$L]} \"e-$L\" leads term $TERM1 \(lease [0-9.]+m?s left\); this node: voter \(follower\)$" "$LOG/status.txt" ||
	fail "status does not name the leader: $(grep -A3 '^election' "$LOG/status.txt")"
grep -qF "voters: 5 of 5 alive (wanted 5)" "$LOG/status.txt" || fail "status voters: $(cat "$LOG/status.txt")"
grep -qF "admission: inventory" "$LOG/status.txt" || fail "status admission: $(cat "$LOG/status.txt")"
"$MITOSIS" leader -s "$T/n$L.sock" >"$LOG/leader.txt"
grep -qE "leads term $TERM1 \(lease [0-9.]+m?s left\); this node: leader$" "$LOG/leader.txt" ||
	fail "leader on the leader: $(cat "$LOG/leader.txt")"
grep -qE "^leader's work in term $TERM1: 5 in rotation" "$LOG/leader.txt" || fail "leader's work: $(cat "$LOG/leader.txt")"
say "status and leader name the leader, the term, the lease, the role and the voters"

# kill -9 of the leader: a new one within lease + 2 s.
t_kill=$(date +%s.%N)
kill -9 "${NODE_PID[$L]}"
wait "${NODE_PID[$L]}" 2>/dev/null || true
REST=()
for i in "${ALL[@]}"; do [ "$i" = "$L" ] || REST+=("$i"); done
new_leader() { agreed_leader "${REST[@]}" && [ "$LEADER_I" != "$L" ]; }
wait_until 15 new_leader || fail "no new leader after the kill"
L2=$LEADER_I
TERM2=$LEADER_TERM
[ "$TERM2" -gt "$TERM1" ] || fail "the new leader's term $TERM2 is not above $TERM1"
t_lead=$(log_time "$LOG/n$L2.log" "election: lease held: this node may act in term $TERM2")
ms=$(python3 -c "print(int((float('$t_lead') - float('$t_kill')) * 1000))")
say "failover: node ${IDS[$L2]} leads term $TERM2, its lease held ${ms} ms after the kill (bound 5000 ms)"
[ "$ms" -le 5000 ] || fail "failover took ${ms} ms, over lease + 2 s"

# The new leader takes the dead one out of rotation as soon as it is declared dead.
want_dns=$(python3 -c 'import sys; print(sorted(sys.argv[2:][:int(sys.argv[1])] + sys.argv[2:][int(sys.argv[1]) + 1:]))' "$L" "${PUB[@]}")
want_lb=$(python3 -c 'import sys; a=sys.argv[2:]; print(sorted(int(x) for x in a[:int(sys.argv[1])] + a[int(sys.argv[1]) + 1:]))' "$L" "${IDS[@]}")
wait_until 20 in_rotation "$want_dns" "$want_lb" ||
	fail "the dead leader is still in rotation: dns $(sim_state 'www()') lb $(sim_state "lb('$LB')")"
late=$(mutating_calls "'term=$TERM1 ' in r.get('agent', '') and r['time'] > $t_kill")
[ -z "$late" ] || fail "mutating calls of term $TERM1 after the kill: $late"
say "the new leader took the dead node out of DNS and the load balancer"

# The killed node comes back with its state and follows.
spawn "n$L" "$MITOSIS" agent -c "$T/n$L.conf"
NODE_PID[$L]=$LAST_PID
wait_until 20 agreed_leader "${ALL[@]}" || fail "the restarted node does not follow: $(leader_json "$L")"
[ "$LEADER_I" = "$L2" ] || fail "the restarted node changed the leader"
grep -qF "election: state loaded: term" "$LOG/n$L.log" || fail "the restarted node did not load its state"
[ "$(leader_field "$L" role)" = voter ] || fail "the restarted node is not a voter: $(leader_json "$L")"
say "the killed node restarted with its state and follows term $TERM2"
