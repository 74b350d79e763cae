#!/usr/bin/env bash
# mitosis demo: a local DigitalOcean (tests/cloudsim/dosim.py) and a cluster of 3 droplets
# booted from a snapshot that runs the real agent; a live view until Ctrl-C.
#
#   make demo                      interactive, stops on Ctrl-C
#   DEMO_SECONDS=8 scripts/demo.sh runs for 8 s then cleans up (for tests and CI)
#   DEMO_FAKE_AGENT=1              use tests/cloudsim/fake_agent.py instead of build/mitosis
#   MITOSIS_AGENT=path             use this agent binary instead of building build/mitosis
#   DEMO_DROPLETS=3                how many droplets to start
#   DEMO_BOOT_DELAY=2              seconds from create to active
#   DEMO_MISSION=1                 the mission (what `make demo` runs): two droplets whose
#                                  agents run the scaling policy; the demo raises their custom
#                                  metric, the leader clones a 3rd and a 4th node, then the
#                                  metric drops and it drains and retires them. Ends by itself
#                                  when done (or at DEMO_SECONDS, or on Ctrl-C).
#
# On exit (normal, error, Ctrl-C, SIGTERM, or its output closing: `demo.sh | head -3`)
# it stops the simulator, which stops every droplet process and removes every
# droplet directory, then removes its own temp dir. Those last words go to stderr:
# stdout may be the pipe that closed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
py=${PYTHON:-python3}
count=${DEMO_DROPLETS:-3}
boot_delay=${DEMO_BOOT_DELAY:-2}
seconds=${DEMO_SECONDS:-0}
fake=${DEMO_FAKE_AGENT:-0}
mission=${DEMO_MISSION:-0}
[ "$mission" = 1 ] && fake=0
agent=${MITOSIS_AGENT:-"$here/build/mitosis"}

tmp=
sim_pid=
cleanup() {
	local rc=$?
	trap - EXIT INT TERM PIPE
	trap '' PIPE # a closed stdout must not stop the clean-up half way
	if [ -n "$sim_pid" ] && kill -0 "$sim_pid" 2>/dev/null; then
		echo "demo: stopping the simulator (pid $sim_pid)" >&2
		kill -TERM "$sim_pid" 2>/dev/null || true
		for _ in $(seq 1 100); do
			kill -0 "$sim_pid" 2>/dev/null || break
			sleep 0.2
		done
		if kill -0 "$sim_pid" 2>/dev/null; then
			echo "demo: simulator did not stop, killing it" >&2
			kill -KILL "$sim_pid" 2>/dev/null || true
		fi
		wait "$sim_pid" 2>/dev/null || true
	fi
	if [ -n "$tmp" ] && [ -d "$tmp" ]; then
		rm -rf "$tmp"
		echo "demo: removed $tmp" >&2
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 141' PIPE # the reader of our output went away (demo.sh | head)

if [ "$fake" = 1 ]; then
	echo "demo: using the fake agent (tests/cloudsim/fake_agent.py)"
elif [ -n "${MITOSIS_AGENT:-}" ]; then
	echo "demo: using the agent $agent"
	[ -x "$agent" ] || { echo "demo: $agent is not executable" >&2; exit 1; }
else
	echo "demo: building build/mitosis and build/mitosis-http"
	make --no-print-directory all
	[ -x "$agent" ] || { echo "demo: $agent was not built" >&2; exit 1; }
fi
# The agent runs its HTTP requests in mitosis-http, found beside it.
if [ "$fake" != 1 ] && [ -z "${MITOSIS_HTTP_HELPER:-}" ] && [ ! -x "$(dirname "$agent")/mitosis-http" ]; then
	echo "demo: $(dirname "$agent")/mitosis-http is missing (make builds it beside mitosis)" >&2
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mitosis-demo.XXXXXX")
chmod 700 "$tmp"
instance="demo$$"
echo "demo: working dir $tmp (instance $instance)"

if [ "$fake" = 1 ]; then
	head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$tmp/cluster.key"
	chmod 600 "$tmp/cluster.key"
else
	"$agent" keygen -o "$tmp/cluster.key"
fi
cat > "$tmp/mitosis.conf" <<EOF
cluster = demo
log_level = info
EOF
fake_flag=()
[ "$fake" = 1 ] && fake_flag=(--fake-agent)
"$py" tests/cloudsim/demo_view.py snapshot --config "$tmp/mitosis.conf" --key "$tmp/cluster.key" \
	--out "$tmp/snapshot.json" "${fake_flag[@]}"
( umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$tmp/token" )

agent_flag=()
[ "$fake" = 1 ] || agent_flag=(--agent "$agent")
snap_flag=(--snapshot "$tmp/snapshot.json")
[ "$mission" = 1 ] && snap_flag=()
"$py" tests/cloudsim/dosim.py --port 0 --token-file "$tmp/token" "${agent_flag[@]}" \
	"${snap_flag[@]}" --state-dir "$tmp/state" --ready-file "$tmp/ready.json" \
	--instance "$instance" --boot-delay "$boot_delay" --action-delay 2 --domain demo.test \
	> "$tmp/dosim.out" 2> "$tmp/dosim.log" &
sim_pid=$!

for _ in $(seq 1 100); do
	[ -s "$tmp/ready.json" ] && break
	kill -0 "$sim_pid" 2>/dev/null || { cat "$tmp/dosim.log" >&2; echo "demo: simulator failed" >&2; exit 1; }
	sleep 0.1
done
[ -s "$tmp/ready.json" ] || { echo "demo: simulator did not start in 10 s" >&2; exit 1; }
url=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$tmp/ready.json")
if [ "$mission" = 1 ]; then
	echo "demo: simulator at $url; the mission begins"
	mission_args=(--url "$url" --token-file "$tmp/token" --key "$tmp/cluster.key" --agent "$agent")
	[ "$seconds" = 0 ] || mission_args+=(--seconds "$seconds")
	rc=0
	"$py" tests/cloudsim/demo_view.py mission "${mission_args[@]}" || rc=$?
	[ "$rc" -ne 141 ] || exit 141
	exit "$rc"
fi
image=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["images"][0])' "$tmp/ready.json")
echo "demo: simulator at $url, snapshot image $image"

started=$(date +%s.%N)
"$py" tests/cloudsim/demo_view.py create --url "$url" --token-file "$tmp/token" --image "$image" --count "$count"

view_args=(--url "$url" --since "$started" --count "$count")
[ "$fake" = 1 ] || view_args+=(--agent "$agent")
if [ "$seconds" != 0 ]; then
	view_args+=(--seconds "$seconds")
fi
rc=0
"$py" tests/cloudsim/demo_view.py view "${view_args[@]}" || rc=$?
# The view stops with 141 when its output closed: so do we, cleaning up.
[ "$rc" -ne 141 ] || exit 141
