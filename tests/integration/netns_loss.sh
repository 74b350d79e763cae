#!/usr/bin/env bash
# (d) Ten agents in their own network namespaces; every node drops 10% of the
# gossip datagrams it receives (nftables numgen on the input hook). For the
# length of the test (LOSS_SECONDS, default 60) no member is ever declared
# dead. tests/bench/ runs the long version.
. "$(dirname "$0")/lib.sh"
netns_require

N=${LOSS_NODES:-10}
SECS=${LOSS_SECONDS:-60}
make_keyring "$T/cluster.key"
netns_hub
for i in $(seq 1 $N); do netns_node "$i"; done
SEEDS=198.18.0.1:7950
for i in $(seq 1 $N); do start_ns_node "$i"; done

converged() {
	local i
	for i in $(seq 1 $N); do [ "$(count_state "$i" alive)" = "$N" ] || return 1; done
}
wait_until 30 converged || fail "the $N namespaced agents did not converge"
say "$N agents in namespaces converged; adding 10% loss on every receiver for ${SECS}s"
for i in $(seq 1 $N); do netns_loss "$i" 10; done

sleep "$SECS"
for i in $(seq 1 $N); do
	kill -0 "${NODE_PID[$i]}" 2>/dev/null || fail "n$i died"
done
deaths=$(cat "$LOG"/n*.log | grep -cE -- '-> dead' || true)
suspicions=$(cat "$LOG"/n*.log | grep -cE -- '-> suspect' || true)
[ "$deaths" -eq 0 ] || fail "false deaths under 10% loss: $(grep -hE -- '-> dead' "$LOG"/n*.log | head -5)"
converged || fail "membership not intact after ${SECS}s of loss"
say "no false deaths in ${SECS}s of 10% loss (suspicions raised and refuted: $suspicions)"
