#!/usr/bin/env bash
# `make install` honours PREFIX and DESTDIR (and the directory variables):
# everything lands under $DESTDIR$PREFIX, the configuration under
# $DESTDIR/etc, nothing anywhere else; the unit's ExecStart names the binary
# where it was installed; the installed pair runs; a second install keeps an
# edited /etc/mitosis/mitosis.conf. Built in a copy of the tree, so the
# suite's own build directories are not touched.
. "$(dirname "$0")/lib.sh"

# A copy of the sources with the plain build's objects, so that this does not compile again.
mkdir -p "$T/src"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp -p -P --parents -t "$T/src" 2>/dev/null) || true
[ -d "$ROOT/build" ] && cp -a "$ROOT/build/." "$T/src/build/" 2>/dev/null || true
STAGE=$T/stage
make -s -C "$T/src" install PREFIX=/opt/mitosis DESTDIR="$STAGE" >"$LOG/install.log" 2>&1 ||
	fail "make install: $(tail -n 10 "$LOG/install.log")"
(cd "$STAGE" && find . -type f -o -type l | sort) >"$LOG/files.txt"
want="./etc/mitosis/mitosis.conf
./opt/mitosis/bin/mitosis
./opt/mitosis/bin/mitosis-http
./opt/mitosis/lib/systemd/system/mitosis.service
./opt/mitosis/lib/sysusers.d/mitosis.conf
./opt/mitosis/share/man/man5/mitosis.conf.5
./opt/mitosis/share/man/man8/mitosis-http.8
./opt/mitosis/share/man/man8/mitosis.8"
[ "$(cat "$LOG/files.txt")" = "$want" ] || fail "installed files: $(diff <(echo "$want") "$LOG/files.txt")"
grep -qx 'ExecStart=/opt/mitosis/bin/mitosis agent -c /etc/mitosis/mitosis.conf' "$STAGE/opt/mitosis/lib/systemd/system/mitosis.service" ||
	fail "the unit's ExecStart does not name \$PREFIX/bin: $(grep ^Exec "$STAGE/opt/mitosis/lib/systemd/system/mitosis.service")"
grep -q '/usr/bin/mitosis' "$STAGE/opt/mitosis/lib/systemd/system/mitosis.service" && fail "the unit still names /usr/bin/mitosis"
[ "$(stat -c %a "$STAGE/opt/mitosis/bin/mitosis")" = 755 ] || fail "mode of the installed binary"
"$STAGE/opt/mitosis/bin/mitosis" version >"$LOG/version.txt" 2>&1 || fail "the installed mitosis does not run"
grep -q '^mitosis-http ' "$LOG/version.txt" || fail "the installed mitosis does not find its helper beside it: $(cat "$LOG/version.txt")"
say "PREFIX=/opt/mitosis DESTDIR=stage: $(wc -l <"$LOG/files.txt") files where they belong, ExecStart rewritten, the pair runs"

echo "cluster = edited" >>"$STAGE/etc/mitosis/mitosis.conf"
make -s -C "$T/src" install PREFIX=/opt/mitosis DESTDIR="$STAGE" >>"$LOG/install.log" 2>&1 || fail "second make install"
grep -qx 'cluster = edited' "$STAGE/etc/mitosis/mitosis.conf" || fail "a second make install replaced the edited configuration"
make -s -C "$T/src" install PREFIX=/usr BINDIR=/usr/sbin SYSCONFDIR=/srv/etc DESTDIR="$T/stage2" >>"$LOG/install.log" 2>&1 ||
	fail "make install BINDIR= SYSCONFDIR="
[ -x "$T/stage2/usr/sbin/mitosis" ] && [ -f "$T/stage2/srv/etc/mitosis/mitosis.conf" ] &&
	grep -q '^ExecStart=/usr/sbin/mitosis ' "$T/stage2/usr/lib/systemd/system/mitosis.service" ||
	fail "BINDIR or SYSCONFDIR not honoured"
say "a second install keeps an edited configuration; BINDIR and SYSCONFDIR are honoured"
