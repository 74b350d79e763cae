#!/usr/bin/env bash
# Ten real agents on distinct loopback addresses (127.0.10.1-10, port 7950):
#  (a) they form one cluster from one seed and agree on membership;
#  (b) one killed with SIGKILL is marked dead by every other;
#  (c) one paused with SIGSTOP and resumed refutes and is alive everywhere
#      again, and no healthy node is ever declared dead;
#  (f) a node with another keyring is never admitted;
#  and a graceful stop (SIGTERM) is seen as "left", not "dead".
. "$(dirname "$0")/lib.sh"

N=10
make_keyring "$T/cluster.key"
SEEDS=127.0.10.1:7950
for i in $(seq 1 $N); do
	start_node "$i" "127.0.10.$i"
done

all_see() { # all_see STATE COUNT [skip node]
	local i
	for i in $(seq 1 $N); do
		[ "$i" = "${3:-}" ] && continue
		[ "$(count_state "$i" "$1")" = "$2" ] || return 1
	done
}
wait_until 30 all_see alive $N || {
	for i in $(seq 1 $N); do echo "n$i sees $(count_state "$i" alive) alive"; done
	fail "(a) the $N agents did not converge"
}
say "(a) $N agents agree: $N alive each"

# (f) an intruder with its own keyring, seeded like the others.
"$MITOSIS" keygen -o "$T/other.key" >/dev/null
awk '$1 == "primary" { print $3 }' "$T/other.key" >>"$MITOSIS_SECRETS"
KEYFILE=$T/other.key start_node 11 127.0.10.11
sleep 3
for i in $(seq 1 $N); do
	[ "$(state_of "$i" 1011)" = none ] || fail "(f) n$i admitted the node with a wrong key"
done
[ "$(count_state 11 alive)" = 1 ] || fail "(f) the intruder learned members: $(count_state 11 alive)"
kill -TERM "${NODE_PID[11]}"
say "(f) a node with an unknown key is never admitted"

# (b) SIGKILL one member.
t0=$(date +%s%N)
kill -KILL "${NODE_PID[10]}"
dead_everywhere() {
	local i
	for i in $(seq 1 9); do [ "$(state_of "$i" 1010)" = dead ] || return 1; done
}
wait_until 30 dead_everywhere || {
	for i in $(seq 1 9); do echo "n$i: 1010 is $(state_of "$i" 1010)"; done
	fail "(b) the killed node was not marked dead by every member within 30 s"
}
say "(b) killed node marked dead by all 9 others after $((($(date +%s%N) - t0) / 1000000)) ms"

# (c) pause one member for 5 s: long enough to be suspected (and, with the
# default timeouts, declared dead: a stopped process is indistinguishable from
# a crashed one). Once resumed it must refute and be alive everywhere, and no
# healthy node may ever be declared dead, neither by the others nor by the
# paused node acting on its own late timers. (With one probe a second per
# node, the first probe of a given node comes after ~1 s on average; 5 s
# leaves a chance of about 1 in 200 that nobody probed it at all, and then
# there is nothing to refute: the test says so rather than fail.)
kill -STOP "${NODE_PID[9]}"
sleep 5
kill -CONT "${NODE_PID[9]}"
alive_again() {
	local i
	for i in $(seq 1 8); do [ "$(state_of "$i" 1009)" = alive ] || return 1; done
}
wait_until 20 alive_again || fail "(c) the resumed node is not alive everywhere"
for i in $(seq 1 9); do
	if grep -qE "member 100[1-8] .*-> dead" "$LOG/n$i.log"; then
		fail "(c) n$i declared a healthy node dead: $(grep -E -- '-> dead' "$LOG/n$i.log" | head -3)"
	fi
done
refutes=$("$MITOSIS" status --json -s "$T/n9.sock" | python3 -c 'import json,sys; print(json.load(sys.stdin)["swim"]["refutations"])')
if grep -qE 'member 1009 .*-> (suspect|dead)' "$LOG"/n[1-8].log; then
	[ "$refutes" -ge 1 ] || fail "(c) the paused node was suspected but never refuted"
	say "(c) paused node refuted ($refutes refutations), alive everywhere; no healthy node declared dead"
else
	say "(c) nobody probed the paused node during its 5 s pause: nothing to refute; no healthy node declared dead"
fi

# A graceful stop is a leave, not a failure.
kill -TERM "${NODE_PID[8]}"
wait_exit "${NODE_PID[8]}" 10 || fail "n8 did not stop"
[ "$EXIT_CODE" -eq 0 ] || fail "n8 exited $EXIT_CODE"
left_everywhere() {
	local i
	for i in $(seq 1 7); do [ "$(state_of "$i" 1008)" = left ] || return 1; done
}
wait_until 10 left_everywhere || fail "graceful stop not seen as left: n1 says $(state_of 1 1008)"
say "graceful stop seen as left by every member"
