#!/usr/bin/env bash
# Every #cloud-config file of cloud-init/ and every user-data the agent makes
# for a clone (doapi_clone_user_data: no seeds, one, several) and for a bake
# builder (`mitosis bake --deb-url`, with and without the token) passes Debian's
# cloud-init `schema --config-file`, the check cloud-init itself runs. A file
# with a mistake must fail it, so the check is known to check.
. "$(dirname "$0")/lib.sh"

command -v cloud-init >/dev/null || fail "cloud-init missing (scripts/deps.sh installs Debian's)"
export PYTHONDONTWRITEBYTECODE=1 # cloud-init's modules are the system's: leave /usr as it is
TOOL=$BUILD_DIR/tools/userdata
[ -x "$TOOL" ] || TOOL=$ROOT/build/tools/userdata
[ -x "$TOOL" ] || fail "no tests/tools/userdata build (make tools)"

check() { # check NAME FILE
	if cloud-init schema --config-file "$2" >"$LOG/$1.txt" 2>&1; then
		say "$1: $(tail -n 1 "$LOG/$1.txt")"
	else
		fail "$1 is not valid cloud-config: $(cat "$LOG/$1.txt")"
	fi
}
n=0
for f in "$ROOT"/cloud-init/*.yaml; do
	head -n1 "$f" | grep -qx '#cloud-config' || continue
	check "$(basename "$f")" "$f"
	n=$((n + 1))
done
[ "$n" -ge 2 ] || fail "found $n #cloud-config files in cloud-init/"
"$TOOL" web >"$T/clone0.yaml"
"$TOOL" web 10.124.0.2 >"$T/clone1.yaml"
"$TOOL" web 10.124.0.2 10.124.0.3 10.124.0.4 >"$T/clone3.yaml"
for f in clone0 clone1 clone3; do check "agent user-data $f" "$T/$f.yaml"; done

# The check is a real one: a wrong type and an unknown module key are refused.
sed 's/permissions: .0644./permissions: [0644]/' "$T/clone1.yaml" >"$T/bad.yaml"
if cloud-init schema --config-file "$T/bad.yaml" >"$LOG/bad.txt" 2>&1; then
	fail "cloud-init schema accepted a broken file: $(cat "$LOG/bad.txt")"
fi
say "a broken user-data is refused: $(grep -m1 -i 'invalid\|error' "$LOG/bad.txt")"

# The user-data `mitosis bake --deb-url` makes for its builder, with and without the token.
make_keyring "$T/cluster.key"
make_config "$T/m.conf" "$T/cluster.key" </dev/null
"$MITOSIS" bake -c "$T/m.conf" --deb-url https://example.com/mitosis_0.1.0_amd64.deb --print-user-data >"$T/bake-gen.yaml" ||
	fail "bake --print-user-data failed"
"$MITOSIS" bake -c "$T/m.conf" --deb-url https://example.com/m.deb --ssh-token --print-user-data >"$T/bake-token.yaml" ||
	fail "bake --ssh-token --print-user-data failed"
grep -q '^      token_file = /etc/mitosis/token$' "$T/bake-token.yaml" || fail "the --ssh-token user-data does not set token_file"
for f in bake-gen bake-token; do check "agent user-data $f" "$T/$f.yaml"; done
