#!/usr/bin/env bash
# timeout: 220
# Issue 13, test 5: a 3|2 partition under overload. Five droplets of the
# policy's snapshot (realism profile) elect a leader; nftables rules then
# drop the gossip between {the leader, one other} and the other three (the
# simulator on 127.0.0.1 stays reachable to all), and every node reports
# 175 against a target of 100. Only the 3-side clones: it elects a leader of
# its own and clones to max_nodes = 7: once it holds the 2-side dead, its
# own 525 asks 6 against a capacity of 3 (the dead carry no load), and
# before that the 2-side's last loads ask more; the 2-side's droplets are
# still listed and billed, so they count in max_nodes. The 2-side, the old leader
# included, sends no mutating call once its lease has run out. After the
# heal: one leader, the 2-side's nodes back in rotation, no duplicate and no
# leak (every billed droplet a live member, once in DNS and on the LB).
# replace_after is long so the 3-side does not replace the silent 2-side
# during the split. The rules live in a table of their own, removed on
# exit, pass or fail.
. "$(dirname "$0")/lib.sh"

nft_guard mts_ppart

policy_cluster 5 "scale_out_window = 3s" "scale_out_cooldown = 30s" "max_nodes = 7" "replace_after = 10m"
policy_wait_voters 5 # the 3-side must hold a majority of the voters
L=$(policy_leader)
wait_secs 40 policy_in_rotation 5 || fail "the five droplets are not in rotation: dns $(sim_state 'www()')"
for id in "${IDS[@]}"; do policy_load "$id" 100; done

M2=("$L")
M3=()
for id in "${IDS[@]}"; do
	[ "$id" = "$L" ] && continue
	if [ "${#M2[@]}" -lt 2 ]; then M2+=("$id"); else M3+=("$id"); fi
done
addrs() {
	local id out=
	for id in "$@"; do out+="${out:+, }$(sim_state "next(d['sim']['private_ipv4'] for d in s['droplets'] if d['id'] == $id)")"; done
	echo "$out"
}
A2=$(addrs "${M2[@]}")
A3=$(addrs "${M3[@]}")
t_split=$(date +%s.%N)
nft_split "$A2" "$A3"
for id in "${IDS[@]}"; do policy_load "$id" 175; done
say "split: {${M2[*]}} (leader $L's side) | {${M3[*]}}; every node reports 175 against a target of 100"

# The leader among the 3-side ("" while none there says it leads).
majority_leader() {
	local id
	for id in "${M3[@]}"; do
		policy_says_leader "$(policy_sock "$id")" && { echo "$id"; return 0; }
	done
}
has_majority_leader() { [ -n "$(majority_leader)" ]; }
wait_secs 30 has_majority_leader || fail "the 3-side elected nobody"
L3=$(majority_leader)
say "the 3-side elected $L3"
seven() { [ "$(policy_count)" = 7 ]; }
wait_secs 60 seven || fail "the 3-side did not clone to max_nodes: $(policy_count) droplets"
say "the 3-side cloned: 7 droplets, max_nodes"
sleep 5
[ "$(policy_count)" = 7 ] || fail "above max_nodes: $(policy_count) droplets"
ids2="[${M2[0]}, ${M2[1]}]"
late=$(mutating_calls "any('node=%d ' % i in r.get('agent', '') for i in $ids2) and r['time'] > $t_split + 3.0")
[ -z "$late" ] || fail "the 2-side made mutating calls after its lease: $late"
say "the 2-side made no mutating call after its lease"

nft delete table inet "$TABLE"
for id in $(sim_state '" ".join(str(d["id"]) for d in s["droplets"])'); do policy_load "$id" 100; done
say "healed; the load falls to the target"
one_leader() {
	local n=0 id
	for id in $(sim_state '" ".join(str(d["id"]) for d in s["droplets"])'); do
		policy_says_leader "$(policy_sock "$id")" && n=$((n + 1))
	done
	[ "$n" = 1 ]
}
wait_secs 30 one_leader || fail "not exactly one leader after the heal"
wait_secs 40 policy_in_rotation 7 || fail "not all seven in rotation after the heal: dns $(sim_state 'www()') lb $(sim_state "lb('$LB')")"
sleep 3
billed=$(policy_rotation_is_billed) || fail "end state: rotation and billing differ"
[ "$(wc -w <<<"$billed")" = 7 ] || fail "billed: $billed"
[ "$(sim_eval 'all(d["sim"]["agent_alive"] for d in s["droplets"] if d["id"] in [c["droplet_id"] for c in s["cost"]["droplets"] if c["alive"]])')" = True ] ||
	fail "a billed droplet runs no agent"
twice=$(sim_eval '[n for n, k in collections.Counter(c["name"] for c in s["cost"]["droplets"]).items() if k > 1]')
[ "$twice" = "[]" ] || fail "a name created twice: $twice"
say "after the heal: one leader, 7 droplets each once in DNS and on the LB, no name created twice, nothing leaked"
