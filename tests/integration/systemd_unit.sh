#!/usr/bin/env bash
# The agent runs under cloud-init/mitosis.service's view of the system,
# without systemd: the unit's sandboxing keys are read from the file and
# rebuilt in a private mount namespace (unshare -m), its user is made from the
# package's sysusers.d entry, then its ExecStartPre and ExecStart command lines
# run there unchanged, as that user, with no capability (CapabilityBoundingSet=
# empty, NoNewPrivileges=, UMask=), and `mitosis status` must answer on the
# default socket /run/mitosis/mitosis.sock. ExecReload must reload the keyring,
# and a SIGTERM must stop it with exit 0. A unit that leaves /run read-only
# (ProtectSystem=strict without RuntimeDirectory=) fails here as it would on a
# droplet: in a restart loop. In the same view, with the binaries and man pages
# where the package puts them, `systemd-analyze verify` must pass on the unit
# (ExecStart binaries and Documentation= pages exist) and `systemd-analyze
# security --offline=true` must score it at most MAX_EXPOSURE. The syscall
# filter is checked apart (systemd_syscalls.sh).
#
# Nothing of the host changes: /etc, /run, /var/lib and /usr are overlays in
# the namespace whose upper layers live in $T, so /etc/mitosis, the user,
# /run/mitosis, /var/lib/mitosis and /usr/bin/mitosis exist only there.
#
#   host                         private mount namespace
#   $T/ov/etc/up      --overlay-->  /etc        (+ mitosis/, the mitosis user)
#   $T/ov/run/up      --overlay-->  /run        (+ mitosis/ as RuntimeDirectory= makes it)
#   $T/ov/var/lib/up  --overlay-->  /var/lib    (+ mitosis/ as StateDirectory= makes it)
#   $T/ov/usr/up      --overlay-->  /usr        (+ bin/mitosis{,-http}, the unit, man pages)
#   then: every mount read-only (ProtectSystem=strict), tmpfs /tmp and /var/tmp
#   (PrivateTmp=), empty /home, /root (ProtectHome=), writable ReadWritePaths=
#   and the runtime and state directories.
. "$(dirname "$0")/lib.sh"

UNIT=${UNIT:-$ROOT/cloud-init/mitosis.service}
MAX_EXPOSURE=${MAX_EXPOSURE:-1.1}
[ "$(id -u)" -eq 0 ] || { echo "SKIP: a private mount namespace needs root"; exit 77; }
command -v unshare >/dev/null || fail "unshare missing (util-linux)"

# The unit's keys as shell variables (U_ProtectSystem=strict, ...); a key given
# twice (ReadWritePaths=) is joined with spaces, as systemd does.
eval "$(python3 - "$UNIT" <<'PY'
import shlex, sys
keys = {}
for line in open(sys.argv[1]):
    line = line.strip()
    if not line or line[0] in "#;[" or "=" not in line:
        continue
    k, v = line.split("=", 1)
    keys[k.strip()] = (keys.get(k.strip(), "") + " " + v.strip()).strip()
for k in ("ProtectSystem", "ProtectHome", "PrivateTmp", "ReadWritePaths", "ReadOnlyPaths",
          "RuntimeDirectory", "RuntimeDirectoryMode", "StateDirectory", "StateDirectoryMode",
          "ExecStartPre", "ExecStart", "ExecReload", "Documentation", "User", "Group", "UMask",
          "CapabilityBoundingSet", "NoNewPrivileges"):
    # An empty CapabilityBoundingSet= (no capability) is not an absent one (all of them).
    default = "<unset>" if k == "CapabilityBoundingSet" else ""
    print("U_%s=%s" % (k, shlex.quote(keys.get(k, default))))
PY
)"
say "unit: ProtectSystem=$U_ProtectSystem RuntimeDirectory=${U_RuntimeDirectory:-(none)} StateDirectory=${U_StateDirectory:-(none)} ReadWritePaths=${U_ReadWritePaths:-(none)}"

make_keyring "$T/cluster.key"
cat >"$T/mitosis.conf" <<EOF
cluster = unit
key_file = /etc/mitosis/cluster.key
node_id = 1
hostname = unit-test
private_ipv4 = 127.0.62.1
EOF
for d in etc run var/lib usr; do
	mkdir -p "$T/ov/$d/up" "$T/ov/$d/work"
done
cp "$MITOSIS" "$T/mitosis"
cp "$BUILD_DIR/mitosis-http" "$T/mitosis-http"
cp "$UNIT" "$T/mitosis.service"
cp "$ROOT/packaging/mitosis.sysusers" "$T/mitosis.sysusers"
"$MITOSIS" _man 8 >"$T/mitosis.8"
"$MITOSIS" _man 5 >"$T/mitosis.conf.5"

# Runs inside the namespace: builds the view, then plays systemd.
cat >"$T/inside.sh" <<'EOF'
set -eu
T=$1
for d in /etc /run /var/lib /usr; do
	mount -t overlay overlay -o "lowerdir=$d,upperdir=$T/ov$d/up,workdir=$T/ov$d/work" "$d"
done
# Where the package puts them.
install -D -m 0755 "$T/mitosis" /usr/bin/mitosis
install -D -m 0755 "$T/mitosis-http" /usr/bin/mitosis-http
install -D -m 0644 "$T/mitosis.service" /usr/lib/systemd/system/mitosis.service
install -D -m 0644 "$T/mitosis.sysusers" /usr/lib/sysusers.d/mitosis.conf
install -D -m 0644 "$T/mitosis.8" /usr/share/man/man8/mitosis.8
install -D -m 0644 "$T/mitosis.conf.5" /usr/share/man/man5/mitosis.conf.5
systemd-sysusers mitosis.conf
user=${U_User:-root}
group=${U_Group:-$user}
install -D -m 0644 "$T/mitosis.conf" /etc/mitosis/mitosis.conf
install -D -m 0600 -o "$user" -g "$group" "$T/cluster.key" /etc/mitosis/cluster.key
echo "user: $(getent passwd "$user")"
echo "== verify"
systemd-analyze verify /usr/lib/systemd/system/mitosis.service && echo "verify: OK"
echo "== security"
# --threshold counts in tenths of the score it prints (0..100).
systemd-analyze security --offline=true --threshold="$(awk -v x="$MAX_EXPOSURE" 'BEGIN { printf "%d", x * 10 + 0.5 }')" \
	/usr/lib/systemd/system/mitosis.service >"$T/security.txt" 2>&1 &&
	echo "security: within $MAX_EXPOSURE"
tail -n 1 "$T/security.txt"
# What systemd makes before ExecStartPre: the runtime and state directories, the user's.
[ -z "$U_RuntimeDirectory" ] || install -d -o "$user" -g "$group" -m "${U_RuntimeDirectoryMode:-0755}" "/run/$U_RuntimeDirectory"
[ -z "$U_StateDirectory" ] || install -d -o "$user" -g "$group" -m "${U_StateDirectoryMode:-0755}" "/var/lib/$U_StateDirectory"
# ProtectSystem=strict: every mount read-only but the API file systems (and
# /mnt, where this test has nothing to do).
if [ "$U_ProtectSystem" = strict ]; then
	awk '{ print $5 }' /proc/self/mountinfo | sort -u | while read -r mp; do
		case "$mp" in /proc* | /sys* | /dev* | /mnt*) continue ;; esac
		# A mount hidden under an overlay above cannot be reached: let it be.
		mount -o remount,bind,ro "$mp" 2>/dev/null || true
	done
fi
if [ "$U_PrivateTmp" = yes ]; then
	mount -t tmpfs -o mode=1777 tmpfs /tmp
	mount -t tmpfs -o mode=1777 tmpfs /var/tmp
fi
if [ "$U_ProtectHome" = yes ]; then
	for d in /home /root /run/user; do
		[ -d "$d" ] && mount -t tmpfs -o ro,mode=0755 tmpfs "$d"
	done
fi
writable() { mount --bind "$1" "$1" && mount -o remount,bind,rw "$1"; }
for p in $U_ReadWritePaths; do writable "$p"; done
[ -z "$U_RuntimeDirectory" ] || writable "/run/$U_RuntimeDirectory"
[ -z "$U_StateDirectory" ] || writable "/var/lib/$U_StateDirectory"
for p in $U_ReadOnlyPaths; do mount --bind "$p" "$p" && mount -o remount,bind,ro "$p"; done

# User=, Group=, UMask=, NoNewPrivileges= and an empty CapabilityBoundingSet=, as systemd applies them.
# exec_as_unit replaces the shell it runs in, so `(exec_as_unit CMD) &` leaves $! the agent's pid.
exec_as_unit() {
	local caps=()
	[ -z "$U_CapabilityBoundingSet" ] && caps=(--bounding-set=-all --inh-caps=-all)
	[ "$U_NoNewPrivileges" = yes ] && caps+=(--no-new-privs)
	umask "${U_UMask:-0022}"
	exec setpriv --reuid="$user" --regid="$group" --init-groups "${caps[@]}" "$@"
}
as_unit() { (exec_as_unit "$@"); }
# The view as the agent gets it: which system paths it could write.
for d in / /etc /run /var/lib /usr /run/mitosis /var/lib/mitosis; do
	[ -d "$d" ] || continue
	if as_unit touch "$d/.probe" 2>/dev/null; then
		rm -f "$d/.probe"
		echo "view: $d writable"
	else
		echo "view: $d read-only"
	fi
done
as_unit grep -E '^Cap(Eff|Bnd|Amb)|^NoNewPrivs|^Uid' /proc/self/status
# shellcheck disable=SC2086 # the unit's command lines, split as systemd does
as_unit $U_ExecStartPre || { echo "ExecStartPre failed: exit $?"; exit 1; }
(exec_as_unit $U_ExecStart) &
agent=$!
for i in $(seq 1 100); do
	/usr/bin/mitosis status >/dev/null 2>&1 && break
	kill -0 "$agent" 2>/dev/null || break
	sleep 0.1
done
if /usr/bin/mitosis status; then
	echo "status answered"
fi
ls -ld /run/mitosis /run/mitosis/mitosis.sock /var/lib/mitosis
if [ -n "$U_ExecReload" ]; then
	as_unit ${U_ExecReload//\$MAINPID/$agent}
	sleep 0.5
fi
kill -TERM "$agent" 2>/dev/null || true
set +e
wait "$agent"
echo "agent exit $?"
EOF

export U_ProtectSystem U_ProtectHome U_PrivateTmp U_ReadWritePaths U_ReadOnlyPaths \
	U_RuntimeDirectory U_RuntimeDirectoryMode U_StateDirectory U_StateDirectoryMode \
	U_ExecStartPre U_ExecStart U_ExecReload U_User U_Group U_UMask U_CapabilityBoundingSet \
	U_NoNewPrivileges MAX_EXPOSURE
timeout -k 5 60 unshare -m --propagation private bash "$T/inside.sh" "$T" >"$LOG/inside.out" 2>&1 || true
cat "$LOG/inside.out" | sed 's/^/  | /'
for d in / /etc /run /var/lib /usr; do
	grep -qx "view: $d read-only" "$LOG/inside.out" || fail "$d is not read-only, as ProtectSystem=strict makes it"
done
grep -q '^verify: OK$' "$LOG/inside.out" || fail "systemd-analyze verify refused the unit"
grep -q "^security: within $MAX_EXPOSURE$" "$LOG/inside.out" ||
	fail "systemd-analyze security scores the unit over $MAX_EXPOSURE: $(grep 'Overall exposure' "$LOG/inside.out")"
say "systemd-analyze verify: OK; security: $(grep -o 'Overall exposure level.*' "$LOG/inside.out")"
if [ -n "$U_User" ]; then
	grep -q "^user: $U_User:x:" "$LOG/inside.out" || fail "no user $U_User from the sysusers.d entry"
	grep -qE '^CapEff:\s+0+$' "$LOG/inside.out" || fail "the agent kept capabilities"
	grep -qE '^NoNewPrivs:\s+1$' "$LOG/inside.out" || fail "NoNewPrivileges= not applied"
	grep -qE "^srw------- 1 $U_User $U_Group .* /run/mitosis/mitosis.sock$" "$LOG/inside.out" ||
		fail "the control socket is not the $U_User user's, mode 0600"
fi
grep -q '^status answered' "$LOG/inside.out" || fail "the agent did not answer on /run/mitosis/mitosis.sock under the unit's view"
grep -q '^agent exit 0$' "$LOG/inside.out" || fail "the agent did not stop cleanly on SIGTERM"
grep -q 'stopped (exit 0)' "$LOG/inside.out" || fail "no 'stopped (exit 0)' line"
grep -q 'reload: keyring /etc/mitosis/cluster.key' "$LOG/inside.out" || fail "ExecReload did not reload the keyring"
say "agent ran, answered and stopped under the unit's sandbox (host /run and /etc untouched)"

# Documentation= must name only pages the binary writes (systemd-analyze verify ran man on them).
for doc in $U_Documentation; do
	case "$doc" in
	man:*) page=${doc#man:} && page=${page%)} && [ -s "$T/${page%(*}.${page#*(}" ] ||
		fail "Documentation=$doc: no such page from mitosis _man" ;;
	esac
done
say "Documentation= names only pages that exist"
