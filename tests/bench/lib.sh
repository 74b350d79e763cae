# Sourced by serf_compare.sh and loss_campaign.sh, which start N mitosis
# agents and wait for them the same way. Not executable, so tests/bench/run.sh
# does not run it. The caller sets N, W (its work directory) and MITOSIS.

# wait_cond SECS CMD...: retries CMD every 0.5 s for at most SECS seconds.
wait_cond() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 2; i++)); do
		"$@" && return 0
		sleep 0.5
	done
	return 1
}

# mitosis_write_confs NET [LINES]: a keyring and $W/mitosis/nI.conf for
# I = 1..N: static identity, node I at NET.I:7950, seeded by the first three,
# a state directory and a custom metric file of its own (nI.metric, 0 to
# start), then LINES (more configuration, may be empty). MITOSIS_RUN (default
# MITOSIS) is the agent they are for: an older one without state_dir gets none.
mitosis_write_confs() {
	local i d=$W/mitosis state=
	local run=${MITOSIS_RUN:-$MITOSIS}
	mkdir -p "$d"
	"$run" keygen -o "$d/cluster.key" >/dev/null
	"$run" agent --help 2>&1 | grep -q -- --state-dir && state=yes
	for i in $(seq 1 "$N"); do
		echo 0 >"$d/n$i.metric"
		cat >"$d/n$i.conf" <<CONF
cluster = bench
key_file = $d/cluster.key
node_id = $((1000 + i))
hostname = n$i
private_ipv4 = $1.$i
bind = $1.$i:7950
seeds = $1.1:7950, $1.2:7950, $1.3:7950
control_socket = $d/n$i.sock
custom_metric_file = $d/n$i.metric
${state:+state_dir = $d/n$i.state}
${2:-}
CONF
	done
}

# mitosis_alive I: how many members node I sees alive (-1 if it does not answer).
mitosis_alive() {
	local j
	j=$("$MITOSIS" status --json -s "$W/mitosis/n$1.sock" 2>/dev/null) || j=
	j=${j#*\"members\":\{\"alive\":}
	case $j in [0-9]*) echo "${j%%[!0-9]*}" ;; *) echo -1 ;; esac
}

# mitosis_converged: every node sees N alive.
mitosis_converged() {
	local i
	for i in $(seq 1 "$N"); do [ "$(mitosis_alive "$i")" = "$N" ] || return 1; done
}
