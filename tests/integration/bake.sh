#!/usr/bin/env bash
# `mitosis bake` and `mitosis cloud bootstrap` against the simulator, end to end:
#
#   1. bake: a builder from a base image (Debian as the simulator models it: its
#      command starts /usr/bin/mitosis at boot once a package put it there),
#      with user-data that "installs the package" (the binary's wrapper), writes
#      the image's drop-in and waits for the keyring; `--ssh-token` copies the
#      token and the keyring in (a stand-in ssh that writes into the droplet's
#      root, failing its first try as a booting sshd does); cloud-init's power_state powers it off; the
#      snapshot carries the package, the drop-in, the keyring and the token;
#      the builder is deleted and never carried the cluster tag.
#   2. refusals: no user-data, a cloud-config without power_state, a builder
#      that never powers off (--timeout: deleted, said), SIGINT while waiting
#      (deleted), --dry-run (nothing created).
#   3. bootstrap: three founders from the baked image with bootstrap_expect;
#      it waits until the leader has put all three into the do-dns rotation;
#      the agents agree on one leader; a second bootstrap on the same tag is
#      refused.
. "$(dirname "$0")/lib.sh"

sim_start --boot-delay 1 --action-delay 1 --kill-grace 1 --seed 21
make_keyring "$T/cluster.key"

bake_sim_setup itest # make_config names the cluster itest

make_config "$T/m.conf" "$T/cluster.key" <<CONF
token_file = $TOKEN_FILE
api_url = $SIM_URL
clone_size = s-1vcpu-1gb
clone_region = nyc3
active_timeout = 20s
registrars = do-dns
dns_domain = example.com
dns_name = www
CONF
bake() { PATH="$T/bin:$PATH" "$MITOSIS" bake -c "$T/m.conf" --base-image "$BASE" "$@"; }

# 1. The bake.
bake --user-data "$T/bake.yaml" --ssh-token --name bk-golden --timeout 60s --json >"$LOG/bake.json" 2>"$LOG/bake.err" ||
	fail "bake failed: $(cat "$LOG/bake.err" "$LOG/bake.json")"
IMAGE=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["ok"] and r["builder"]["deleted"], r; print(r["image_id"])' "$LOG/bake.json") ||
	fail "bake did not report a deleted builder and an image: $(cat "$LOG/bake.json")"
grep -q "powered itself off" "$LOG/bake.err" || fail "bake did not say the builder powered off: $(cat "$LOG/bake.err")"
[ "$(grep -c . "$T/ssh.args")" -ge 3 ] || fail "bake did not try ssh again after a refusal, token then keyring: $(cat "$T/ssh.args")"
grep -q "token copied" "$LOG/bake.err" && grep -q "keyring copied" "$LOG/bake.err" || fail "bake did not copy the token and the keyring: $(cat "$LOG/bake.err")"
grep -q "BatchMode=yes" "$T/ssh.args" && ! grep -q "$(awk '$1 == "primary" {print $3}' "$T/cluster.key")" "$T/ssh.args" ||
	fail "ssh's arguments are wrong, or carry the keyring: $(cat "$T/ssh.args")"
[ "$(sim_eval "len(s['droplets'])")" = 0 ] || fail "the builder is still there: $(sim_eval "[(d['id'], d['status']) for d in s['droplets']]")"
files=$(sim_eval "next(sorted(i['files']) for i in s['images'] if i['id'] == $IMAGE)")
for f in /usr/bin/mitosis /etc/mitosis/cluster.key /etc/mitosis/token /etc/mitosis/conf.d/10-image.conf; do
	case "$files" in *"'$f'"*) ;; *) fail "the snapshot lacks $f: $files" ;; esac
done
say "baked image $IMAGE from base $BASE: builder off after $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["builder"]["off_after_s"])' "$LOG/bake.json") s, deleted; the snapshot holds the package, drop-in, keyring and token"

# 2. What cannot bake is refused; a failing bake leaks no builder.
set +e
"$MITOSIS" bake -c "$T/m.conf" >"$LOG/usage.txt" 2>&1
rc=$?
set -e
[ "$rc" = 2 ] && grep -q -- "--user-data FILE or --deb-url URL" "$LOG/usage.txt" || fail "bake without user-data: rc $rc: $(cat "$LOG/usage.txt")"
printf 'cluster = a\ncluster = b\n' >"$T/bad.conf"
set +e
"$MITOSIS" bake -c "$T/bad.conf" --user-data "$T/bake.yaml" >"$LOG/badconf.txt" 2>&1
rc=$?
set -e
[ "$rc" = 1 ] && grep -q "bad.conf:2: key 'cluster' already set" "$LOG/badconf.txt" || fail "a bad configuration: rc $rc: $(cat "$LOG/badconf.txt")"
grep -v power_state "$T/bake.yaml" | grep -v "mode: poweroff\|condition: true" >"$T/nopower.yaml"
set +e
bake --user-data "$T/nopower.yaml" >"$LOG/nopower.txt" 2>&1
rc=$?
set -e
[ "$rc" = 1 ] && grep -q "no power_state" "$LOG/nopower.txt" || fail "a user-data without power_state was not refused: rc $rc: $(cat "$LOG/nopower.txt")"
sed 's/condition: true/condition: false/' "$T/bake.yaml" >"$T/never.yaml"
set +e
bake --user-data "$T/never.yaml" --ssh --timeout 4s >"$LOG/never.txt" 2>&1
rc=$?
set -e
[ "$rc" = 1 ] && grep -q "did not power off within 4 s" "$LOG/never.txt" || fail "a builder that never powers off: rc $rc: $(cat "$LOG/never.txt")"
[ "$(sim_eval "len(s['droplets'])")" = 0 ] || fail "the builder that never powered off was not deleted"
say "refused: no user-data (2), a bad configuration (1), no power_state (1); a builder that never powered off timed out and was deleted"

spawn bake-int env PATH="$T/bin:$PATH" "$MITOSIS" bake -c "$T/m.conf" --base-image "$BASE" --user-data "$T/never.yaml" --timeout 60s
BK=$LAST_PID
builder_active() { [ "$(sim_eval "sum(d['status'] == 'active' for d in s['droplets'])")" = 1 ]; }
wait_until 30 builder_active || fail "the interrupted bake's builder did not become active"
sleep 1
kill -INT "$BK"
wait_exit "$BK" 60 || fail "the interrupted bake did not end"
grep -q "interrupted (Interrupt); deleting the builder" "$LOG/bake-int.log" || fail "SIGINT: $(cat "$LOG/bake-int.log")"
[ "$(sim_eval "len(s['droplets'])")" = 0 ] || fail "the interrupted bake left its builder"
say "SIGINT while waiting: the builder is deleted"

before=$(sim_eval "len(s['request_log'])")
bake --user-data "$T/bake.yaml" --dry-run >"$LOG/dry.txt" 2>&1 || fail "dry run: $(cat "$LOG/dry.txt")"
grep -q '^dry-run: POST /v2/droplets .*"tags":\["mitosis-bake","mitosis-op-' "$LOG/dry.txt" || fail "the dry run did not print the create with the bake tag: $(cat "$LOG/dry.txt")"
! grep -q 'mitosis-itest' "$LOG/dry.txt" || fail "the builder would carry the cluster tag: $(cat "$LOG/dry.txt")"
[ "$(sim_eval "sum(e['method'] != 'GET' for e in s['request_log'][$before:])")" = 0 ] || fail "the dry run sent a mutating request"
say "--dry-run prints the create and sends nothing"

# 3. Bootstrap from the baked image; the leader serves the three founders. First a dry
# run: the founder's user-data, as sent, passes cloud-init's schema.
"$MITOSIS" cloud bootstrap -c "$T/m.conf" --image "$IMAGE" --count 3 --dry-run >"$LOG/boot-dry.txt" 2>&1 ||
	fail "bootstrap --dry-run: $(cat "$LOG/boot-dry.txt")"
python3 - "$LOG/boot-dry.txt" "$T/founder.yaml" <<'PY' || fail "bootstrap --dry-run printed no create: $(cat "$LOG/boot-dry.txt")"
import json, sys
line = next(l for l in open(sys.argv[1]) if l.startswith("dry-run: POST /v2/droplets "))
body = json.loads(line.split(" ", 3)[3])
assert "bootstrap_expect = 3" in body["user_data"] and "mitosis-itest" in body["tags"], body
open(sys.argv[2], "w").write(body["user_data"])
PY
if command -v cloud-init >/dev/null; then
	PYTHONDONTWRITEBYTECODE=1 cloud-init schema --config-file "$T/founder.yaml" >"$LOG/founder-schema.txt" 2>&1 ||
		fail "the founders' user-data is not valid cloud-config: $(cat "$LOG/founder-schema.txt" "$T/founder.yaml")"
fi
[ "$(sim_eval "len(s['droplets'])")" = 0 ] || fail "bootstrap --dry-run created droplets"
"$MITOSIS" cloud bootstrap -c "$T/m.conf" --image "$IMAGE" --count 3 --timeout 60s --json >"$LOG/boot.json" 2>"$LOG/boot.err" ||
	fail "cloud bootstrap failed: $(cat "$LOG/boot.err" "$LOG/boot.json")"
python3 - "$LOG/boot.json" <<'PY' || fail "bootstrap: $(cat "$LOG/boot.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["ok"] and r["leader_serves_all"] and len(r["founders"]) == 3 and r["bootstrap_expect"] == 3, r
PY
roots=$(sim_eval "' '.join(d['sim']['root'] for d in s['droplets'])")
leaders=
for r in $roots; do
	grep -q "bootstrap_expect = 3" "$r/etc/mitosis/conf.d/50-user-data.conf" || fail "$r: no bootstrap_expect in its drop-in"
	l=$("$MITOSIS" leader --json -s "$r/run/mitosis/mitosis.sock" | python3 -c 'import json,sys; print(json.load(sys.stdin)["leader"])')
	leaders="$leaders $l"
done
[ "$(echo $leaders | tr ' ' '\n' | sort -u | grep -c .)" = 1 ] && [ "$(echo $leaders | cut -d' ' -f1)" != 0 ] ||
	fail "the founders do not agree on one leader:$leaders"
[ "$(sim_state 'len(www())')" = 3 ] || fail "www holds $(sim_state 'www()')"
say "bootstrap: 3 founders from image $IMAGE, one leader ($(echo $leaders | cut -d' ' -f1)), www = $(sim_state 'www()')"

set +e
"$MITOSIS" cloud bootstrap -c "$T/m.conf" --image "$IMAGE" --count 1 >"$LOG/again.txt" 2>&1
rc=$?
set -e
[ "$rc" = 1 ] && grep -q "that cluster exists" "$LOG/again.txt" || fail "a second bootstrap on the tag: rc $rc: $(cat "$LOG/again.txt")"
[ "$(sim_eval "len(s['droplets'])")" = 3 ] || fail "the refused bootstrap created droplets"
say "a second bootstrap on the same tag is refused and creates nothing"
