#!/usr/bin/env bash
# loss_campaign: false positives under sustained packet loss. BENCH_N (100)
# mitosis agents, each in its own network namespace (198.18.0.I/24 on a veth
# to one bridge in a hub namespace, no route out), converge; then every node
# drops LOSS_PERCENT (10) % of the gossip datagrams it receives (nftables
# `numgen random mod 100 < 10 drop` on its input hook) for LOSS_MINUTES (10).
# No agent is ever stopped, so every `-> dead` line is a false death. Printed:
#   loss_campaign n=100 minutes=10 system=mitosis false_deaths D suspicions S ...
# where suspicions counts `-> suspect` log lines (one per observer that heard
# of a suspicion), episodes the distinct (member, incarnation) pairs suspected,
# refutations the agents' own counter, and achieved_loss_pct what nftables
# really dropped. With BENCH_SERF=1 the same namespaces then run Serf (LAN
# defaults, udp 7946 dropped the same way; Serf's TCP is left alone).
#
# Takes LOSS_MINUTES plus a few minutes per system, so `make bench` skips it
# unless BENCH_LONG=1. Needs root. Namespaces, agents and nftables tables are
# removed on exit, pass or fail. Environment: BENCH_LONG, BENCH_N,
# LOSS_MINUTES, LOSS_PERCENT, BENCH_SERF, MITOSIS (default $BUILD/mitosis),
# BENCH_KEEP=1 keeps the logs.
set -eu
if [ "${BENCH_LONG:-0}" != 1 ]; then
	echo "SKIP loss_campaign: set BENCH_LONG=1"
	exit 0
fi
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
MITOSIS=${MITOSIS:-$BUILD/mitosis}
N=${BENCH_N:-100}
MIN=${LOSS_MINUTES:-10}
LOSS=${LOSS_PERCENT:-10}
P=mlc$$

say() { echo "# loss_campaign: $*"; }
die() {
	echo "loss_campaign: FAIL: $*" >&2
	exit 1
}

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP loss_campaign: network namespaces need root"
	exit 0
fi
case "$N$MIN$LOSS" in *[!0-9]*) die "BENCH_N, LOSS_MINUTES and LOSS_PERCENT are whole numbers" ;; esac
[ "$N" -ge 5 ] && [ "$N" -le 250 ] || die "BENCH_N must be 5..250"
[ "$MIN" -ge 1 ] && [ "$MIN" -le 240 ] || die "LOSS_MINUTES must be 1..240"
[ "$LOSS" -le 100 ] || die "LOSS_PERCENT must be 0..100"
[ -x "$MITOSIS" ] || die "no agent at $MITOSIS"
MITOSIS=$(realpath "$MITOSIS")
. tests/bench/lib.sh
command -v ip >/dev/null && command -v nft >/dev/null || die "iproute2 and nftables needed (scripts/deps.sh)"
if [ "${BENCH_SERF:-0}" = 1 ] && ! command -v serf >/dev/null; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y serf >/dev/null || die "apt-get install serf failed"
fi

W=$(mktemp -d /tmp/losscampaign.XXXXXX)
PIDS=()
NSL=()
kill_agents() {
	local pid
	for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && wait "$pid" 2>/dev/null || true; done
	PIDS=()
}
cleanup() {
	local ns
	kill_agents
	for ns in "${NSL[@]:-}"; do [ -n "$ns" ] && ip netns del "$ns" 2>/dev/null || true; done
	if [ "${BENCH_KEEP:-0}" = 1 ]; then say "logs kept in $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "# loss_campaign: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "# loss_campaign: $("$MITOSIS" version 2>&1 | head -1); load average $(cut -d' ' -f1-3 /proc/loadavg)"

# mac_of I: node I's fixed MAC address (locally administered).
mac_of() {
	printf '02:00:c6:12:%02x:%02x' $(($1 / 256)) $(($1 % 256))
}

# backlog_drops: packets the kernel dropped because a CPU's receive backlog
# was full (/proc/net/softnet_stat, whole machine): unintended loss.
backlog_drops() {
	local s=0 b rest
	while read -r _ b rest; do s=$((s + 16#$b)); done </proc/net/softnet_stat
	echo "$s"
}

# --- topology: hub namespace with a bridge, one namespace per node ------
ip netns add "$P-hub"
NSL+=("$P-hub")
ip -n "$P-hub" link add br0 type bridge
ip -n "$P-hub" link set br0 up
for i in $(seq 1 "$N"); do
	ip netns add "$P-n$i"
	NSL+=("$P-n$i")
	ip link add "${P}v$i" type veth peer name "${P}b$i"
	ip link set "${P}v$i" netns "$P-n$i"
	ip link set "${P}b$i" netns "$P-hub"
	ip -n "$P-n$i" link set "${P}v$i" name eth0
	ip -n "$P-n$i" link set eth0 address "$(mac_of "$i")"
	ip -n "$P-n$i" addr add "198.18.0.$i/24" dev eth0
	ip -n "$P-n$i" link set eth0 up
	ip -n "$P-n$i" link set lo up
	ip -n "$P-hub" link set "${P}b$i" master br0
	ip -n "$P-hub" link set "${P}b$i" up
done
# Static neighbours: the kernel's ARP table is shared by every namespace and
# holds 1024 entries by default (gc_thresh3); N x (N - 1) learned entries
# overflow it ("neighbor table overflow"), so that the nodes started last
# could never resolve anyone, and the ARP broadcast storm overflows the
# receive backlog. Permanent entries are not counted against the threshold.
for i in $(seq 1 "$N"); do
	for j in $(seq 1 "$N"); do
		[ "$i" = "$j" ] || echo "neigh replace 198.18.0.$j lladdr $(mac_of "$j") dev eth0 nud permanent"
	done >"$W/neigh.batch"
	ip -n "$P-n$i" -batch "$W/neigh.batch"
done
say "$N namespaces on one bridge (198.18.0.1-$N), static neighbours"

# loss_on PORT: every node drops LOSS% of the udp datagrams to PORT it receives;
# named counters say how many passed the hook and how many were dropped.
loss_on() {
	local i
	for i in $(seq 1 "$N"); do
		ip netns exec "$P-n$i" nft -f - <<NFT
table inet benchloss {
	counter seen { }
	counter dropped { }
	chain input {
		type filter hook input priority 0; policy accept;
		udp dport $1 counter name "seen"
		udp dport $1 numgen random mod 100 < $LOSS counter name "dropped" drop
	}
}
NFT
	done
}

loss_off() {
	local i
	for i in $(seq 1 "$N"); do
		ip netns exec "$P-n$i" nft delete table inet benchloss 2>/dev/null || true
	done
}

# loss_achieved: dropped / seen over every node, in percent.
loss_achieved() {
	local i
	for i in $(seq 1 "$N"); do
		ip netns exec "$P-n$i" nft list counters table inet benchloss
	done | awk '$1 == "counter" { c = $2 } $1 == "packets" { v[c] += $2 }
		END { if (v["seen"] > 0) printf "%.2f\n", 100 * v["dropped"] / v["seen"]; else print "na" }'
}

# all_running: every agent process still exists.
all_running() {
	local pid
	for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null || return 1; done
}

# --- mitosis -----------------------------------------------------------
mitosis_start() {
	local i
	mitosis_write_confs 198.18.0
	for i in $(seq 1 "$N"); do
		ip netns exec "$P-n$i" "$MITOSIS" agent -c "$W/mitosis/n$i.conf" >/dev/null 2>"$W/mitosis/n$i.log" &
		PIDS+=("$!")
	done
}

# mitosis_sum KEY...: the agents' swim counters summed over every node.
mitosis_sum() {
	local i
	for i in $(seq 1 "$N"); do
		"$MITOSIS" status --json -s "$W/mitosis/n$i.sock" 2>/dev/null || echo '{}'
		echo
	done | python3 -c 'import json,sys
keys=sys.argv[1:]; tot=dict.fromkeys(keys,0)
for line in sys.stdin:
    try: s=json.loads(line).get("swim",{})
    except Exception: continue
    for k in keys: tot[k]+=s.get(k,0)
print(" ".join("%s %d" % (k, tot[k]) for k in keys))' "$@"
}

# mitosis_count T0 T1: false deaths, suspicion lines, suspicion episodes, seen
# in the logs between the two epoch seconds.
mitosis_count() {
	python3 - "$1" "$2" "$W"/mitosis/n*.log <<'PY'
import datetime, re, sys
t0, t1 = float(sys.argv[1]), float(sys.argv[2])
pat = re.compile(r'^(\S+Z) mitosis\[\d+\] \w+: member (\d+) \S+ \S+: (\w+) -> (\w+) \(incarnation (\d+)\)')
dead = susp = 0
episodes = set()
for path in sys.argv[3:]:
    for line in open(path, errors="replace"):
        m = pat.match(line)
        if not m:
            continue
        t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%fZ")
        t = t.replace(tzinfo=datetime.timezone.utc).timestamp()
        if t < t0 or t > t1:
            continue
        if m.group(4) == "dead":
            dead += 1
        elif m.group(4) == "suspect":
            susp += 1
            episodes.add((m.group(2), m.group(5)))
print(dead, susp, len(episodes))
PY
}

# --- Serf --------------------------------------------------------------
serf_start() {
	local i d=$W/serf
	mkdir -p "$d"
	for i in $(seq 1 "$N"); do
		local join=()
		[ "$i" -gt 1 ] && join+=(-retry-join=198.18.0.1)
		[ "$i" -gt 2 ] && join+=(-retry-join=198.18.0.2)
		[ "$i" -gt 3 ] && join+=(-retry-join=198.18.0.3)
		ip netns exec "$P-n$i" serf agent -node="s$i" -bind="198.18.0.$i:7946" \
			-rpc-addr=127.0.0.1:7373 -log-level=info "${join[@]}" -retry-interval=2s \
			>"$d/s$i.log" 2>&1 &
		PIDS+=("$!")
		if [ "$i" -le 3 ]; then
			wait_cond 15 serf_alive_ok "$i" || die "serf s$i did not start"
		fi
	done
}

serf_alive() {
	ip netns exec "$P-n$1" serf members -status=alive -rpc-addr=127.0.0.1:7373 2>/dev/null | grep -c . || true
}
serf_alive_ok() { [ "$(serf_alive "$1")" -ge 1 ]; }

serf_converged() {
	local i
	for i in $(seq 1 "$N"); do [ "$(serf_alive "$i")" = "$N" ] || return 1; done
}

# serf_count: false deaths (EventMemberFailed lines, one per observer),
# suspicions raised (memberlist "Suspect ... has failed", by the prober only)
# and refutations, counted from the line numbers recorded at loss start.
serf_count() {
	local i f dead=0 susp=0 ref=0 from
	for i in $(seq 1 "$N"); do
		f=$W/serf/s$i.log
		from=$((${SERF_FROM[i]} + 1))
		dead=$((dead + $(tail -n +"$from" "$f" | grep -c 'EventMemberFailed' || true)))
		susp=$((susp + $(tail -n +"$from" "$f" | grep -c 'memberlist: Suspect' || true)))
		ref=$((ref + $(tail -n +"$from" "$f" | grep -c 'Refuting a suspect' || true)))
	done
	echo "$dead $susp $ref"
}
declare -a SERF_FROM

# campaign SYSTEM: start, converge, LOSS_MINUTES of loss, count.
campaign() {
	local sys=$1 t0 t1 m port b0 b1
	say "$sys: starting $N agents"
	"${sys}_start"
	wait_cond 240 "${sys}_converged" || die "$sys: the $N agents did not converge in 240 s"
	[ "$sys" = mitosis ] && port=7950 || port=7946
	if [ "$sys" = serf ]; then
		for m in $(seq 1 "$N"); do SERF_FROM[m]=$(wc -l <"$W/serf/s$m.log"); done
	fi
	loss_on "$port"
	b0=$(backlog_drops)
	t0=$(date +%s.%N)
	say "$sys: converged; $LOSS% loss on udp $port at every receiver for $MIN minutes"
	for m in $(seq 1 "$MIN"); do
		sleep 60
		all_running || die "$sys: an agent exited during the campaign"
		if [ "$sys" = mitosis ]; then
			say "minute $m/$MIN: deaths, suspicion lines, episodes so far: $(mitosis_count "$t0" "$(date +%s.%N)")"
		else
			say "minute $m/$MIN: deaths, suspicions, refutations so far: $(serf_count)"
		fi
	done
	t1=$(date +%s.%N)
	b1=$(backlog_drops)
	local achieved
	achieved=$(loss_achieved)
	loss_off
	echo "loss_campaign n=$N minutes=$MIN system=$sys kernel_backlog_drops $((b1 - b0)) (whole machine, unintended loss on top of the $LOSS%)"
	if [ "$sys" = mitosis ]; then
		read -r dead susp ep < <(mitosis_count 0 "$t0")
		echo "loss_campaign n=$N minutes=$MIN system=mitosis before_loss deaths $dead suspicions $susp (start-up and convergence, no loss)"
		read -r dead susp ep < <(mitosis_count "$t0" "$t1")
		echo "loss_campaign n=$N minutes=$MIN system=mitosis false_deaths $dead suspicions $susp episodes $ep achieved_loss_pct $achieved"
		echo "loss_campaign n=$N minutes=$MIN system=mitosis counters $(mitosis_sum suspicions refutations deaths probes indirect_probes nacks_received)"
		wait_cond 30 mitosis_converged && echo "loss_campaign n=$N minutes=$MIN system=mitosis intact_after yes" ||
			echo "loss_campaign n=$N minutes=$MIN system=mitosis intact_after no (n1 sees $(mitosis_alive 1) alive)"
	else
		read -r dead susp ref < <(serf_count)
		echo "loss_campaign n=$N minutes=$MIN system=serf false_deaths $dead suspicions $susp refutations $ref achieved_loss_pct $achieved"
		wait_cond 60 serf_converged && echo "loss_campaign n=$N minutes=$MIN system=serf intact_after yes" ||
			echo "loss_campaign n=$N minutes=$MIN system=serf intact_after no (s1 sees $(serf_alive 1) alive)"
	fi
	kill_agents
}

campaign mitosis
[ "${BENCH_SERF:-0}" = 1 ] && campaign serf
exit 0
