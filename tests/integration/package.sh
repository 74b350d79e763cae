#!/usr/bin/env bash
# timeout: 900 (the first run debootstraps the cached chroot from the Debian mirror)
#
# The Debian package, as a user meets it: `make deb`, lintian, then in a clean
# Debian 12 chroot (never the host's system paths):
#
#   build/chroot/bookworm (debootstrap --variant=minbase, cached; read-only)
#        | overlay, upper layer in $T, in a private mount namespace
#   $T/root: apt-get install ./mitosis_*.deb; mitosis version; dpkg -L;
#            the user and the state directory; a configuration checked as the
#            agent's user; an upgrade that keeps the edited conffile; purge
#
# After the purge the chroot must be as before the install but for what
# Debian policy keeps: the system user (passwd, group, shadow), the files the
# administrator made in /etc/mitosis, and dpkg's and apt's logs.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || { echo "SKIP: a chroot and a private mount namespace need root"; exit 77; }
for tool in dpkg-buildpackage dh lintian debootstrap unshare; do
	command -v "$tool" >/dev/null || fail "$tool missing (scripts/deps.sh installs it)"
done

make -s -C "$ROOT" deb >"$LOG/deb.log" 2>&1 || fail "make deb: $(tail -n 20 "$LOG/deb.log")"
DEB=$(ls "$ROOT"/build/deb/mitosis_*_amd64.deb)
VERSION=$(dpkg-deb -f "$DEB" Version)
[ "$VERSION" = "$(cat "$ROOT/VERSION")" ] || fail "the package is $VERSION, VERSION says $(cat "$ROOT/VERSION") (debian/changelog)"
[ "$(dpkg-deb -f "$DEB" Depends | grep -o 'lib[a-z0-9]*' | sort | tr '\n' ' ')" = "libc6 libcjson1 libcurl4 libsodium23 libuv1 " ] ||
	fail "Depends is not what \${shlibs:Depends} makes: $(dpkg-deb -f "$DEB" Depends)"
lintian --pedantic --fail-on error,warning "$DEB" >"$LOG/lintian.txt" 2>&1 || fail "lintian: $(grep -v 'root privileges' "$LOG/lintian.txt")"
say "make deb: $(basename "$DEB"), Depends: $(dpkg-deb -f "$DEB" Depends); lintian --pedantic: clean"

# The upgrade: the same package as version VERSION+up1, whose conffile also changed.
dpkg-deb -R "$DEB" "$T/up1"
sed -i "s/^Version: .*/Version: $VERSION+up1/" "$T/up1/DEBIAN/control"
echo "# a line the next version added" >>"$T/up1/etc/mitosis/mitosis.conf"
(cd "$T/up1" && md5sum etc/mitosis/mitosis.conf) >"$T/md5" &&
	grep -v ' etc/mitosis/mitosis.conf$' "$T/up1/DEBIAN/md5sums" >>"$T/md5" 2>/dev/null || true
mv "$T/md5" "$T/up1/DEBIAN/md5sums"
dpkg-deb --root-owner-group -b "$T/up1" "$T/mitosis_up1.deb" >/dev/null

# The cached chroot: Debian 12 minbase plus the package's dependencies, so the
# install needs no network; made once (about a minute) under build/chroot/.
CACHE=$ROOT/build/chroot/bookworm
MIRROR=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
if [ ! -e "$CACHE/.complete" ]; then
	rm -rf "$CACHE.tmp" && mkdir -p "$(dirname "$CACHE")"
	say "debootstrap bookworm into $CACHE (once; later runs reuse it)"
	debootstrap --variant=minbase --include=libuv1,libsodium23,libcjson1,libcurl4,systemd-standalone-sysusers,init-system-helpers \
		bookworm "$CACHE.tmp" "${MIRROR:-http://deb.debian.org/debian}" >"$LOG/debootstrap.log" 2>&1 ||
		fail "debootstrap: $(tail -n 5 "$LOG/debootstrap.log")"
	rm -rf "$CACHE" && mv "$CACHE.tmp" "$CACHE" && touch "$CACHE/.complete"
fi
cp "$DEB" "$T/mitosis.deb"

cat >"$T/inside.sh" <<'EOF'
set -eu
T=$1
mkdir -p "$T/up" "$T/work" "$T/root"
mount -t overlay overlay -o "lowerdir=$CACHE,upperdir=$T/up,workdir=$T/work" "$T/root"
mount -t proc proc "$T/root/proc"
mount --rbind /dev "$T/root/dev"
mkdir -p "$T/root/tmp/pkg"
cp "$T/mitosis.deb" "$T/mitosis_up1.deb" "$T/root/tmp/pkg/"
inroot() { chroot "$T/root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive HOME=/root "$@"; }
# Every path with its type, mode and owner, but for what changes by itself.
tree() { inroot find / -xdev \( -path /proc -o -path /dev -o -path /tmp -o -path /var/log -o -path /var/cache -o -path /var/lib/apt -o -path /var/lib/dpkg \) -prune -o -printf '%p %y %m %u:%g\n' | sort; }
tree >"$T/before.txt"
echo "== install"
inroot apt-get install -y -q /tmp/pkg/mitosis.deb
echo "== version"
inroot mitosis version
echo "== dpkg -L"
inroot dpkg -L mitosis
echo "== user"
inroot getent passwd mitosis
inroot stat -c 'statedir %U:%G %a' /var/lib/mitosis
[ -L "$T/root/etc/systemd/system/multi-user.target.wants/mitosis.service" ] && echo "unit enabled"
echo "== configure"
printf 'cluster = web\nkey_file = /etc/mitosis/cluster.key\n' >>"$T/root/etc/mitosis/mitosis.conf"
inroot mitosis keygen -o /etc/mitosis/cluster.key
inroot chown mitosis:mitosis /etc/mitosis/cluster.key
inroot runuser -u mitosis -- mitosis agent -n --show-origin -c /etc/mitosis/mitosis.conf
echo "== upgrade"
inroot apt-get install -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold /tmp/pkg/mitosis_up1.deb
inroot dpkg-query -W -f 'installed ${Version}\n' mitosis
grep -c '^cluster = web$' "$T/root/etc/mitosis/mitosis.conf" | sed 's/^/edited lines kept: /'
[ -e "$T/root/etc/mitosis/mitosis.conf.dpkg-dist" ] && echo "new conffile beside it: mitosis.conf.dpkg-dist"
echo "== purge"
inroot apt-get purge -y -q mitosis
inroot dpkg -L mitosis >/dev/null 2>&1 || echo "dpkg -L: not installed"
tree >"$T/after.txt"
EOF
export CACHE
timeout -k 5 300 unshare -m --propagation private bash "$T/inside.sh" "$T" >"$LOG/inside.out" 2>&1 ||
	fail "the chroot session failed: $(tail -n 20 "$LOG/inside.out")"
sed 's/^/  | /' "$LOG/inside.out" | grep -v '^  | \(Selecting\|Preparing\|Unpacking\|Setting up\|Processing\|Reading\|Building\|(Reading\)' | head -80

out=$LOG/inside.out
grep -q "^mitosis $VERSION (" "$out" || fail "mitosis version did not print $VERSION"
grep -q '^mitosis-http ' "$out" || fail "mitosis version did not reach its HTTP helper"
for p in /usr/bin/mitosis /usr/bin/mitosis-http /lib/systemd/system/mitosis.service /usr/lib/sysusers.d/mitosis.conf \
	/etc/mitosis/mitosis.conf /usr/share/man/man8/mitosis.8.gz /usr/share/man/man5/mitosis.conf.5.gz; do
	grep -qx "$p" "$out" || fail "dpkg -L does not list $p"
done
grep -q '^mitosis:x:[0-9]*:[0-9]*:mitosis cluster agent:/var/lib/mitosis:' "$out" || fail "no system user mitosis"
grep -q '^statedir mitosis:mitosis 700$' "$out" || fail "/var/lib/mitosis is not the agent's, mode 0700"
grep -q '^unit enabled$' "$out" || fail "the unit was not enabled"
grep -q '^cluster = web  # /etc/mitosis/mitosis.conf:' "$out" || fail "agent -n --show-origin as the mitosis user"
grep -q '^configuration OK$' "$out" || fail "the installed configuration is not OK"
say "installed: mitosis version, dpkg -L, user mitosis, /var/lib/mitosis 0700, unit enabled, agent -n OK as mitosis"
grep -q "^installed $VERSION+up1$" "$out" || fail "the upgrade did not install"
grep -q '^edited lines kept: 1$' "$out" || fail "the upgrade lost the edited /etc/mitosis/mitosis.conf"
grep -q '^new conffile beside it' "$out" || fail "the upgrade's conffile was not set beside the edited one"
say "upgrade to $VERSION+up1 kept the edited conffile (the new one as mitosis.conf.dpkg-dist)"
grep -q '^dpkg -L: not installed$' "$out" || fail "purge left the package installed"
diff "$T/before.txt" "$T/after.txt" >"$LOG/purge.diff" || true
# What policy keeps: the user and its group (and the files that hold them), and the
# administrator's keyring with the directory it is in.
# (the user databases and the backups systemd-sysusers keeps of them).
unexpected=$(grep '^[<>]' "$LOG/purge.diff" | grep -v -E '^[<>] /etc/(passwd|group|shadow|gshadow)-? f ' |
	grep -v -E '^> /etc/mitosis (d 755 root:root)$|^> /etc/mitosis/cluster.key f 600 mitosis:mitosis$' || true)
[ -z "$unexpected" ] || fail "purge left or changed: $unexpected"
grep -q '^> /etc/mitosis/cluster.key' "$LOG/purge.diff" || fail "the purge check saw no admin file at all (is the diff empty by mistake?)"
say "purge: nothing left but the system user and the administrator's /etc/mitosis/cluster.key"
