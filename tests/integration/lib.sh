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
start_metadata() {
	spawn metadata python3 "$ROOT/tests/tools/fake_metadata.py" --lifetime 120 "$@"
	META_PID=$LAST_PID
	wait_for "$LOG/metadata.out" 10 "" || true
	local i
	for ((i = 0; i < 100; i++)); do
		[ -s "$LOG/metadata.out" ] && break
		sleep 0.1
	done
	[ -s "$LOG/metadata.out" ] || fail "fake metadata server did not start"
	META_URL="http://127.0.0.1:$(head -n1 "$LOG/metadata.out")"
}

# A new keyring at $1 (mode 0600); its secret is recorded for the log grep.
make_keyring() {
	"$MITOSIS" keygen -o "$1" >/dev/null
	awk '$1 == "primary" || $1 == "accept" { print $3 }' "$1" >>"$MITOSIS_SECRETS"
}

# Writes a minimal agent config at $1 with the keyring $2; extra lines on stdin.
make_config() {
	{
		echo "cluster = itest"
		echo "key_file = $2"
		cat
	} >"$1"
}

# A UDP port that is free on 127.0.0.1 right now.
free_udp_port() {
	python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
