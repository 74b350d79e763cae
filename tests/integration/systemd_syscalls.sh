#!/usr/bin/env bash
# The unit's SystemCallFilter= lets through every system call the agent and
# everything it starts make, so that the filter never kills a droplet's agent
# with EPERM on a path no other test walks. strace follows the plain agent
# (no sanitizer: ASan's own calls are not the agent's) and its children
# through a life that touches every subsystem:
#
#   identity from a fake metadata service at http://localhost:PORT (mitosis-http,
#   libcurl, the resolver), gossip with a second node, the control socket
#   (status), /metrics, the custom metric command (/bin/sh, cat), an exec
#   registrar hook (register at start, deregister at stop), SIGHUP, SIGTERM.
#
# Every system call seen must be in the unit's allow-list as systemd expands
# it (systemd-analyze syscall-filter: @system-service less @privileged and
# @resources, plus the calls systemd always permits), and every socket()
# family in its RestrictAddressFamilies=.
. "$(dirname "$0")/lib.sh"

UNIT=${UNIT:-$ROOT/cloud-init/mitosis.service}
PLAIN=$ROOT/build/mitosis
command -v strace >/dev/null || fail "strace missing (scripts/deps.sh installs it)"
[ -x "$PLAIN" ] && [ -x "$ROOT/build/mitosis-http" ] || fail "no plain build at $PLAIN (make)"

make_keyring "$T/cluster.key"
cat >"$T/v1.json" <<'JSON'
{"droplet_id": 4301, "hostname": "s1", "region": "ams3", "tags": ["web"],
 "interfaces": {"private": [{"type": "private", "ipv4": {"ip_address": "127.0.67.1", "netmask": "255.0.0.0", "gateway": "0.0.0.0"}}]}}
JSON
start_metadata --body "$T/v1.json"
PORT=${META_URL##*:}
cat >"$T/hook" <<EOF
#!/bin/sh
echo "\$1 \$MITOSIS_NODE_ID" >>"$T/hook.log"
EOF
chmod 0755 "$T/hook"
make_config "$T/s1.conf" "$T/cluster.key" <<EOF
metadata_url = http://localhost:$PORT
bind = 127.0.67.1:7950
seeds = 127.0.67.2
state_dir = $T/state1
metrics_listen = 127.0.67.1:9951
custom_metric_command = cat /proc/loadavg | cut -d' ' -f1
load_interval = 200ms
registrars = exec
exec_command = $T/hook
EOF
SEEDS=127.0.67.1 start_node 2 127.0.67.2 "state_dir = $T/state2"
spawn strace strace -f -qq -o "$T/trace" "$PLAIN" agent -c "$T/s1.conf"
S1=$LAST_PID
two_alive() { [ "$("$PLAIN" members --json -s "$T/s1.sock" 2>/dev/null | grep -o '"alive"' | wc -l)" = 2 ]; }
wait_until 20 two_alive || fail "the traced agent did not join: $(tail -n 5 "$LOG/strace.log")"
"$PLAIN" status -s "$T/s1.sock" >/dev/null || fail "no status from the traced agent"
curl -sf -m 2 http://127.0.67.1:9951/metrics >/dev/null || fail "no /metrics from the traced agent"
wait_until 10 grep -q '^register 4301' "$T/hook.log" || fail "the exec registrar hook did not run"
sleep 1 # a few custom metric runs
pid=$(pgrep -f "^$PLAIN agent -c $T/s1.conf" | head -n1)
kill -HUP "$pid"
sleep 0.5
kill -TERM "$pid"
wait_exit "$S1" 15 || fail "the traced agent did not stop"
grep -q '^deregister 4301' "$T/hook.log" || fail "the exec hook did not deregister at stop"

python3 - "$UNIT" "$T/trace" >"$LOG/syscalls.txt" <<'PY' || fail "system calls outside the unit's filter: $(cat "$LOG/syscalls.txt")"
import re, subprocess, sys
unit, trace = sys.argv[1:]
def expand(name, seen=None):
    seen = set() if seen is None else seen
    if not name.startswith("@"):
        return {name}
    out = set()
    for line in subprocess.run(["systemd-analyze", "syscall-filter", "--no-pager", name],
                               capture_output=True, text=True, check=True).stdout.splitlines()[1:]:
        w = line.strip()
        if w and not w.startswith("#") and w not in seen:
            seen.add(w)
            out |= expand(w, seen)
    return out
allow, deny = set(), set()
for line in open(unit):
    if line.startswith("SystemCallFilter="):
        v = line.split("=", 1)[1].strip()
        target = deny if v.startswith("~") else allow
        for g in v.lstrip("~").split():
            target |= expand(g)
# systemd permits these whatever the filter says (seccomp-util.c, seccomp_add_default_syscall_filter).
always = {"execve", "exit", "exit_group", "getrlimit", "rt_sigreturn", "sigreturn", "arch_prctl",
          "brk", "mmap", "munmap", "mprotect"}
permitted = (allow - deny) | always
seen = set()
for line in open(trace):
    m = re.match(r"\d+\s+(?:<\.\.\. )?([a-z0-9_]+)(?:\(| resumed>)", line)
    if m:
        seen.add(m.group(1))
bad = sorted(seen - permitted)
print("%d distinct system calls made; %d permitted by the unit" % (len(seen), len(permitted)))
print("made: " + " ".join(sorted(seen)))
if bad:
    print("NOT PERMITTED: " + " ".join(bad))
    sys.exit(1)
PY
say "$(head -n1 "$LOG/syscalls.txt"): all within SystemCallFilter="
# And every socket it opened is of a family RestrictAddressFamilies= allows.
families=$(grep -o 'socket(AF_[A-Z0-9]*' "$T/trace" | sed 's/socket(//' | sort -u | tr '\n' ' ')
allowed=" $(sed -n 's/^RestrictAddressFamilies=//p' "$UNIT" | tr '\n' ' ') "
for f in $families; do
	[[ "$allowed" == *" $f "* ]] || fail "a socket of family $f, which RestrictAddressFamilies= refuses"
done
say "socket families used: ${families:-none}; all in RestrictAddressFamilies="
