#!/usr/bin/env bash
# The attacks of issue 10 (docs/protocol.md, "Threat model"), each against a
# cluster of four real agents (127.0.14.1-4:7950, ids 1001-1004), made by
# tests/tools/swim_inject: an outsider replaying a capture, and a member that
# holds the cluster key and lies. Each attack says what must hold after it:
#
#   replay    the join of 1004 captured on its way to its seed 1001 (a raw
#             socket on lo, tests/tools/capture.py) and replayed to 1003 from
#             a socket that is no member's gets no answer at all (the envelope
#             names its receiver); it made 1003 send its table to the
#             attacker's address before
#   accuse    "1002 is DEAD (or SUSPECT) at 2^64-1" and "1002 LEFT at 2^64-1":
#             1002 stays (or is again) alive everywhere; it could never refute
#   redirect  "1002 ALIVE at 127.0.14.9, incarnation 2^64-1": refused; it
#             redirected 1002's probes to the attacker for good
#   load      "1002's load is version 2^32-1, 100% CPU": nobody shows it
#   stamp     envelopes in 1002's name stamped 2^64-1 (refused) and 10 s ahead
#             (taken): 1002 is alive everywhere again within 25 s; before, an
#             envelope at incarnation 2^64-1 locked 1002 out forever
#   fake      2,000 invented members with valid self-signatures at 1001:
#             none is admitted, and a SIGKILLed member is declared dead within
#             10 s (it stayed alive over 60 s, probes slowed to 1 per 8 s)
#   amplify   300 push-pull requests and 300 "who are you" from one
#             non-member socket with rotating ids: at most a budget's worth of
#             answers (bytes out below bytes in); 611 times the bytes before
#
# ATTACKS="replay fake" runs a subset (the same names).
. "$(dirname "$0")/lib.sh"

INJECT=${INJECT:-$BUILD_DIR/tools/swim_inject}
[ -x "$INJECT" ] || fail "missing $INJECT (make tools)"
ATTACKS=${ATTACKS:-"replay accuse redirect load stamp fake amplify"}
make_keyring "$T/cluster.key"
SEEDS=127.0.14.1:7950
for i in 1 2 3; do start_node "$i" "127.0.14.$i"; done
CAPTURE=
if [ "$(id -u)" -eq 0 ]; then
	# An outsider on the path: it captures the join 1004 sends its seed.
	python3 "$ROOT/tests/tools/capture.py" capture --src 127.0.14.4 --dst 127.0.14.1 \
		--dport 7950 --out "$T/captured" --timeout 15 &
	CAPTURE=$!
	PIDS+=("$CAPTURE")
	sleep 0.5
fi
start_node 4 127.0.14.4

inject() { "$INJECT" -k "$T/cluster.key" -c itest "$@"; }
# inject_all ARGS...: the same lie to every node, as node 1004 would tell it.
inject_all() {
	local i
	for i in 1 2 3; do inject -t "127.0.14.$i:7950" -n 1004 -r "$((1000 + i))" "$@" >/dev/null; done
}
all_alive() {
	local i
	for i in "$@"; do [ "$(count_state "$i" alive)" = 4 ] || return 1; done
}
# member_field I ID FIELD: a field of member ID in node I's table (python expression on m).
member_field() {
	members_json "$1" | python3 -c 'import json,sys
m=[x for x in json.load(sys.stdin) if x["id"]==int(sys.argv[1])]
print(eval(sys.argv[2], {"m": m[0]}) if m else "none")' "$2" "$3"
}
status_field() {
	"$MITOSIS" status --json -s "$T/n$1.sock" | python3 -c 'import json,sys
d=json.load(sys.stdin); print(eval(sys.argv[1], {"d": d}))' "$2"
}
run_attack() { [[ " $ATTACKS " == *" $1 "* ]]; }

wait_until 30 all_alive 1 2 3 4 || fail "the four agents did not converge"
say "four agents converged"

if run_attack replay && [ -n "$CAPTURE" ]; then
	wait "$CAPTURE" || fail "replay: nothing captured from 1004 to its seed"
	out=$(python3 "$ROOT/tests/tools/capture.py" replay --file "$T/captured" --to 127.0.14.3:7950)
	replies=$(echo "$out" | awk '{print $2}')
	[ "$replies" = 0 ] || fail "replay: 1003 answered a capture meant for 1001: $out"
	[ "$(status_field 3 'd["datagrams"]["drops"]["bad-tag"]')" -ge 1 ] || fail "replay: not counted as bad-tag"
	say "replay: a capture meant for 1001 gets nothing from 1003 ($out)"
elif run_attack replay; then
	say "replay: skipped (capturing needs root)"
fi

if run_attack accuse; then
	inc=$(member_field 1 1002 'm["incarnation"]')
	inject_all accuse 1002 dead max
	inject_all accuse 1002 suspect max
	inject_all left 1002 max
	inject_all left 1002 "$((inc + 1))"
	wait_until 10 all_alive 1 2 3 || fail "accuse: 1002 not alive everywhere after DEAD/LEFT at 2^64-1"
	inc=$(member_field 1 1002 'm["incarnation"]')
	[ "$inc" != 18446744073709551615 ] || fail "accuse: 1002's incarnation was pushed to 2^64-1"
	[ "$(status_field 1 'd["swim"]["bad_signatures"]')" -ge 1 ] &&
		[ "$(status_field 1 'd["swim"]["key_mismatches"]')" -ge 1 ] &&
		[ "$(status_field 1 'd["swim"]["out_of_bounds"]')" -ge 1 ] ||
		fail "accuse: the forged LEFTs were not counted: $(status_field 1 'd["swim"]')"
	say "accuse: DEAD/SUSPECT/LEFT at 2^64-1 refuted or refused; 1002 alive at incarnation $inc"
fi

if run_attack redirect; then
	inject_all alive 1002 max 127.0.14.9:7950
	sleep 3
	for i in 1 3; do
		addr=$(member_field "$i" 1002 'm["addr"]')
		[ "$addr" = 127.0.14.2:7950 ] || fail "redirect: node $i holds 1002 at $addr"
	done
	wait_until 5 all_alive 1 2 3 || fail "redirect: 1002 not alive everywhere"
	say "redirect: 1002 stays at 127.0.14.2:7950 everywhere"
fi

if run_attack load; then
	inject_all load 1002 4294967295 1000
	sleep 2
	for i in 1 3; do
		cpu=$(member_field "$i" 1002 'm.get("load", {}).get("cpu")')
		[ "$cpu" != 1.0 ] && [ "$cpu" != 100.0 ] || fail "load: node $i shows 1002 at cpu $cpu"
	done
	say "load: nobody shows 1002's forged 100% CPU"
fi

if run_attack stamp; then
	inject_all stamp max
	inject_all stamp 10000
	for i in 1 2 3; do
		inject -t "127.0.14.$i:7950" -n 1002 -r "$((1000 + i))" stamp max >/dev/null
		inject -t "127.0.14.$i:7950" -n 1002 -r "$((1000 + i))" stamp 10000 >/dev/null
	done
	[ "$(status_field 1 'd["datagrams"]["drops"]["future"]')" -ge 1 ] || fail "stamp: 2^64-1 not refused as future"
	wait_until 25 all_alive 1 2 3 || fail "stamp: 1002 not alive everywhere 25 s after its stamps were forged"
	say "stamp: forged stamps at 2^64-1 refused, +10 s passed by the honest sender"
fi

if run_attack fake; then
	inject -t 127.0.14.1:7950 -n 1004 -r 1001 fake-members 2000 >/dev/null
	sleep 2
	total=$(status_field 1 'd["members"]["total"]')
	[ "$total" -le 4 ] || fail "fake: node 1 holds $total members"
	kill -9 "${NODE_PID[3]}"
	t0=$(date +%s)
	wait_until 10 bash -c "[ \"\$(\"$MITOSIS\" members --json -s $T/n1.sock | python3 -c 'import json,sys; print([x[\"state\"] for x in json.load(sys.stdin) if x[\"id\"]==1003][0])')\" = dead ]" ||
		fail "fake: node 1 did not declare the killed 1003 dead within 10 s (awareness $(status_field 1 'd["swim"]["awareness"]'))"
	say "fake: 2000 invented members, none admitted ($(status_field 1 'd["swim"]["joining_full"]') refused for room, $(status_field 1 'd["swim"]["joins_failed"]') unanswered); a killed node dead after $(($(date +%s) - t0)) s"
fi

if run_attack amplify; then
	for what in amplify who; do
		out=$(inject -t 127.0.14.2:7950 -n 5000 -r 1002 "$what" 300)
		read -r _ n _ bytes _ sent <<<"$out"
		[ "$n" -le 100 ] || fail "amplify: $what: $n answers to 300 requests with rotating ids"
		[ "$bytes" -le "$sent" ] || fail "amplify: $what: $bytes bytes out for $sent in"
		say "amplify: $what: $n answers, $bytes bytes for $sent bytes of requests"
	done
fi
say "every attack refused"
