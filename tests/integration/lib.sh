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
LOG=$MITOSIS_LOGDIR/$TEST_NAME${MITOSIS_SIM_PROFILE:+-$MITOSIS_SIM_PROFILE}
mkdir -p "$LOG"
T=$(mktemp -d /tmp/mitosis-it.XXXXXX)
PIDS=()

cleanup() {
	local pid
	sim_stop
	for pid in "${PIDS[@]:-}"; do
		[ -n "$pid" ] || continue
		{ kill -9 "$pid" && wait "$pid"; } 2>/dev/null || true
	done
	# Whatever still names the test's directory (a process a tracer or a
	# script started, which the kills above do not reach) goes too: a leaked
	# agent would hold the shared test lock it inherited, and the port.
	[ -n "${T:-}" ] && pkill -9 -f -- "$T/" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT

say() { echo "[$TEST_NAME] $*"; }
fail() {
	echo "[$TEST_NAME] FAIL: $*" >&2
	# A test may keep what it needs to explain a failure (policy_cluster: the agents' logs).
	if declare -F on_fail >/dev/null; then on_fail || true; fi
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
# Unless stdin sets control_socket or state_dir, the socket and the state
# directory go beside the config, so that agents of concurrent tests never
# share /run/mitosis/mitosis.sock or /var/lib/mitosis.
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
		case "$extra" in
		*state_dir*) ;;
		*) echo "state_dir = ${1%.conf}.state" ;;
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

# --- nftables splits (election_split.sh, policy_partition.sh) --------------
# nft_guard NAME: such a test needs root and nft; its rules live in the table
# NAME_PID ($TABLE), removed on exit, pass or fail.
nft_guard() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP: nftables rules need root"
		exit 77
	fi
	command -v nft >/dev/null || fail "nftables missing (scripts/deps.sh installs it)"
	TABLE=$1_$$
	nft_cleanup() {
		nft delete table inet "$TABLE" 2>/dev/null || true
		cleanup
	}
	trap nft_cleanup EXIT
}

# nft_split "A, B" "C, D, E": drops gossip (UDP 7950) between the two address
# sets, both ways, on the input hook; `nft delete table inet $TABLE` heals.
nft_split() {
	nft -f - <<NFT || fail "could not install the nftables rules"
table inet $TABLE {
	chain input {
		type filter hook input priority 0; policy accept;
		ip saddr { $1 } ip daddr { $2 } udp dport 7950 drop
		ip saddr { $2 } ip daddr { $1 } udp dport 7950 drop
	}
}
NFT
}

# --- the DigitalOcean simulator (tests/cloudsim) ----------------------------
free_tcp_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# sim_start [dosim flags...]: starts dosim.py with a fresh token (recorded as
# a secret) and the domain example.com; sets SIM_URL, SIM_PID, TOKEN_FILE and
# SIM_META_PORT. Droplet metadata listeners get a port of their own, so that
# simulators of concurrent tests never fight over 127.78.X.Y:8169. cleanup()
# shuts it down gracefully, so that it stops its droplets' processes itself.
# Tests running side by side (tests/run.sh's slots, MITOSIS_IT_SLOT) give
# their droplets separate address blocks: slot 1 starts at 127.7x.11.1.
#
# With MITOSIS_SIM_PROFILE=real (tests/run.sh's second pass over the tests
# that use the simulator) it runs DigitalOcean's realism profile with every
# delay scaled by MITOSIS_SIM_TIME_SCALE (default 0.05: a 30-60 s boot takes
# 1.5-3 s): the test's own --boot-delay and --action-delay are dropped so the
# profile's apply; its other flags stay.
sim_start() {
	local flags=() a
	TOKEN_FILE=$T/token
	(umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' | sed 's/^/dop_v1_/' >"$TOKEN_FILE")
	cat "$TOKEN_FILE" >>"$MITOSIS_SECRETS"
	SIM_META_PORT=$(free_tcp_port)
	if [ "${MITOSIS_SIM_PROFILE:-default}" = real ]; then
		flags=(--profile real --time-scale "${MITOSIS_SIM_TIME_SCALE:-0.05}")
		while [ $# -gt 0 ]; do
			case "$1" in
			--boot-delay | --action-delay) shift ;;
			*) flags+=("$1") ;;
			esac
			shift
		done
	else
		flags=("$@")
	fi
	spawn sim python3 "$ROOT/tests/cloudsim/dosim.py" --port 0 --token-file "$TOKEN_FILE" \
		--domain example.com --state-dir "$T/sim" --ready-file "$T/ready.json" \
		--metadata-port "$SIM_META_PORT" --addr-base $((1 + ${MITOSIS_IT_SLOT:-0} * 2540)) "${flags[@]}"
	SIM_PID=$LAST_PID
	wait_for "$T/ready.json" 10 '"url"' || fail "simulator did not start"
	SIM_URL=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$T/ready.json")
}

# sim_real: true when this run is the realism pass (MITOSIS_SIM_PROFILE=real).
sim_real() { [ "${MITOSIS_SIM_PROFILE:-default}" = real ]; }

sim_stop() {
	[ -n "${SIM_URL:-}" ] || return 0
	curl -s -m 5 -X POST "$SIM_URL/_sim/shutdown" >/dev/null 2>&1 || true
	wait_until 5 bash -c "! kill -0 $SIM_PID 2>/dev/null" || true
	SIM_URL=
}

# sim_post PATH JSON: a control endpoint of the simulator (/_sim/...).
sim_post() { curl -sf -m 5 -X POST -H 'Content-Type: application/json' -d "$2" "$SIM_URL$1" >/dev/null; }

# sim_eval PYEXPR: PYEXPR over the simulator state `s`.
sim_eval() {
	curl -sf -m 5 "$SIM_URL/_sim/state" | python3 -c "import json,sys,collections; s=json.load(sys.stdin); print($1)"
}

# cloud_sim_start [dosim flags]: the simulator with short delays, a keyring
# at $T/key and an agent config for the cloud verbs at $T/m.conf.
cloud_sim_start() {
	sim_start --boot-delay 1 --action-delay 1 --kill-grace 1 --seed 11 "$@"
	make_keyring "$T/key"
	cloud_config "$T/m.conf" "$T/key"
}

# cloud_config FILE KEYRING: an agent config for the cloud verbs against the simulator
# (active_timeout 30 s on the realism profile: its boots, lags and held polls add up
# on a loaded machine; 10 s on the instant one).
cloud_config() {
	make_config "$1" "$2" <<CONF
token_file = $TOKEN_FILE
api_url = $SIM_URL
clone_image = 100000001
clone_size = s-1vcpu-1gb
clone_region = nyc3
active_timeout = $([ "${MITOSIS_SIM_PROFILE:-default}" = real ] && echo 30s || echo 10s)
CONF
}

# sim_lb NAME [TAG]: a load balancer in the simulator (by droplet ids, or by TAG); prints its id.
# Its health check is tcp on the simulator's metadata port, which every booted
# droplet listens on at its private address, checked every second and healthy
# after 2 passes: members pass the check the client makes itself
# (docs/registrars.md, "Health") and the simulator's --lb-health alike.
sim_lb() {
	sim_api POST /v2/load_balancers "{\"name\":\"$1\",\"region\":\"nyc3\"${2:+,\"tag\":\"$2\"},\"forwarding_rules\":[{\"entry_protocol\":\"http\",\"entry_port\":80,\"target_protocol\":\"http\",\"target_port\":80}],\"health_check\":{\"protocol\":\"tcp\",\"port\":$SIM_META_PORT,\"check_interval_seconds\":1,\"response_timeout_seconds\":1,\"healthy_threshold\":2,\"unhealthy_threshold\":2}}" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["load_balancer"]["id"])'
}

# rotation_config FILE KEYRING LB [API_URL]: a config with the do-dns and do-lb
# registrars (www.example.com, TTL 30, load balancer LB) against the simulator
# (or API_URL); extra lines on stdin.
rotation_config() {
	local extra
	extra=$(cat)
	make_config "$1" "$2" <<CONF
token_file = $TOKEN_FILE
api_url = ${4:-$SIM_URL}
registrars = do-dns, do-lb
dns_domain = example.com
dns_name = www
dns_ttl = 30
lb_id = $3
$extra
CONF
}

# sim_api METHOD PATH [BODY]: the simulator's API with the token; prints the body.
sim_api() {
	python3 - "$SIM_URL" "$TOKEN_FILE" "$@" <<'PY'
import sys, urllib.request, urllib.error
url, tokf, method, path = sys.argv[1:5]
body = sys.argv[5].encode() if len(sys.argv) > 5 else None
req = urllib.request.Request(url + path, data=body, method=method)
req.add_header("Authorization", "Bearer " + open(tokf).read().strip())
if body: req.add_header("Content-Type", "application/json")
try:
    with urllib.request.urlopen(req) as r: sys.stdout.write(r.read().decode())
except urllib.error.HTTPError as e:
    sys.stdout.write(e.read().decode()); sys.exit(1)
PY
}

# sim_state PYEXPR: evaluates PYEXPR with s = GET /_sim/state; www() lists the
# A records of www.example.com, lb(ID) a load balancer's droplet ids.
sim_state() {
	python3 - "$SIM_URL" "$1" <<'PY'
import json, sys, urllib.request
s = json.load(urllib.request.urlopen(sys.argv[1] + "/_sim/state"))
def www(): return sorted(r["data"] for r in s["domains"]["example.com"]["records"]
                         if r["type"] == "A" and r["name"] == "www")
def lb(i): return sorted(next(l for l in s["load_balancers"] if l["id"] == i)["droplet_ids"])
print(eval(sys.argv[2]))
PY
}

# sim_droplet NAME: one droplet made through the API, waited until active with
# both addresses; prints its id.
sim_droplet() {
	local id
	id=$(sim_api POST /v2/droplets "{\"name\":\"$1\",\"size\":\"s-1vcpu-1gb\",\"image\":100000001,\"region\":\"nyc3\"}" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["droplet"]["id"])')
	wait_until 120 sim_ready "$id" || fail "droplet $1 ($id) did not become active with its addresses"
	echo "$id"
}
sim_ready() {
	[ "$(sim_eval "any(d['id'] == $1 and d['status'] == 'active' and len(d['networks']['v4']) == 2 for d in s['droplets'])")" = True ]
}

# sim_action ID JSON: posts a droplet action through the API and waits until it completes.
sim_action() {
	local aid
	aid=$(sim_api POST "/v2/droplets/$1/actions" "$2" | python3 -c 'import json,sys; print(json.load(sys.stdin)["action"]["id"])') ||
		fail "action $2 on $1 refused"
	wait_until 120 bash -c "[ \"\$(curl -sf -m 5 '$SIM_URL/_sim/state' | python3 -c 'import json,sys; print([a[\"status\"] for a in json.load(sys.stdin)[\"actions\"] if a[\"id\"] == $aid][0])')\" = completed ]" ||
		fail "action $2 on $1 did not complete"
}

# sim_identity FILE ID: makes FILE's node the droplet ID (static identity, for snapshot and resize).
sim_identity() {
	sim_eval "'\\n'.join('node_id = %d\\nhostname = %s\\nprivate_ipv4 = %s\\npublic_ipv4 = %s' % (d['id'], d['name'], d['sim']['private_ipv4'], d['sim']['public_ipv4']) for d in s['droplets'] if d['id'] == $2)" >>"$1"
}

# sim_truth ID: the droplet's true status and size ("active s-1vcpu-1gb"), lags aside.
sim_truth() {
	sim_eval "' '.join(d['sim']['true_status'] + ' ' + d['size_slug'] for d in s['droplets'] if d['id'] == $1)"
}

# bounded NAME CMD...: runs CMD (bounded to 60 s) with stdout in $LOG/NAME.out
# and stderr in $LOG/NAME.err, shows the stderr; sets RC (124: the bound
# passed) and SECS.
bounded() {
	local name=$1 t0
	shift
	t0=$(date +%s%N)
	set +e
	timeout 60 "$@" >"$LOG/$name.out" 2>"$LOG/$name.err"
	RC=$?
	set -e
	SECS=$((($(date +%s%N) - t0) / 1000000000))
	cat "$LOG/$name.err"
}

# --- the election (tests/integration/election_*.sh) ---------------------------
# elect_droplets N: N droplets under the cluster tag mitosis-itest in the
# simulator (sim_start first); sets IDS[], PUB[] (their public addresses).
elect_droplets() {
	local n=$1 i names
	for ((i = 0; i < n; i += 10)); do
		names=$(python3 -c 'import json,sys; a,b=int(sys.argv[1]),int(sys.argv[2]); print(json.dumps(["e-%d" % j for j in range(a, min(a + 10, b))]))' "$i" "$n")
		sim_api POST /v2/droplets "{\"names\":$names,\"region\":\"nyc3\",\"size\":\"s-1vcpu-1gb\",\"image\":\"debian-12-x64\",\"tags\":[\"mitosis-itest\"]}" >/dev/null
	done
	elect_all_active() { [ "$(sim_state 'sum(d["status"] == "active" for d in s["droplets"])')" = "$n" ]; }
	wait_until 20 elect_all_active || fail "droplets did not become active"
	mapfile -t IDS < <(sim_state '"\n".join(str(d["id"]) for d in sorted(s["droplets"], key=lambda d: d["id"]))')
	mapfile -t PUB < <(sim_state '"\n".join(d["sim"]["public_ipv4"] for d in sorted(s["droplets"], key=lambda d: d["id"]))')
}

# elect_start I NET [EXTRA CONFIG LINES...]: agent I as droplet IDS[I], bound to
# NET.(I+1):7950, seeded with NET.1, with the do-dns and do-lb registrars on $LB.
elect_start() {
	local i=$1 net=$2 line
	shift 2
	{
		echo "node_id = ${IDS[$i]}"
		echo "hostname = e-$i"
		echo "public_ipv4 = ${PUB[$i]}"
		echo "private_ipv4 = $net.$((i + 1))"
		echo "bind = $net.$((i + 1)):7950"
		echo "seeds = $net.1"
		echo "control_socket = $T/n$i.sock"
		for line in "$@"; do echo "$line"; done
	} | rotation_config "$T/n$i.conf" "$T/cluster.key" "$LB"
	spawn "n$i" "$MITOSIS" agent -c "$T/n$i.conf"
	NODE_PID[$i]=$LAST_PID
}

# leader_json I: node I's `mitosis leader --json` (empty when it does not answer).
leader_json() { "$MITOSIS" leader --json -s "$T/n$1.sock" 2>/dev/null || true; }

# leader_field I KEY: one field of it ("none" when missing or null).
leader_field() {
	leader_json "$1" | python3 -c 'import json,sys
try: v=json.load(sys.stdin).get(sys.argv[1])
except Exception: v=None
print("none" if v is None else str(v).lower())' "$2"
}

# agreed_leader I...: the leader every node I names, if they all name the same
# one and it says it leads; else fails.
agreed_leader() {
	local i l first=
	for i in "$@"; do
		l=$(leader_field "$i" leader)
		[ "$l" != none ] || return 1
		[ -z "$first" ] || [ "$l" = "$first" ] || return 1
		first=$l
	done
	AGREED=$first
	for i in "${!IDS[@]}"; do
		[ "${IDS[$i]}" = "$first" ] || continue
		LEADER_I=$i
		[ "$(leader_field "$i" leading)" = true ] || return 1
		LEADER_TERM=$(leader_field "$i" term)
		return 0
	done
	return 1
}

# index_of ID: the index I of droplet ID in IDS.
index_of() {
	local i
	for i in "${!IDS[@]}"; do [ "${IDS[$i]}" = "$1" ] && echo "$i" && return 0; done
	return 1
}

# log_time FILE PATTERN: the Unix time (s.ms) of the first line of FILE holding PATTERN.
log_time() {
	python3 - "$1" "$2" <<'PY'
import calendar, datetime, sys
for line in open(sys.argv[1], errors="replace"):
    if sys.argv[2] in line:
        t = datetime.datetime.strptime(line[:23], "%Y-%m-%dT%H:%M:%S.%f")
        print("%.3f" % (calendar.timegm(t.timetuple()) + t.microsecond / 1e6))
        break
PY
}

# mutating_calls PYCOND: the agents' mutating requests to the simulator
# (method, path, time, agent) for which PYCOND holds over r (a request_log
# entry), one per line. The test's own set-up calls (sim_api, Python's
# User-Agent) are not the agents' and are left out.
mutating_calls() {
	sim_state "'\\n'.join('%s %s %.3f %s' % (r['method'], r['path'], r['time'], r.get('agent', '')) for r in s['request_log'] if r['method'] != 'GET' and r.get('agent', '').startswith('mitosis') and ($1))"
}

# elect_cluster N NET [EXTRA CONFIG LINES...]: the simulator, a keyring, a load
# balancer ($LB), N droplets and their N agents on NET.1..N; sets ALL (0..N-1)
# and waits until they agree on a leader (LEADER_I, LEADER_TERM, AGREED).
elect_cluster() {
	local n=$1 net=$2 i
	shift 2
	sim_start --boot-delay 0.2 --quiet
	make_keyring "$T/cluster.key"
	LB=$(sim_lb web)
	elect_droplets "$n"
	ALL=()
	for ((i = 0; i < n; i++)); do
		elect_start "$i" "$net" "bootstrap_settle = 1s" "$@"
		ALL+=("$i")
	done
	wait_until 40 agreed_leader "${ALL[@]}" ||
		fail "no agreed leader: $(for i in "${ALL[@]}"; do leader_json "$i"; echo; done)"
}

# --- baking in the simulator (bake.sh, walkthrough.sh) ---------------------
# bake_sim_setup CLUSTER: what `mitosis bake` needs in the simulator, as a
# real bake has it on DigitalOcean:
#   $BASE       a base image standing for Debian 12: its init starts
#               /usr/bin/mitosis at boot once a package put it there
#   $T/bake.yaml the builder's user-data, cloud-init/bake.yaml in the
#               simulator's terms: the "package" is a wrapper of the agent under
#               test, the drop-in sets CLUSTER and a do-dns registrar
#               (www.example.com), the keyring is waited for under the root
#   $T/bin/ssh  ssh as the bake runs it (root@IP, a remote command ending in the
#               file's path, the file on stdin): it writes the file into that
#               droplet's root; its first try fails, as a booting sshd's does
bake_sim_setup() {
	# The base image: the simulator's Debian, whose init starts the agent when the package is installed.
	cat >"$T/base.json" <<'EOF'
{"name": "debian-12-sim", "files": {},
 "command": ["/bin/sh", "-c", "[ -x {root}/usr/bin/mitosis ] || exit 0; exec {root}/usr/bin/mitosis agent -c {root}/etc/mitosis/mitosis.conf --key-file {root}/etc/mitosis/cluster.key --token-file {root}/etc/mitosis/token --api-url {api_url} --metadata-url {metadata_url} --control-socket {root}/run/mitosis/mitosis.sock --state-dir {root}/var/lib/mitosis"]}
EOF
	BASE=$(curl -sf -X POST -H 'Content-Type: application/json' --data-binary @"$T/base.json" "$SIM_URL/_sim/snapshots" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["image"]["id"])')

	# The bake user-data, as cloud-init/bake.yaml does it, in the simulator's terms: the
	# package is a wrapper of the agent under test, and the paths are under the droplet's root.
	cat >"$T/bake.yaml" <<EOF
#cloud-config
write_files:
  - path: /etc/mitosis/mitosis.conf
    permissions: '0644'
    content: |
      # the package's commented configuration
  - path: /etc/mitosis/conf.d/10-image.conf
    permissions: '0644'
    content: |
      cluster = $1
      key_file = /etc/mitosis/cluster.key
      registrars = do-dns
      dns_domain = example.com
      dns_name = www
      dns_ttl = 30
      reconcile_interval = 5s
  - path: /usr/bin/mitosis
    permissions: '0755'
    content: |
      #!/bin/sh
      exec $MITOSIS "\$@"
runcmd:
  - [sh, -c, 'for i in \$(seq 1 300); do [ -s "\$MITOSIS_SIM_ROOT/etc/mitosis/cluster.key" ] && exit 0; sleep 0.1; done; exit 1']
power_state:
  mode: poweroff
  condition: true
EOF

	# ssh as the bake runs it: root@IP, a remote command ending in the file's path, the file
	# on stdin. It writes that file into the droplet's root; its first try fails as a booting
	# sshd's does.
	mkdir -p "$T/bin"
	cat >"$T/bin/ssh" <<EOF
#!/bin/sh
echo "\$*" >>"$T/ssh.args"
[ -e "$T/ssh.tried" ] || { touch "$T/ssh.tried"; echo "ssh: connect to host: Connection refused" >&2; exit 255; }
ip=
for a; do case \$a in root@*) ip=\${a#root@} ;; esac; last=\$a; done
dest=\${last##* }
case \$dest in /etc/mitosis/*) ;; *) exit 2 ;; esac
root=\$(curl -sf "$SIM_URL/_sim/state" | python3 -c 'import json,sys; print(next(d["sim"]["root"] for d in json.load(sys.stdin)["droplets"] if d["sim"]["public_ipv4"] == sys.argv[1]))' "\$ip") || exit 255
mkdir -p "\$root/etc/mitosis"
(umask 077; cat >"\$root\$dest")
EOF
	chmod 755 "$T/bin/ssh"
}

# --- the scaling policy end to end (issue 13) ----------------------------
# policy_cluster N [CONFIG LINES...]: the simulator on its realism profile
# (time-scaled by POLICY_TIME_SCALE, default 0.05: a 60 s boot takes 3 s), a
# load balancer ($LB), a snapshot whose agent runs the policy, and N droplets
# of it under the cluster tag, which find each other and elect a leader.
# The snapshot's configuration names its own image id as clone_image ($IMAGE:
# the simulator numbers images in sequence, so a probe snapshot tells the
# next id, checked after), plus the lines given; only the first N droplets
# get bootstrap_expect, through their user-data, as an operator would do.
# Each agent reads its custom metric from ROOT/load (policy_load writes it).
# Sets IMAGE, LB, IDS (the first N droplets).
policy_cluster() {
	local n=$1 names probe ud
	shift
	sim_start --profile real --time-scale "${POLICY_TIME_SCALE:-0.05}" --kill-grace 1 \
		--agent "$MITOSIS" --quiet
	make_keyring "$T/cluster.key"
	LB=$(sim_lb web)
	probe=$(curl -sf -m 5 -X POST -H 'Content-Type: application/json' --data '{"name":"probe","files":{}}' \
		"$SIM_URL/_sim/snapshots" | python3 -c 'import json,sys; print(json.load(sys.stdin)["image"]["id"])')
	[ -n "$probe" ] || fail "could not register the probe snapshot"
	IMAGE=$((probe + 1))
	# The lines given replace the base lines of the same keys (a key twice is an error).
	{
		cat <<CONF | while IFS= read -r line; do
cluster = itest
api_url = $SIM_URL
registrars = do-dns, do-lb
dns_domain = example.com
dns_name = www
dns_ttl = 30
lb_id = $LB
reconcile_interval = 2s
clone_image = $IMAGE
clone_size = s-1vcpu-1gb
clone_region = nyc3
load_interval = 500ms
load_change = 0
policy_metrics = custom
target_custom = 100
policy_interval = 500ms
warmup = 5s
active_timeout = 30s
drain_timeout = 0
CONF
			printf '%s\n' "$@" | grep -q "^${line%% =*} =" || echo "$line"
		done
		for line in "$@"; do echo "$line"; done
	} >"$T/droplet.conf"
	python3 - "$T" >"$T/snapshot.json" <<'PY'
import base64, json, sys
t = sys.argv[1]
def b64(p): return base64.b64encode(open(p, "rb").read()).decode()
print(json.dumps({"name": "mitosis-policy", "files": {
    "/etc/mitosis/mitosis.conf": {"content": open(t + "/droplet.conf").read(), "mode": "0644"},
    "/etc/mitosis/cluster.key": {"content_b64": b64(t + "/cluster.key"), "mode": "0600"},
    "/etc/mitosis/token": {"content_b64": b64(t + "/token"), "mode": "0600"}},
    "command": ["{mitosis}", "agent", "-c", "{root}/etc/mitosis/mitosis.conf",
                "--key-file", "{root}/etc/mitosis/cluster.key", "--token-file", "{root}/etc/mitosis/token",
                "--metadata-url", "{metadata_url}", "--control-socket", "{root}/run/mitosis/mitosis.sock",
                "--state-dir", "{root}/var/lib/mitosis", "--custom-metric-file", "{root}/load",
                "--metrics-listen", "{private_ipv4}:9950"]}))
PY
	[ "$(curl -sf -m 5 -X POST -H 'Content-Type: application/json' --data @"$T/snapshot.json" \
		"$SIM_URL/_sim/snapshots" | python3 -c 'import json,sys; print(json.load(sys.stdin)["image"]["id"])')" = "$IMAGE" ] ||
		fail "the snapshot did not get image id $IMAGE"
	names=$(python3 -c 'import json,sys; print(json.dumps(["p-%d" % i for i in range(int(sys.argv[1]))]))' "$n")
	# A majority of the first nodes founds the cluster (docs/election.md: N > half).
	ud=$(python3 -c 'import json,sys; print(json.dumps("#cloud-config\nwrite_files:\n  - path: /etc/mitosis/conf.d/50-user-data.conf\n    content: |\n      bootstrap_expect = %s\n      bootstrap_settle = 1s\n" % (int(sys.argv[1]) // 2 + 1)))' "$n")
	sim_api POST /v2/droplets "{\"names\":$names,\"region\":\"nyc3\",\"size\":\"s-1vcpu-1gb\",\"image\":$IMAGE,\"tags\":[\"mitosis-itest\"],\"user_data\":$ud}" >/dev/null ||
		fail "could not create the first droplets"
	mapfile -t IDS < <(sim_state '"\n".join(str(d["id"]) for d in sorted(s["droplets"], key=lambda d: d["id"]))')
	policy_led() { [ -n "$(policy_leader)" ]; }
	wait_secs 60 policy_led || fail "the first $n droplets elected no leader"
}

# On a failure, every droplet's agent log goes to $LOG (the simulator removes them).
on_fail() {
	local id
	[ -n "${SIM_URL:-}" ] || return 0
	for id in $(sim_state '" ".join(str(d["id"]) for d in s["droplets"])' 2>/dev/null); do
		cp "$(policy_root "$id")/var/log/dosim/agent.log" "$LOG/agent-$id.log" 2>/dev/null || true
	done
	curl -sf -m 5 "$SIM_URL/_sim/state" >"$LOG/sim-state.json" 2>/dev/null || true
}

# wait_secs SECS CMD...: retries CMD until it succeeds or SECS seconds have
# passed (by the clock: CMD may be slow, which wait_until's count would stretch).
wait_secs() {
	local end=$((SECONDS + $1))
	shift
	while [ "$SECONDS" -lt "$end" ]; do
		"$@" && return 0
		sleep 0.3
	done
	"$@"
}

# policy_root ID: droplet ID's root directory in the simulator.
policy_root() { sim_state "next(d['sim']['root'] for d in s['droplets'] if d['id'] == $1)"; }
# policy_load ID VALUE: the custom metric droplet ID's agent reads.
policy_load() { policy_load_at "$(policy_root "$1")" "$2"; }
# policy_load_at ROOT VALUE: the same, given the droplet's root directory.
policy_load_at() { echo "$2" >"$1/load.tmp" && mv "$1/load.tmp" "$1/load"; }
# policy_sock ID: droplet ID's control socket.
policy_sock() { echo "$(policy_root "$1")/run/mitosis/mitosis.sock"; }
# policy_says_leader SOCK: true when the agent at control socket SOCK says it leads.
policy_says_leader() {
	"$MITOSIS" leader --json -s "$1" 2>/dev/null |
		python3 -c 'import json,sys; j=json.load(sys.stdin); sys.exit(0 if j.get("role") == "leader" else 1)' 2>/dev/null
}
# policy_leader: the droplet id of the node that says it leads ("" if none).
policy_leader() {
	local id root
	while read -r id root; do
		[ -n "$id" ] || continue
		policy_says_leader "$root/run/mitosis/mitosis.sock" && { echo "$id"; return 0; }
	done < <(sim_state '"\n".join("%d %s" % (d["id"], d["sim"]["root"]) for d in s["droplets"] if d["sim"]["agent_alive"])')
	return 0
}
# policy_in_rotation N: the www record and the load balancer hold N each.
policy_in_rotation() { [ "$(sim_state 'len(www())')" = "$1" ] && [ "$(sim_state "len(lb('$LB'))")" = "$1" ]; }
# policy_rotation_is_billed: the droplets billed now are exactly the ones in
# the www record (by public address) and on the load balancer: nothing
# deleted is left in rotation, nothing billed is out of it. Prints them.
policy_rotation_is_billed() {
	python3 - "$SIM_URL" "$LB" <<'PY'
import json, sys, urllib.request
url, lb = sys.argv[1], sys.argv[2]
s = json.load(urllib.request.urlopen(url + "/_sim/state"))
alive = sorted(c["droplet_id"] for c in s["cost"]["droplets"] if c["alive"])
listed = {d["id"]: d for d in s["droplets"]}
www = sorted(r["data"] for r in s["domains"]["example.com"]["records"] if r["type"] == "A" and r["name"] == "www")
ips = sorted(listed[i]["sim"]["public_ipv4"] for i in alive)
assert www == ips, "DNS holds %s, the billed droplets are %s" % (www, ips)
members = sorted(i for l in s["load_balancers"] if l["id"] == lb for i in l["droplet_ids"])
assert members == alive, "the LB holds %s, the billed droplets are %s" % (members, alive)
print(" ".join(str(i) for i in alive))
PY
}
# policy_wait_voters N: waits until the leader's committed voter set holds N
# voters (single-server changes add them one at a time, each after the
# member's stabilization: a 3-node cluster has 2 voters for a while, and
# killing one of them then loses the quorum, by design).
policy_wait_voters() {
	local want=$1
	voters_are() {
		local l
		l=$(policy_leader)
		[ -n "$l" ] && [ "$("$MITOSIS" leader --json -s "$(policy_sock "$l")" 2>/dev/null |
			python3 -c 'import json,sys; print(len(json.load(sys.stdin)["voters"]))' 2>/dev/null)" = "$want" ]
	}
	wait_secs 60 voters_are || fail "the voter set did not reach $want voters"
}
# policy_count: droplets the simulator holds (any status).
policy_count() { sim_state 'len(s["droplets"])'; }
# policy_creates: droplet creates the agents sent (the User-Agent names them).
policy_creates() {
	sim_state 'sum(1 for r in s["request_log"] if r["method"] == "POST" and r["path"].split("?")[0] == "/v2/droplets" and r.get("agent", "").startswith("mitosis/"))'
}
