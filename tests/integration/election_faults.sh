#!/usr/bin/env bash
# Bad input and faults of the election (issue 11), with four agents, three
# voters, no API token (admission by the cluster key: `status` says so):
#   - forged votes, sent by tests/tools/elect_forge to a voter that campaigns
#     (two voters stopped): a grant signed with a key not pinned for its
#     sender, a grant of a term already passed (a replay, real key), and a
#     grant from a member outside the voter set (real key) are refused and
#     counted by reason in `status --json`, and the voter does not win;
#   - a corrupt and a truncated state file are refused with "FILE: reason"
#     and the node starts as a non-voter with a new state;
#   - a full disk (the voter's state_dir on a tiny tmpfs, filled up) means no
#     vote is sent: with the leader killed, the other voter cannot win until
#     the disk has room again.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: the full-disk case mounts a tmpfs, which needs root"
	exit 77
fi
MOUNTS=()
faults_cleanup() {
	local m
	cleanup_pids() {
		local pid
		for pid in "${PIDS[@]:-}"; do
			[ -n "$pid" ] || continue
			{ kill -CONT "$pid" && kill -9 "$pid" && wait "$pid"; } 2>/dev/null || true
		done
	}
	cleanup_pids
	for m in "${MOUNTS[@]:-}"; do [ -n "$m" ] && umount -l "$m" 2>/dev/null || true; done
	cleanup
}
trap faults_cleanup EXIT

make_keyring "$T/cluster.key"
NET=127.0.75
ALL=(1 2 3 4)
IDS=([1]=1001 [2]=1002 [3]=1003 [4]=1004)
for i in 1 2 3; do # the voters' state on tmpfs, so that one can be filled up
	mkdir -p "$T/n$i.state"
	mount -t tmpfs -o size=64k,mode=0700 tmpfs "$T/n$i.state"
	MOUNTS+=("$T/n$i.state")
done
start() { start_node "$1" "$NET.$1" "bootstrap_expect = 4" "bootstrap_settle = 1s" "voters = 3"; }
SEEDS=$NET.1
for i in "${ALL[@]}"; do start "$i"; done
wait_until 30 agreed_leader "${ALL[@]}" || fail "no agreed leader"
say "node $AGREED leads term $LEADER_TERM"
[ "$(leader_field 4 role)" = non-voter ] || fail "node 4 is not the non-voter: $(leader_json 4)"
"$MITOSIS" status -s "$T/n4.sock" | grep -qF "admission: cluster key only (no API token" ||
	fail "status does not name the token-less admission"

# refused NODE REASON: node NODE's count of refusals for REASON.
refused() { leader_json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["refused"][sys.argv[1]])' "$2"; }
state_of_node() { leader_field "$1" state; }
role_is() { [ "$(leader_field "$1" role)" = "$2" ]; }
sid_of() { leader_json "$1" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(next(v["sid"] for v in d["voters"] if v["id"]==int(sys.argv[1])))' "$2"; }

# --- forged votes: a voter campaigning alone (the other two stopped) ---
C=1
S=(2 3)
SID2=$(sid_of 1 1002)
for i in "${S[@]}"; do kill -STOP "${NODE_PID[$i]}"; done
campaigning() { [ "$(state_of_node $C)" = pre-candidate ]; }
wait_until 20 campaigning || { for i in "${S[@]}"; do kill -CONT "${NODE_PID[$i]}"; done; fail "node 1 does not campaign: $(leader_json $C)"; }
TERM=$(leader_field $C term)
before_sig=$(refused $C bad-signature)
before_stale=$(refused $C stale-term)
before_nv=$(refused $C not-voter)
forge() { "$BUILD_DIR/tools/elect_forge" -k "$T/cluster.key" -c itest -t "$NET.$C:7950" -r 1001 -T vote-resp -g -p -n 3 "$@"; }
# A pre-vote grant "from 1002" signed with a key that is not 1002's.
forge -f 1002 -s "$SID2" -R -e "$TERM" -q $((TERM + 1))
# A real pre-vote grant of 1002 (its own key) from the election of this term: a replay.
forge -f 1002 -s "$SID2" -K "$T/n2.state/node.key" -e "$TERM" -q "$TERM"
# A real grant of 1004, a member outside the voter set, for the pre-vote running now.
forge -f 1004 -s 1234abcd -K "$T/n4.state/node.key" -e "$TERM" -q $((TERM + 1))
sleep 1
d_sig=$(($(refused $C bad-signature) - before_sig))
d_stale=$(($(refused $C stale-term) - before_stale))
d_nv=$(($(refused $C not-voter) - before_nv))
role=$(leader_field $C role)
for i in "${S[@]}"; do kill -CONT "${NODE_PID[$i]}"; done
[ "$d_sig" -ge 3 ] || fail "forged signatures counted $d_sig, want 3"
[ "$d_stale" -ge 3 ] || fail "replayed grants counted $d_stale, want 3"
[ "$d_nv" -ge 3 ] || fail "grants from outside the voter set counted $d_nv, want 3"
[ "$role" != leader ] || fail "node 1 won with forged votes"
say "forged votes refused and counted: bad-signature +$d_sig, stale-term +$d_stale, not-voter +$d_nv"
wait_until 30 agreed_leader "${ALL[@]}" || fail "no leader after the stopped voters resumed"

# --- corrupt and truncated state files ---
damage() { # damage I HOW: flip a byte of node I's state file, or cut it in half
	python3 - "$T/n$1.state/election" "$2" <<'PY'
import sys
p, how = sys.argv[1], sys.argv[2]
b = bytearray(open(p, "rb").read())
if how == "corrupt":
    b[20] ^= 0x40
else:
    b = b[: len(b) // 2]
open(p, "wb").write(bytes(b))
PY
}
kill -TERM "${NODE_PID[4]}"
wait_exit "${NODE_PID[4]}" 15 || fail "node 4 did not stop"
damage 4 corrupt
start 4
wait_for "$LOG/n4.log" 10 "n4.state/election: checksum mismatch" || fail "corrupt file not refused: $(grep election "$LOG/n4.log" | head -3)"
grep -qE "n4\.state/election: checksum mismatch.*; starting as a non-voter with a new state" "$LOG/n4.log" ||
	fail "the refusal does not say FILE: reason: $(grep election "$LOG/n4.log" | head -3)"
wait_until 10 role_is 4 non-voter || fail "node 4 is not a non-voter"
say "a corrupt state file: $(grep -o 'n4.state/election: checksum mismatch[^;]*' "$LOG/n4.log" | head -1)"
wait_until 30 agreed_leader "${ALL[@]}" || fail "no agreed leader"
V=$(( LEADER_I == 3 ? 2 : 3 )) # a voter that does not lead
OLDSID=$(sid_of "$LEADER_I" "${IDS[$V]}")
kill -9 "${NODE_PID[$V]}"
wait "${NODE_PID[$V]}" 2>/dev/null || true
damage "$V" truncate
start "$V"
wait_for "$LOG/n$V.log" 10 "n$V.state/election: truncated" || fail "truncated file not refused: $(grep election "$LOG/n$V.log" | head -3)"
role_is "$V" non-voter || fail "node $V starts as $(leader_field "$V" role), not as a non-voter"
say "a truncated state file: node $V (a voter) starts as a non-voter with a new state"
# The voter it was (id and old state id) is replaced through the log.
replaced() {
	agreed_leader "${ALL[@]}" || return 1
	leader_json "$LEADER_I" | python3 -c 'import json,sys
d=json.load(sys.stdin)
v=[(x["id"], x["sid"]) for x in d["voters"]]
sys.exit(0 if len(v) == 3 and d["voters_alive"] == 3 and (int(sys.argv[1]), sys.argv[2]) not in v else 1)' "${IDS[$V]}" "$OLDSID"
}
wait_until 40 replaced || fail "the voter with the lost state was not replaced: $(leader_json "$LEADER_I")"
say "the leader replaced voter ${IDS[$V]}/$OLDSID: voters $(leader_json "$LEADER_I" | python3 -c 'import json,sys; print(", ".join("%d/%s" % (v["id"], v["sid"][:8]) for v in json.load(sys.stdin)["voters"]))')"

# --- a full disk: no vote ---
L=$LEADER_I
read -r -a VOTERS <<<"$(leader_json "$L" | python3 -c 'import json,sys; print(" ".join(str(v["id"] - 1000) for v in json.load(sys.stdin)["voters"]))')"
D=0
OTHER=0
for i in "${VOTERS[@]}"; do
	[ "$i" = "$L" ] && continue
	if [ "$D" = 0 ] && [ "$i" -le 3 ]; then D=$i; else OTHER=$i; fi
done
[ "$D" != 0 ] && [ "$OTHER" != 0 ] || fail "voters ${VOTERS[*]}, leader $L: no voter with a tmpfs state_dir to fill"
kill -9 "${NODE_PID[$D]}"
wait "${NODE_PID[$D]}" 2>/dev/null || true
dd if=/dev/zero of="$T/n$D.state/fill" bs=4k 2>/dev/null || true
start "$D"
wait_until 20 role_is "$D" voter || fail "node $D did not come back as a voter"
wait_until 20 agreed_leader "${ALL[@]}" || fail "node $D does not follow"
kill -9 "${NODE_PID[$L]}"
wait "${NODE_PID[$L]}" 2>/dev/null || true
say "node $D's disk is full; killed the leader (node $L)"
REST=()
for i in "${ALL[@]}"; do [ "$i" = "$L" ] || REST+=("$i"); done
no_leader_for() { # no node leads for $1 seconds
	local k i
	for ((k = 0; k < $1 * 2; k++)); do
		for i in "${REST[@]}"; do [ "$(leader_field "$i" leading)" = false ] || return 1; done
		sleep 0.5
	done
}
no_leader_for 12 || fail "a leader was elected while node $D could not write its vote"
failures=$(leader_json "$D" | python3 -c 'import json,sys; print(json.load(sys.stdin)["stats"]["persist_failures"])')
[ "$failures" -gt 0 ] || fail "node $D reports no persist failure"
grep -qF "no vote, ack or term change leaves this node until it can be written" "$LOG/n$D.log" ||
	fail "node $D did not say why it does not vote"
say "with a full disk node $D sent no vote ($failures writes failed): no leader for 12 s"
rm -f "$T/n$D.state/fill"
wait_until 30 agreed_leader "${REST[@]}" || fail "no leader once the disk had room"
say "disk freed: node $AGREED leads term $LEADER_TERM"
