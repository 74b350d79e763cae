#!/usr/bin/env bash
# Type=notify without systemd: a fake notification socket (an AF_UNIX
# datagram socket, as systemd binds one) records every message each agent
# sends, with its time and the sender's pid (SO_PASSCRED, as systemd checks
# NotifyAccess=main):
#
#   n2 (seeds: n1, not running yet) --> $T/n2.notify   (a path)
#   n1 (no seeds: alone by design)  --> @mitosis-it-$$-n1 (abstract)
#
# n2 must not say READY=1 while its seed is silent (STATUS= says it is
# joining), must send WATCHDOG=1 every half WATCHDOG_USEC from its loop, and
# must say READY=1 with "2 alive" once n1 runs; n1 is ready at once. SIGHUP
# brings RELOADING=1 then READY=1, SIGTERM STOPPING=1. The children the agent
# starts (its custom metric command here) inherit none of the variables, and a
# WATCHDOG_PID that is not the agent's own turns the watchdog off.
. "$(dirname "$0")/lib.sh"

make_keyring "$T/cluster.key"
cat >"$T/listen.py" <<'PY'
import json, os, socket, struct, sys, time
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + path[1:] if path.startswith("@") else path)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
open(out + ".ready", "w").close()
t0 = time.time()
with open(out, "a", buffering=1) as f:
    while time.time() - t0 < 120:
        s.settimeout(1)
        try:
            msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
        except socket.timeout:
            continue
        pid = next((struct.unpack("iII", d)[0] for l, t, d in anc if t == socket.SCM_CREDENTIALS), 0)
        f.write(json.dumps({"t": time.time(), "pid": pid, "msg": msg.decode()}) + "\n")
PY
listen() { # listen NAME ADDRESS
	spawn "notify-$1" python3 "$T/listen.py" "$2" "$T/$1.msgs"
	wait_until 5 test -e "$T/$1.msgs.ready" || fail "the fake notify socket $2 did not start"
}
# msgs NAME PYEXPR: evaluates PYEXPR over m, the list of {t, pid, msg} of NAME.
msgs() {
	python3 - "$T/$1.msgs" "$2" <<'PY'
import json, sys
m = [json.loads(l) for l in open(sys.argv[1])] if __import__("os").path.exists(sys.argv[1]) else []
print(eval(sys.argv[2]))
PY
}
has() { [ "$(msgs "$1" "any('$2' in x['msg'].split('\n') for x in m)")" = True ]; }

listen n2 "$T/n2.notify"
listen n1 "@mitosis-it-$$-n1"
conf() { # conf I ADDR [SEEDS]
	{
		echo "node_id = $((1000 + $1))"
		echo "hostname = n$1"
		echo "private_ipv4 = $2"
		echo "bind = $2:7950"
		echo "probe_interval = 300ms"
		echo "probe_timeout = 100ms"
		echo "control_socket = $T/n$1.sock"
		echo "custom_metric_command = env >$T/n$1.env; echo 1"
		[ -z "${3:-}" ] || echo "seeds = $3"
	} | make_config "$T/n$1.conf" "$T/cluster.key"
}
conf 1 127.0.64.1
conf 2 127.0.64.2 127.0.64.1
# The agent's own pid in WATCHDOG_PID, as systemd sets it: exec keeps the pid.
spawn n2 env NOTIFY_SOCKET="$T/n2.notify" WATCHDOG_USEC=600000 \
	bash -c 'export WATCHDOG_PID=$$; exec "$0" agent -c "$1"' "$MITOSIS" "$T/n2.conf"
N2=$LAST_PID
wait_for "$LOG/n2.log" 10 "gossip: advertising" || fail "n2 did not start"
sleep 2.5
has n2 READY=1 && fail "n2 said READY=1 though its seed never answered"
msgs n2 "[x['msg'] for x in m if 'STATUS' in x['msg']]" | grep -q 'joining: 1 alive' ||
	fail "n2's STATUS does not say it is joining: $(msgs n2 'm')"
dogs=$(msgs n2 "sum(x['msg'] == 'WATCHDOG=1' for x in m)")
[ "$dogs" -ge 5 ] || fail "n2 sent $dogs WATCHDOG=1 in 2.5 s with WATCHDOG_USEC=600000 (every 0.3 s wanted)"
[ "$(msgs n2 "all(x['pid'] == $N2 for x in m)")" = True ] ||
	fail "a notification came from another pid than the agent's ($N2): NotifyAccess=main would drop it"
say "n2 waits for its seed: no READY, 'joining' in STATUS, $dogs watchdog pings in 2.5 s, all from pid $N2"

# n1: no seeds, no API token: alone by design, ready at once. Its WATCHDOG_PID
# is not its own (pid 1): no watchdog.
spawn n1 env NOTIFY_SOCKET="@mitosis-it-$$-n1" WATCHDOG_USEC=200000 WATCHDOG_PID=1 "$MITOSIS" agent -c "$T/n1.conf"
wait_until 5 has n1 READY=1 || fail "n1 (no seeds: alone by design) did not say READY=1: $(msgs n1 'm')"
wait_until 10 has n2 READY=1 || fail "n2 did not say READY=1 once n1 ran: $(msgs n2 'm')"
msgs n2 "[x['msg'] for x in m if 'READY=1' in x['msg']][0]" | grep -q 'STATUS=2 alive, 0 suspect, 0 dead; role: member' ||
	fail "n2's READY=1 came without a STATUS of 2 alive: $(msgs n2 "[x['msg'] for x in m if 'READY' in x['msg']]")"
[ "$(msgs n1 "sum(x['msg'] == 'WATCHDOG=1' for x in m)")" = 0 ] ||
	fail "n1 pinged a watchdog meant for another pid"
say "n1 ready at once (abstract socket), n2 ready with '2 alive' once n1 answered; n1 ignored a foreign WATCHDOG_PID"

wait_until 10 test -s "$T/n2.env" || fail "n2's custom metric command never ran"
if grep -E '^(NOTIFY_SOCKET|WATCHDOG_USEC|WATCHDOG_PID)=' "$T/n2.env"; then
	fail "the agent's children inherit its notification variables"
fi
say "the custom metric command saw no NOTIFY_SOCKET, WATCHDOG_USEC or WATCHDOG_PID"

kill -HUP "$N2"
wait_until 5 has n2 RELOADING=1 || fail "no RELOADING=1 after SIGHUP"
[ "$(msgs n2 "[x['msg'] for x in m if x['msg'] in ('RELOADING=1', 'READY=1')][-2:]")" = "['RELOADING=1', 'READY=1']" ] ||
	fail "SIGHUP did not bring RELOADING=1 then READY=1: $(msgs n2 'm[-5:]')"
kill -TERM "$N2"
wait_exit "$N2" 10 || fail "n2 did not stop"
[ "$EXIT_CODE" = 0 ] || fail "n2 exited $EXIT_CODE"
has n2 STOPPING=1 || fail "no STOPPING=1 on SIGTERM"
say "SIGHUP: RELOADING=1 then READY=1; SIGTERM: STOPPING=1, exit 0"
