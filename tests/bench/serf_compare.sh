#!/usr/bin/env bash
# serf_compare: the mitosis agent against HashiCorp Serf (LAN defaults), same
# machine, same run, real processes; one system at a time so that the two never
# compete for the CPUs. For each system:
#   1. start BENCH_N agents (mitosis: 127.0.20.I:7950, seeded by the first
#      three; Serf: 127.0.21.I:7946, RPC on 127.0.21.I:7373, joining the first
#      three) and wait, bounded, until they all see BENCH_N alive members;
#   2. let them settle SETTLE_SECONDS (start-up traffic, and the load samples
#      of a machine that has just started BENCH_N processes, die down: all the
#      agents read the same /proc/stat, so while its load moves every one of
#      them has news), then idle IDLE_SECONDS and measure per agent: VmRSS, private memory
#      (Private_Clean + Private_Dirty) and PSS from /proc/PID/smaps_rollup, CPU
#      (utime + stime) over the window, and bytes and packets on the wire, from
#      nftables counters on the output hook (every loopback packet between two
#      agents passes it once; the RPC port and the control socket are not
#      counted; bytes are IP lengths, headers included);
#   3. TRIALS times, SIGKILL one random node (never a seed) and record when each
#      surviving agent declared it dead: mitosis from its `-> dead` log line
#      (millisecond timestamps), Serf from its `EventMemberFailed` log line,
#      stamped to the microsecond as it is written, and also from a
#      member-failed event handler (`date +%s%N`), which runs after the agent's
#      event coalescing (1 s quiescence), the delay a Serf user's script sees.
#   4. (before the crashes) CHURN_SECONDS with every agent's load moving on its
#      own: mitosis agents read a custom metric from a file of their own
#      (custom_metric_file) and Serf agents carry it as a tag (`serf tags -set
#      load=V`, Serf's only way to gossip a value); every 2-5 s (at random, per
#      agent) the value changes at random; bytes and packets on the wire over
#      the window, against the idle window just before.
# With MITOSIS_BEFORE=PATH and "before" in BENCH_SYSTEMS, an older mitosis
# build runs too, as system "before", so before and after meet Serf in one run.
# Figures are "serf_compare ..." lines; ratio lines are mitosis/serf (below 1:
# mitosis is faster or smaller). Needs root (nftables). Every loop is bounded;
# traffic goes only to 127.0.20.0/24 and 127.0.21.0/24; agents, handler
# processes and the nftables table are removed on exit, pass or fail.
#
# Environment: BENCH_N (100), IDLE_SECONDS (60), TRIALS (5), SETTLE_SECONDS (120),
# CHURN_SECONDS (60; 0: no churn window), MITOSIS_BEFORE (an older agent),
# BENCH_SYSTEMS ("mitosis serf"), MITOSIS (path; default $BUILD/mitosis),
# MITOSIS_EXTRA_CONF (configuration lines added to every mitosis agent, e.g.
# "load_interval = 10m" to isolate a cost), BENCH_KEEP=1 keeps the work
# directory (logs) for inspection, BENCH_SMAPS_DIR=DIR copies the
# /proc/PID/smaps of the first three agents of each system there when memory
# is read (to see which mappings hold the memory). The machine is shared: machine_busy_pct
# (all CPUs, every process, over the idle window) shows how much else ran.
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
MITOSIS=${MITOSIS:-$BUILD/mitosis}
N=${BENCH_N:-100}
IDLE=${IDLE_SECONDS:-60}
TRIALS=${TRIALS:-5}
SETTLE=${SETTLE_SECONDS:-120}
SYSTEMS=${BENCH_SYSTEMS:-"mitosis serf"}
CHURN=${CHURN_SECONDS:-60}
TAG="serf_compare n=$N"
NFT_TABLE=serfbench$$

say() { echo "# serf_compare: $*"; }
die() {
	echo "serf_compare: FAIL: $*" >&2
	exit 1
}

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP serf_compare: needs root (nftables counters, apt-get install serf)"
	exit 0
fi
case "$N" in '' | *[!0-9]*) die "BENCH_N must be a number" ;; esac
[ "$N" -ge 5 ] && [ "$N" -le 250 ] || die "BENCH_N must be 5..250"
[ "$TRIALS" -ge 1 ] && [ "$TRIALS" -le $((N - 4)) ] || die "TRIALS must be 1..$((N - 4))"
[ -x "$MITOSIS" ] || die "no agent at $MITOSIS (make BUILD=... ; or set MITOSIS)"
MITOSIS=$(realpath "$MITOSIS")
. tests/bench/lib.sh
command -v nft >/dev/null || die "nft missing (scripts/deps.sh installs nftables)"
command -v python3 >/dev/null || die "python3 missing"
if ! command -v serf >/dev/null; then
	say "installing serf (Debian package)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y serf >/dev/null || die "apt-get install serf failed"
fi
if ldd "$MITOSIS" | grep -q 'libasan\|libubsan'; then
	say "WARNING: $MITOSIS is built with sanitizers; its memory and CPU figures are not representative"
fi

W=$(mktemp -d /tmp/serfbench.XXXXXX)
PIDS=()
cleanup() {
	local pid
	for pid in "${PIDS[@]:-}"; do
		[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]:-}"; do
		[ -n "$pid" ] && wait "$pid" 2>/dev/null || true
	done
	nft delete table ip "$NFT_TABLE" 2>/dev/null || true
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		say "logs kept in $W"
	else
		rm -rf "$W"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Nothing else may use the benchmark's addresses: the figures would be wrong.
if ss -Hluntp 2>/dev/null | grep -qE '127\.0\.2[01]\.[0-9]+:(7950|7946|7373) '; then
	die "something already listens on 127.0.20.0/24 or 127.0.21.0/24"
fi

# Named counters, one per system and protocol, read before and after the idle window.
nft -f - <<NFT
table ip $NFT_TABLE {
	counter mitosis_udp { }
	counter mitosis_tcp { }
	counter serf_udp { }
	counter serf_tcp { }
	chain out {
		type filter hook output priority 0; policy accept;
		ip daddr 127.0.20.0/24 udp dport 7950 counter name "mitosis_udp"
		ip daddr 127.0.20.0/24 tcp dport 7950 counter name "mitosis_tcp"
		ip saddr 127.0.20.0/24 tcp sport 7950 counter name "mitosis_tcp"
		ip daddr 127.0.21.0/24 udp dport 7946 counter name "serf_udp"
		ip daddr 127.0.21.0/24 tcp dport 7946 counter name "serf_tcp"
		ip saddr 127.0.21.0/24 tcp sport 7946 counter name "serf_tcp"
	}
}
NFT

# wire_read SYSTEM: "packets bytes" summed over the system's udp and tcp counters.
wire_read() {
	nft list counters table ip "$NFT_TABLE" | awk -v s="$1" '
		$1 == "counter" { on = ($2 == s "_udp" || $2 == s "_tcp") }
		on && $1 == "packets" { p += $2; b += $4 }
		END { printf "%d %d\n", p, b }'
}

# cpu_ticks PID...: utime + stime summed over the processes (clock ticks).
cpu_ticks() {
	local pid
	for pid in "$@"; do cat "/proc/$pid/stat"; done 2>/dev/null |
		sed 's/^.*) //' | awk '{ s += $12 + $13 } END { print s + 0 }'
}

# cpu_total: "busy idle" jiffies of the whole machine (/proc/stat).
cpu_total() {
	awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat
}

# mem_report SYSTEM PID...: rss, private and pss lines (kB, avg and max).
mem_report() {
	local sys=$1 pid
	shift
	if [ -n "${BENCH_SMAPS_DIR:-}" ]; then
		mkdir -p "$BENCH_SMAPS_DIR"
		for pid in "${@:1:3}"; do
			cat "/proc/$pid/smaps" >"$BENCH_SMAPS_DIR/$sys-$pid.smaps" 2>/dev/null || true
		done
	fi
	for pid in "$@"; do
		awk '/^VmRSS:/ { r = $2 } END { printf "%d ", r }' "/proc/$pid/status"
		awk '/^Private_(Clean|Dirty):/ { p += $2 } /^Pss:/ { s = $2 }
			END { printf "%d %d\n", p, s }' "/proc/$pid/smaps_rollup"
	done | awk -v t="$TAG system=$sys" '
		{ r += $1; p += $2; s += $3; n++
		  if ($1 > rm) rm = $1; if ($2 > pm) pm = $2; if ($3 > sm) sm = $3 }
		END { printf "%s rss_kb avg %d max %d\n", t, r / n, rm
		      printf "%s private_kb avg %d max %d\n", t, p / n, pm
		      printf "%s pss_kb avg %d max %d\n", t, s / n, sm }'
}

# emit LINE: print a figure and keep it for the ratios.
emit() {
	echo "$*"
	echo "$*" >>"$W/figures"
}

declare -a PID_OF
ALIVE=() # node numbers still running

# --- mitosis -----------------------------------------------------------
mitosis_start() {
	local i
	rm -rf "$W/mitosis"
	mitosis_write_confs 127.0.20 "log_level = info
${MITOSIS_EXTRA_CONF:-}"
	for i in $(seq 1 "$N"); do
		"$MITOSIS_RUN" agent -c "$W/mitosis/n$i.conf" >/dev/null 2>"$W/mitosis/n$i.log" &
		PID_OF[i]=$!
		PIDS+=("$!")
	done
}

# mitosis_counters: datagrams out, bytes out (agent's own counters) summed over all nodes.
mitosis_counters() {
	local i
	for i in $(seq 1 "$N"); do
		"$MITOSIS" status --json -s "$W/mitosis/n$i.sock" 2>/dev/null || echo '{}'
		echo
	done | python3 -c 'import json,sys
o=b=pr=su=0
for line in sys.stdin:
    line=line.strip()
    if not line: continue
    try: j=json.loads(line)
    except Exception: continue
    d=j.get("datagrams",{}); s=j.get("swim",{})
    o+=d.get("out",0); b+=d.get("bytes_out",0); pr+=s.get("probes",0); su+=s.get("suspicions",0)
print(o,b,pr,su)'
}

# --- Serf --------------------------------------------------------------
serf_start() {
	local i d=$W/serf
	mkdir -p "$d"
	cat >"$d/failed.sh" <<'SH'
#!/bin/sh
# member-failed handler: one "TIME_NS NAME" line per failed member.
t=$(date +%s%N)
while read -r name rest; do echo "$t $name"; done >>"$SERF_BENCH_DIR/$SERF_SELF_NAME.failed"
SH
	chmod +x "$d/failed.sh"
	for i in $(seq 1 "$N"); do
		local join=()
		[ "$i" -gt 1 ] && join+=(-retry-join=127.0.21.1)
		[ "$i" -gt 2 ] && join+=(-retry-join=127.0.21.2)
		[ "$i" -gt 3 ] && join+=(-retry-join=127.0.21.3)
		# Serf's log has one-second timestamps: stamp each line as it is written.
		SERF_BENCH_DIR=$d serf agent -node="s$i" -bind="127.0.21.$i:7946" \
			-rpc-addr="127.0.21.$i:7373" -log-level=info "${join[@]}" -retry-interval=2s \
			-event-handler "member-failed=$d/failed.sh" \
			> >(while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done >"$d/s$i.log") 2>&1 &
		PID_OF[i]=$!
		PIDS+=("$!")
		# The first three are the join targets: let them listen before the rest start.
		if [ "$i" -le 3 ]; then
			wait_cond 15 serf members -rpc-addr="127.0.21.$i:7373" >/dev/null 2>&1 ||
				die "serf s$i did not start: $(tail -3 "$d/s$i.log")"
		fi
	done
}

serf_alive() {
	serf members -status=alive -rpc-addr="127.0.21.$1:7373" 2>/dev/null | grep -c . || true
}

# serf_converged [all]: a sample of nodes (or all) sees N alive.
serf_converged() {
	local i nodes
	if [ "${1:-}" = all ]; then
		nodes=$(seq 1 "$N")
	else
		nodes="1 2 $((N / 4)) $((N / 2)) $((3 * N / 4)) $N"
	fi
	for i in $nodes; do
		[ "$(serf_alive "$i")" = "$N" ] || return 1
	done
}

# --- load churn --------------------------------------------------------
# churn_loop KIND SECONDS: every agent's load changes at random every 2-5 s
# (its own schedule), for SECONDS; mitosis through its metric file, Serf
# through a tag. Bounded: SECONDS x 2 rounds of 0.5 s.
churn_loop() {
	local kind=$1 secs=$2 k i now v
	local -a next pids=()
	for i in "${ALIVE[@]}"; do next[i]=0; done
	for ((k = 0; k < secs * 2; k++)); do
		now=$(date +%s)
		for i in "${ALIVE[@]}"; do
			((now >= next[i])) || continue
			v=$((RANDOM % 1000))
			if [ "$kind" = mitosis ]; then
				printf '%s\n' "$v" >"$W/mitosis/n$i.metric.tmp" &&
					mv "$W/mitosis/n$i.metric.tmp" "$W/mitosis/n$i.metric"
			else
				serf tags -rpc-addr="127.0.21.$i:7373" -set "load=$v" >/dev/null 2>&1 &
				pids+=($!)
			fi
			next[i]=$((now + 2 + RANDOM % 4))
		done
		sleep 0.5
	done
	# Only the tag commands: a bare wait would wait for the agents too.
	((${#pids[@]} == 0)) || wait "${pids[@]}" 2>/dev/null || true
}

# --- both --------------------------------------------------------------
# detect_delays SYSTEM VICTIM T0_NS SOURCE OBSERVER...: one delay (ms) per observer
# that declared VICTIM failed after T0, on stdout; SOURCE is log or handler.
detect_delays() {
	python3 - "$@" <<'PY'
import re, sys, datetime
sysname, victim, t0, source, obs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5:]
t0_ms = t0 / 1e6
if sysname == "mitosis":
    pat = re.compile(r'^(\S+Z) mitosis\[\d+\] \w+: member %d "n%d" \S+: \w+ -> dead' % (1000 + victim, victim))
elif source == "log":
    pat = re.compile(r'^(\d+\.\d+) .*\[INFO\] serf: EventMemberFailed: s%d ' % victim)
else:
    pat = re.compile(r'^(\d+) s%d$' % victim)
for path in obs:
    try:
        lines = open(path, errors="replace").read().splitlines()
    except OSError:
        continue
    for line in lines:
        m = pat.match(line)
        if not m:
            continue
        s = m.group(1)
        if sysname == "mitosis":
            t = datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
            ms = t.timestamp() * 1000
        elif source == "log":
            ms = float(s) * 1000
        else:
            ms = int(s) / 1e6
        if ms >= t0_ms - 1:
            print("%.0f" % (ms - t0_ms))
            break
PY
}

# stats: "count median p99 max" of the numbers on stdin (nearest rank).
stats() {
	sort -n | awk '{ v[++n] = $1 }
		END { if (n == 0) { print "0 na na na"; exit }
		      m = (n % 2) ? v[(n + 1) / 2] : int((v[n / 2] + v[n / 2 + 1]) / 2)
		      r = int(0.99 * n); if (r < 0.99 * n) r++
		      print n, m, v[r], v[n] }'
}

# observer_files SYSTEM SOURCE: the event files of every running node.
observer_files() {
	local i
	for i in "${ALIVE[@]}"; do
		case "$1/$2" in
		mitosis/*) echo "$W/mitosis/n$i.log" ;;
		serf/log) echo "$W/serf/s$i.log" ;;
		serf/handler) echo "$W/serf/s$i.failed" ;;
		esac
	done
}

# The work directory comes from mktemp: its paths have no blanks, so the
# unquoted $(observer_files ...) lists below split only between files.
# shellcheck disable=SC2046
# detected_count SYSTEM VICTIM: observers that have declared VICTIM failed so far.
detected_count() {
	if [ "$1" = mitosis ]; then
		grep -lE "member $((1000 + $2)) \"n$2\" .*-> dead" $(observer_files mitosis log) 2>/dev/null | wc -l
	else
		grep -l "^[0-9]* s$2\$" $(observer_files serf handler) 2>/dev/null | wc -l
	fi
}

all_detected() {
	[ "$(detected_count "$1" "$2")" -ge "${#ALIVE[@]}" ]
}

# count_events SYSTEM KIND: suspicion / death lines in all logs so far.
count_events() {
	local f
	if [ "$1" = mitosis ]; then
		f="$W/mitosis/n*.log"
		case $2 in suspect) cat $f | grep -c -- '-> suspect' || true ;; dead) cat $f | grep -c -- '-> dead' || true ;; esac
	else
		f="$W/serf/s*.log"
		case $2 in suspect) cat $f | grep -c 'memberlist: Suspect' || true ;; dead) cat $f | grep -c 'EventMemberFailed' || true ;; esac
	fi
}

run_system() {
	local sys=$1 kind=$1 t_last t_conv c0 c1 m0 m1 w0 w1 tk i v a0 a1 trial
	local -a victims
	MITOSIS_RUN=$MITOSIS
	if [ "$sys" = before ]; then
		kind=mitosis
		MITOSIS_RUN=$(realpath "${MITOSIS_BEFORE:?set MITOSIS_BEFORE to run system before}")
	fi
	mapfile -t ALIVE < <(seq 1 "$N")
	say "$sys: starting $N agents"
	"${kind}_start"
	t_last=$(date +%s%N)
	if [ "$kind" = mitosis ]; then
		wait_cond 120 mitosis_converged || die "mitosis: the $N agents did not converge in 120 s (n1 sees $(mitosis_alive 1))"
	else
		wait_cond 180 serf_converged || die "serf: the $N agents did not converge in 180 s (s1 sees $(serf_alive 1))"
		t_conv=$(date +%s%N)
		wait_cond 60 serf_converged all || die "serf: not every agent sees $N alive"
	fi
	t_conv=${t_conv:-$(date +%s%N)}
	emit "$TAG system=$sys converge_ms_after_last_start $(((t_conv - t_last) / 1000000))"
	for i in "${ALIVE[@]}"; do
		kill -0 "${PID_OF[i]}" 2>/dev/null || die "$sys node $i exited"
	done

	sleep "$SETTLE"
	tk=$(getconf CLK_TCK)
	local pids=()
	for i in "${ALIVE[@]}"; do pids+=("${PID_OF[i]}"); done
	[ "$kind" = mitosis ] && a0=$(mitosis_counters)
	w0=$(wire_read "$kind")
	m0=$(cpu_total)
	c0=$(cpu_ticks "${pids[@]}")
	sleep "$IDLE"
	c1=$(cpu_ticks "${pids[@]}")
	m1=$(cpu_total)
	w1=$(wire_read "$kind")
	[ "$kind" = mitosis ] && a1=$(mitosis_counters)
	mem_report "$sys" "${pids[@]}" | tee -a "$W/figures"
	awk -v a="$c0" -v b="$c1" -v tk="$tk" -v n="$N" -v s="$IDLE" -v t="$TAG system=$sys" \
		'BEGIN { printf "%s cpu_ms_per_node_per_sec %.3f\n", t, (b - a) * 1000 / tk / n / s }' | tee -a "$W/figures"
	echo "$w0 $w1" | awk -v n="$N" -v s="$IDLE" -v t="$TAG system=$sys" \
		'{ printf "%s wire_bytes_per_node_per_sec %.0f\n", t, ($4 - $2) / n / s
		   printf "%s wire_packets_per_node_per_sec %.2f\n", t, ($3 - $1) / n / s
		   if ($3 > $1) printf "%s wire_bytes_per_packet %.1f\n", t, ($4 - $2) / ($3 - $1) }' | tee -a "$W/figures"
	if [ "$kind" = mitosis ]; then
		# The agents' own counters: datagram payload sizes (UDP payload, no IP/UDP headers).
		echo "$a0 $a1" | awk -v n="$N" -v s="$IDLE" -v t="$TAG system=$sys" \
			'{ printf "%s agent_datagrams_out_per_node_per_sec %.2f\n", t, ($5 - $1) / n / s
			   if ($5 > $1) printf "%s agent_payload_bytes_per_datagram %.1f\n", t, ($6 - $2) / ($5 - $1)
			   printf "%s agent_probes_per_node_per_sec %.2f\n", t, ($7 - $3) / n / s }' | tee -a "$W/figures"
	fi
	echo "$m0 $m1" | awk -v t="$TAG system=$sys" -v l="$(cut -d' ' -f1-3 /proc/loadavg)" \
		'{ printf "%s machine_busy_pct %.1f (every process, all CPUs, idle window; load average %s)\n", t, 100 * ($3 - $1) / ($3 - $1 + $4 - $2), l }' |
		tee -a "$W/figures"
	emit "$TAG system=$sys idle_suspicions $(count_events "$kind" suspect) idle_false_deaths $(count_events "$kind" dead)"
	if [ "$CHURN" -gt 0 ]; then
		say "$sys: every agent's load moving at random for $CHURN s"
		w0=$(wire_read "$kind")
		churn_loop "$kind" "$CHURN"
		w1=$(wire_read "$kind")
		echo "$w0 $w1" | awk -v n="$N" -v s="$CHURN" -v t="$TAG system=$sys" \
			'{ printf "%s churn_wire_bytes_per_node_per_sec %.0f\n", t, ($4 - $2) / n / s
			   printf "%s churn_wire_packets_per_node_per_sec %.2f\n", t, ($3 - $1) / n / s }' |
			tee -a "$W/figures"
	fi

	mapfile -t victims < <(shuf -i 4-"$N" -n "$TRIALS")
	: >"$W/$sys.delays"
	: >"$W/$sys.hdelays"
	trial=0
	for v in "${victims[@]}"; do
		trial=$((trial + 1))
		local rest=()
		for i in "${ALIVE[@]}"; do [ "$i" = "$v" ] || rest+=("$i"); done
		ALIVE=("${rest[@]}")
		local t0
		t0=$(date +%s%N)
		kill -9 "${PID_OF[v]}"
		wait "${PID_OF[v]}" 2>/dev/null || true
		wait_cond 90 all_detected "$kind" "$v" ||
			say "$sys trial $trial: only $(detected_count "$kind" "$v") of ${#ALIVE[@]} observers detected the crash in 90 s"
		# shellcheck disable=SC2046
		detect_delays "$kind" "$v" "$t0" log $(observer_files "$kind" log) >"$W/t.delays"
		cat "$W/t.delays" >>"$W/$sys.delays"
		read -r cnt med p99 max < <(stats <"$W/t.delays")
		emit "$TAG system=$sys trial=$trial victim=$v observers=${#ALIVE[@]} detected=$cnt crash_detect_ms median $med p99 $p99 max $max"
		if [ "$kind" = serf ]; then
			# shellcheck disable=SC2046
			detect_delays serf "$v" "$t0" handler $(observer_files serf handler) >"$W/t.delays"
			cat "$W/t.delays" >>"$W/$sys.hdelays"
			read -r cnt med p99 max < <(stats <"$W/t.delays")
			emit "$TAG system=$sys trial=$trial victim=$v observers=${#ALIVE[@]} detected=$cnt handler_detect_ms median $med p99 $p99 max $max"
		fi
		sleep 3
	done
	read -r cnt med p99 max < <(stats <"$W/$sys.delays")
	emit "$TAG system=$sys crash_detect_ms median $med p99 $p99 (observations $cnt, trials $TRIALS)"
	if [ "$kind" = serf ]; then
		read -r cnt med p99 max < <(stats <"$W/$sys.hdelays")
		emit "$TAG system=$sys handler_detect_ms median $med p99 $p99 (observations $cnt, trials $TRIALS)"
	fi

	for i in "${ALIVE[@]}"; do kill -9 "${PID_OF[i]}" 2>/dev/null || true; done
	for i in "${ALIVE[@]}"; do wait "${PID_OF[i]}" 2>/dev/null || true; done
	sleep 2
}

echo "# serf_compare: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "# serf_compare: $("$MITOSIS" version 2>&1 | head -1); serf $(serf version | head -1)"
say "N=$N IDLE_SECONDS=$IDLE TRIALS=$TRIALS; mitosis runs first, then Serf, never both at once"
[ -n "${MITOSIS_EXTRA_CONF:-}" ] && say "mitosis configuration added: $(echo "$MITOSIS_EXTRA_CONF" | tr '\n' ';')"
for sys in $SYSTEMS; do
	case $sys in mitosis | before | serf) run_system "$sys" ;; *) die "unknown system $sys" ;; esac
done

# Ratios mitosis/serf of the figures both systems printed.
python3 - "$W/figures" "$TAG" <<'PY'
import sys
fig = {}
for line in open(sys.argv[1]):
    w = line.split()
    if len(w) < 5 or w[0] != "serf_compare" or "trial=" in line:
        continue
    sysname = w[2].split("=")[1]
    k = w[3]
    if k in ("crash_detect_ms",):
        fig[(sysname, "crash_detect_median")] = w[5]
        fig[(sysname, "crash_detect_p99")] = w[7]
    elif k in ("rss_kb", "private_kb", "pss_kb"):
        fig[(sysname, k + "_avg")] = w[5]
    elif k in ("cpu_ms_per_node_per_sec", "wire_bytes_per_node_per_sec", "wire_packets_per_node_per_sec",
               "churn_wire_bytes_per_node_per_sec"):
        fig[(sysname, k)] = w[4]
    elif k == "handler_detect_ms":
        fig[(sysname, "handler_detect_median")] = w[5]
for k in ("crash_detect_median", "crash_detect_p99", "rss_kb_avg", "private_kb_avg", "pss_kb_avg",
          "cpu_ms_per_node_per_sec", "wire_bytes_per_node_per_sec", "wire_packets_per_node_per_sec",
          "churn_wire_bytes_per_node_per_sec"):
    for who in ("mitosis", "before"):
        a, b = fig.get((who, k)), fig.get(("serf", k))
        try:
            r = float(a) / float(b)
        except (TypeError, ValueError, ZeroDivisionError):
            continue
        print("serf_compare ratio %s %s/serf %.3g" % (k, who, r))
a, b = fig.get(("mitosis", "crash_detect_median")), fig.get(("serf", "handler_detect_median"))
try:
    print("serf_compare ratio crash_detect_median mitosis/serf_handler %.3g" % (float(a) / float(b)))
except (TypeError, ValueError, ZeroDivisionError):
    pass
PY
