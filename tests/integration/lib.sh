# Shared helpers for tests/integration/*.sh (sourced, not run).
#
# Each test runs with `set -eu`, gets a private work dir $T (removed on exit),
# and writes every log it makes under $MITOSIS_LOGDIR (kept by tests/run.sh on
# failure, and grepped there for secrets). Secrets a test creates are appended
# to $MITOSIS_SECRETS so the grep knows what to look for.
# Every process a test starts is killed on exit, pass or fail.

set -eu
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MITOSIS=${MITOSIS:-$ROOT/build/mitosis}
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
TEST_NAME=$(basename "$0" .sh)
MITOSIS_LOGDIR=${MITOSIS_LOGDIR:-$(mktemp -d /tmp/mitosis-logs.XXXXXX)}
MITOSIS_SECRETS=${MITOSIS_SECRETS:-$MITOSIS_LOGDIR/secrets.list}
LOG=$MITOSIS_LOGDIR/$TEST_NAME
mkdir -p "$LOG"
T=$(mktemp -d /tmp/mitosis-it.XXXXXX)
PIDS=()

cleanup() {
	local pid
	for pid in "${PIDS[@]:-}"; do
		[ -n "$pid" ] || continue
		{ kill -9 "$pid" && wait "$pid"; } 2>/dev/null || true
	done
	rm -rf "$T"
}
trap cleanup EXIT

say() { echo "[$TEST_NAME] $*"; }
fail() {
	echo "[$TEST_NAME] FAIL: $*" >&2
	exit 1
}

# Starts a background command, logging to $LOG/NAME.log; sets $LAST_PID.
spawn() {
	local name=$1
	shift
	"$@" >"$LOG/$name.out" 2>"$LOG/$name.log" &
	LAST_PID=$!
	PIDS+=("$LAST_PID")
}

# Waits up to $2 seconds (tenths resolution) for a fixed string in a file.
wait_for() {
	local file=$1 secs=$2 pattern=$3 i
	for ((i = 0; i < secs * 10; i++)); do
		grep -qF -- "$pattern" "$file" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# Waits up to $2 seconds for pid $1 to exit; sets $EXIT_CODE. Fails on timeout.
wait_exit() {
	local pid=$1 secs=$2 i
	for ((i = 0; i < secs * 10; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			set +e
			wait "$pid"
			EXIT_CODE=$?
			set -e
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# A fake metadata server: sets META_PID and META_URL. Args go to fake_metadata.py.
# Each server gets its own output file, so a new one is never mistaken for the
# previous one while the shell is still truncating the file.
META_COUNT=0
start_metadata() {
	local i out
	META_COUNT=$((META_COUNT + 1))
	out=metadata$META_COUNT
	spawn "$out" python3 "$ROOT/tests/tools/fake_metadata.py" --lifetime 120 "$@"
	META_PID=$LAST_PID
	for ((i = 0; i < 100; i++)); do
		[ -s "$LOG/$out.out" ] && break
		sleep 0.1
	done
	[ -s "$LOG/$out.out" ] || fail "fake metadata server did not start"
	META_URL="http://127.0.0.1:$(head -n1 "$LOG/$out.out")"
}

# A new keyring at $1 (mode 0600); its secret is recorded for the log grep.
make_keyring() {
	"$MITOSIS" keygen -o "$1" >/dev/null
	awk '$1 == "primary" || $1 == "accept" { print $3 }' "$1" >>"$MITOSIS_SECRETS"
}

# Writes a minimal agent config at $1 with the keyring $2; extra lines on stdin.
# Unless stdin sets control_socket, the socket goes beside the config, so that
# agents of concurrent tests never share /run/mitosis/mitosis.sock.
make_config() {
	local extra
	extra=$(cat)
	{
		echo "cluster = itest"
		echo "key_file = $2"
		[ -n "$extra" ] && echo "$extra"
		case "$extra" in
		*control_socket*) ;;
		*) echo "control_socket = ${1%.conf}.sock" ;;
		esac
	} >"$1"
}

# A UDP port that is free on 127.0.0.1 right now.
free_udp_port() {
	python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# --- clusters of real agents -------------------------------------------
# start_node I ADDR [EXTRA CONFIG LINES...]: agent I (node id 1000+I, name nI)
# bound to ADDR:7950 with control socket $T/nI.sock, seeded with $SEEDS.
# Uses $T/cluster.key unless KEYFILE is set. Sets NODE_PID[I].
declare -a NODE_PID
start_node() {
	local i=$1 addr=$2
	shift 2
	{
		echo "node_id = $((1000 + i))"
		echo "hostname = n$i"
		echo "private_ipv4 = $addr"
		echo "bind = $addr:7950"
		echo "control_socket = $T/n$i.sock"
		[ -n "${SEEDS:-}" ] && echo "seeds = $SEEDS"
		for line in "$@"; do echo "$line"; done
	} | make_config "$T/n$i.conf" "${KEYFILE:-$T/cluster.key}"
	spawn "n$i" "$MITOSIS" agent -c "$T/n$i.conf"
	NODE_PID[$i]=$LAST_PID
}

# members_json I: node I's member list as JSON on stdout.
members_json() {
	"$MITOSIS" members --json -s "$T/n$1.sock" 2>/dev/null
}

# count_state I STATE: how many members node I sees in STATE.
count_state() {
	members_json "$1" | python3 -c 'import json,sys
try: m=json.load(sys.stdin)
except Exception: print(-1); sys.exit()
print(sum(1 for x in m if x["state"]==sys.argv[1]))' "$2"
}

# state_of I ID: the state node I holds for member ID ("none" if unknown).
state_of() {
	members_json "$1" | python3 -c 'import json,sys
try: m=json.load(sys.stdin)
except Exception: print("error"); sys.exit()
s=[x["state"] for x in m if x["id"]==int(sys.argv[1])]
print(s[0] if s else "none")' "$2"
}

# wait_until SECS CMD...: retries CMD every 0.2 s until it succeeds.
wait_until() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 5; i++)); do
		"$@" && return 0
		sleep 0.2
	done
	return 1
}

# --- network namespaces ------------------------------------------------
# Topology (netns.sh style): one hub namespace holding a bridge, and one
# namespace per node joined to it by a veth pair. Addresses come from
# 198.18.0.0/15 (reserved for network tests); there is no route out.
#
#   mts-$$-n1 [198.18.0.1] --veth-- +
#   mts-$$-n2 [198.18.0.2] --veth-- + br0 in mts-$$-hub
#   ...                             +
NETNS_PREFIX=mts-$$
NETNS_LIST=()

netns_require() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP: network namespaces need root"
		exit 77
	fi
	command -v ip >/dev/null || fail "iproute2 missing (scripts/deps.sh installs it)"
	command -v nft >/dev/null || fail "nftables missing (scripts/deps.sh installs it)"
	trap netns_cleanup EXIT
}

netns_cleanup() {
	local ns
	cleanup
	for ns in "${NETNS_LIST[@]:-}"; do
		[ -n "$ns" ] && ip netns del "$ns" 2>/dev/null || true
	done
}

# netns_hub: the namespace with the bridge.
netns_hub() {
	local hub=$NETNS_PREFIX-hub
	ip netns add "$hub"
	NETNS_LIST+=("$hub")
	ip -n "$hub" link add br0 type bridge
	ip -n "$hub" link set br0 up
	ip -n "$hub" link set lo up
}

# netns_node I: namespace $NETNS_PREFIX-nI with 198.18.0.I/24 on eth0.
netns_node() {
	local i=$1 ns=$NETNS_PREFIX-n$1 hub=$NETNS_PREFIX-hub
	ip netns add "$ns"
	NETNS_LIST+=("$ns")
	ip link add "mt$$v$i" type veth peer name "mt$$b$i"
	ip link set "mt$$v$i" netns "$ns"
	ip link set "mt$$b$i" netns "$hub"
	ip -n "$ns" link set "mt$$v$i" name eth0
	ip -n "$ns" addr add "198.18.0.$i/24" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" link set lo up
	ip -n "$hub" link set "mt$$b$i" master br0
	ip -n "$hub" link set "mt$$b$i" up
}

# netns_loss I PERCENT: drop PERCENT% of gossip datagrams arriving at node I
# (input hook: dropping on output would hand the sender an EPERM instead).
netns_loss() {
	ip netns exec "$NETNS_PREFIX-n$1" nft -f - <<NFT
table inet mtsloss {
	chain input {
		type filter hook input priority 0; policy accept;
		udp dport 7950 numgen random mod 100 < $2 drop
	}
}
NFT
}

# netns_block I "ADDR, ADDR...": node I drops everything from those addresses.
netns_block() {
	ip netns exec "$NETNS_PREFIX-n$1" nft -f - <<NFT
table inet mtspart {
	chain input {
		type filter hook input priority 0; policy accept;
		ip saddr { $2 } drop
	}
}
NFT
}

netns_unblock() {
	ip netns exec "$NETNS_PREFIX-n$1" nft delete table inet mtspart
}

# start_ns_node I [EXTRA CONFIG LINES...]: agent I inside its namespace.
start_ns_node() {
	local i=$1
	shift
	{
		echo "node_id = $((1000 + i))"
		echo "hostname = n$i"
		echo "private_ipv4 = 198.18.0.$i"
		echo "bind = 198.18.0.$i:7950"
		echo "control_socket = $T/n$i.sock"
		[ -n "${SEEDS:-}" ] && echo "seeds = $SEEDS"
		for line in "$@"; do echo "$line"; done
	} | make_config "$T/n$i.conf" "${KEYFILE:-$T/cluster.key}"
	spawn "n$i" ip netns exec "$NETNS_PREFIX-n$i" "$MITOSIS" agent -c "$T/n$i.conf"
	NODE_PID[$i]=$LAST_PID
}
