#!/usr/bin/env bash
# The command table, help, version, exit codes, keygen, and `agent -n`
# (configuration OK, or every error as FILE:LINE: message with exit 1).
. "$(dirname "$0")/lib.sh"

expect_exit() {
	local want=$1
	shift
	set +e
	"$@" >"$T/out" 2>"$T/err"
	local got=$?
	set -e
	[ "$got" -eq "$want" ] || fail "'$*' exited $got, expected $want; stderr: $(head -3 "$T/err")"
}

# --- help, version, usage errors ---
expect_exit 0 "$MITOSIS" version
grep -qE '^mitosis [0-9]+\.[0-9]+\.[0-9]+' "$T/out" || fail "version line: $(cat "$T/out")"
grep -qF "libsodium" "$T/out" || fail "version lacks library versions"
grep -qE '^libcurl [0-9]+\.[0-9]+' "$T/out" || fail "version lacks the helper's libcurl: $(cat "$T/out")"
expect_exit 0 "$MITOSIS" help
for c in agent keygen version help; do
	grep -qE "^  $c " "$T/out" || fail "help does not list $c"
done
expect_exit 0 "$MITOSIS" help agent
grep -qF -- "--metadata-url" "$T/out" || fail "help agent does not list the --metadata-url flag"
expect_exit 2 "$MITOSIS"
expect_exit 2 "$MITOSIS" frobnicate
grep -qF "unknown command 'frobnicate'" "$T/err" || fail "unknown command message"
expect_exit 2 "$MITOSIS" memebrs
grep -qF "unknown command 'memebrs' (did you mean 'members'?)" "$T/err" || fail "no 'did you mean' for a command: $(cat "$T/err")"
expect_exit 2 "$MITOSIS" agent -n --metdata-url http://x
grep -qF "unknown option '--metdata-url' (did you mean '--metadata-url'?)" "$T/err" ||
	fail "no 'did you mean' for a flag: $(cat "$T/err")"
expect_exit 2 "$MITOSIS" status --jsno
grep -qF "(did you mean '--json'?)" "$T/err" || fail "no 'did you mean' for status: $(cat "$T/err")"
expect_exit 2 "$MITOSIS" help frobnicate
expect_exit 2 "$MITOSIS" agent --no-such-flag
expect_exit 2 "$MITOSIS" keygen
say "help, version and usage errors"

# --- keygen ---
expect_exit 0 "$MITOSIS" keygen -o "$T/k1"
awk '$1 == "primary" { print $3 }' "$T/k1" >>"$MITOSIS_SECRETS"
[ "$(stat -c %a "$T/k1")" = 600 ] || fail "keygen mode $(stat -c %a "$T/k1")"
grep -qE '^wrote cluster key [0-9a-f]{8} to ' "$T/out" || fail "keygen output: $(cat "$T/out")"
if grep -qF "$(awk '$1 == "primary" { print $3 }' "$T/k1")" "$T/out"; then fail "keygen printed the secret"; fi
cp "$T/k1" "$T/k1.before"
expect_exit 1 "$MITOSIS" keygen -o "$T/k1"
grep -qF "exists; use -f to replace it" "$T/err" || fail "keygen overwrite message: $(cat "$T/err")"
cmp -s "$T/k1" "$T/k1.before" || fail "keygen changed the file without -f"
chmod 644 "$T/k1"
expect_exit 0 "$MITOSIS" keygen -f -o "$T/k1"
awk '$1 == "primary" { print $3 }' "$T/k1" >>"$MITOSIS_SECRETS"
[ "$(stat -c %a "$T/k1")" = 600 ] || fail "keygen -f left mode $(stat -c %a "$T/k1")"
if cmp -s "$T/k1" "$T/k1.before"; then fail "keygen -f did not write a new key"; fi
say "keygen: 0600, no overwrite without -f, atomic replace with -f"

# --- agent -n ---
printf 'node_id = 7\nhostname = n7\nprivate_ipv4 = 127.0.0.1\n' | make_config "$T/good.conf" "$T/k1"
expect_exit 0 "$MITOSIS" agent -n -c "$T/good.conf"
[ "$(cat "$T/out")" = "configuration OK" ] || fail "agent -n said: $(cat "$T/out")"

# The broken example: every bad line must be named, and nothing else.
cp "$ROOT/tests/data/broken.conf" "$T/broken.conf"
expect_exit 1 "$MITOSIS" agent -n -c "$T/broken.conf"
expected=$(grep -oE '^#[[:space:]]+line [0-9]+:' "$T/broken.conf" | grep -oE '[0-9]+' | sort -n | tr '\n' ' ')
got=$(grep -oE "^$T/broken.conf:[0-9]+:" "$T/err" | sed "s|^$T/broken.conf:||; s|:$||" | sort -n | tr '\n' ' ')
[ -n "$expected" ] || fail "tests/data/broken.conf lists no expected lines"
[ "$expected" = "$got" ] || fail "broken.conf: expected errors on lines [$expected], got [$got]: $(cat "$T/err")"
say "agent -n names every bad line of broken.conf: $got"

# A flag overrides the file, and a bad flag is named as such.
expect_exit 1 "$MITOSIS" agent -n -c "$T/good.conf" --metadata-attempts 99
grep -qF -- "--metadata-attempts" "$T/err" || fail "bad flag not named: $(cat "$T/err")"
expect_exit 0 "$MITOSIS" agent -n -c "$T/good.conf" --metadata-attempts 5

# Missing config file: one error, not one more per required key.
expect_exit 1 "$MITOSIS" agent -n -c "$T/nope.conf"
[ "$(cat "$T/err")" = "$T/nope.conf: cannot read: No such file or directory" ] ||
	fail "missing config: $(cat "$T/err")"

# Secret files: group/world-readable or foreign-owned keys are refused with the fix.
chmod 640 "$T/k1"
expect_exit 1 "$MITOSIS" agent -n -c "$T/good.conf"
grep -qF "chmod 600 $T/k1" "$T/err" || fail "no chmod advice: $(cat "$T/err")"
chmod 600 "$T/k1"
if [ "$(id -u)" -eq 0 ]; then
	chown 65534 "$T/k1"
	expect_exit 1 "$MITOSIS" agent -n -c "$T/good.conf"
	grep -qF "chown" "$T/err" || fail "no chown advice: $(cat "$T/err")"
	chown 0 "$T/k1"
fi
echo "secret-token-value-$$" >"$T/token"
echo "secret-token-value-$$" >>"$MITOSIS_SECRETS"
chmod 604 "$T/token"
printf 'token_file = %s\n' "$T/token" >>"$T/good.conf"
expect_exit 1 "$MITOSIS" agent -n -c "$T/good.conf"
grep -qF "chmod 600 $T/token" "$T/err" || fail "token mode not refused: $(cat "$T/err")"
chmod 600 "$T/token"
expect_exit 0 "$MITOSIS" agent -n -c "$T/good.conf"

# A keyring with a mangled secret is refused by line, without echoing it.
sed 's/^primary \([0-9a-f]*\) ..../primary \1AAAA/' "$T/k1" >"$T/k2"
chmod 600 "$T/k2"
printf 'node_id = 7\nhostname = n7\nprivate_ipv4 = 127.0.0.1\n' | make_config "$T/bad-key.conf" "$T/k2"
expect_exit 1 "$MITOSIS" agent -n -c "$T/bad-key.conf"
grep -qE "^$T/k2:[0-9]+: " "$T/err" || fail "bad key not named by line: $(cat "$T/err")"
say "agent -n: OK, flags, secret file checks, bad keyring"

# members and status take the control socket from -c FILE.
sed -i "s|^control_socket = .*|control_socket = $T/from-config.sock|" "$T/good.conf"
expect_exit 3 "$MITOSIS" members -c "$T/good.conf"
grep -qF "nothing listens on $T/from-config.sock" "$T/err" || fail "members -c: $(cat "$T/err")"
expect_exit 3 "$MITOSIS" status --json -c "$T/good.conf"
grep -qF "nothing listens on $T/from-config.sock" "$T/err" || fail "status -c: $(cat "$T/err")"
say "did you mean (commands, flags), one error for a missing file, members/status -c FILE"
