#!/usr/bin/env bash
# `make` on a machine without the -dev packages names the missing Debian
# packages and says that `make deps` (or `make test` / `make demo`) installs
# them, instead of failing in the compiler or the linker. A pkg-config that
# knows neither libuv nor libcjson stands in for such a machine; nothing is
# built (BUILD is the test's own dir) and nothing is installed.
. "$(dirname "$0")/lib.sh"

cat >"$T/pkg-config" <<'SH'
#!/bin/sh
for a in "$@"; do case "$a" in libuv | libcjson) exit 1 ;; esac; done
exec pkg-config "$@"
SH
chmod +x "$T/pkg-config"

set +e
make -s -C "$ROOT" BUILD="$T/build" PKG_CONFIG="$T/pkg-config" >"$LOG/make.out" 2>&1
rc=$?
set -e
cat "$LOG/make.out"
[ "$rc" -ne 0 ] || fail "make succeeded without libuv and libcjson"
grep -q 'missing build packages: libcjson-dev libuv1-dev' "$LOG/make.out" || fail "the missing packages are not named"
grep -qF 'make deps' "$LOG/make.out" || fail "make deps is not suggested"
[ ! -e "$T/build" ] || fail "make compiled something before it gave up"
say "make without the -dev packages: one line naming them and 'make deps'"

# Goals that install the packages themselves, or need none, are not refused.
make -s -n -C "$ROOT" BUILD="$T/build" PKG_CONFIG="$T/pkg-config" clean >/dev/null ||
	fail "make clean was refused"
say "make clean still works"
