#!/usr/bin/env bash
# (e) Ten agents in namespaces split into two halves that cannot hear each
# other; each side marks the other dead. When the partition heals, membership
# converges back to ten alive members everywhere (push-pull and refutation).
. "$(dirname "$0")/lib.sh"
netns_require

N=10
make_keyring "$T/cluster.key"
netns_hub
for i in $(seq 1 $N); do netns_node "$i"; done
SEEDS=198.18.0.1:7950,198.18.0.6:7950
for i in $(seq 1 $N); do start_ns_node "$i"; done

all_alive() {
	local i
	for i in $(seq 1 $N); do [ "$(count_state "$i" alive)" = "$N" ] || return 1; done
}
wait_until 30 all_alive || fail "did not converge before the partition"
A="198.18.0.1, 198.18.0.2, 198.18.0.3, 198.18.0.4, 198.18.0.5"
B="198.18.0.6, 198.18.0.7, 198.18.0.8, 198.18.0.9, 198.18.0.10"
for i in 1 2 3 4 5; do netns_block "$i" "$B"; done
for i in 6 7 8 9 10; do netns_block "$i" "$A"; done
say "partitioned into {1..5} and {6..10}"

split() {
	local i
	for i in $(seq 1 $N); do [ "$(count_state "$i" alive)" = 5 ] || return 1; done
}
wait_until 60 split || fail "the halves did not see each other dead: n1 sees $(count_state 1 alive) alive"
say "each half sees 5 alive"

for i in $(seq 1 $N); do netns_unblock "$i"; done
t0=$(date +%s)
wait_until 90 all_alive || {
	for i in $(seq 1 $N); do echo "n$i sees $(count_state "$i" alive) alive"; done
	fail "membership did not converge after healing"
}
say "healed: all $N alive everywhere after $(($(date +%s) - t0)) s"
