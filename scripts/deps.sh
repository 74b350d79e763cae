#!/usr/bin/env bash
# Installs the build and test dependencies that are missing, and nothing else.
# Build: pkg-config modules libuv libsodium libcurl libcjson, a C compiler, make.
# Tests: clang + libFuzzer runtime, python3, iproute2, nftables, procps, and
# nodejs + npm for the API contract test (it installs Prism from npm into
# build/prism on first use); for the package, unit and metrics tests:
# dpkg-dev, debhelper, lintian, debootstrap (make deb, its chroot test),
# systemd (systemd-analyze, systemd-sysusers), util-linux (setpriv), strace,
# man-db, cloud-init (its schema check), prometheus (promtool and a real
# server) and stress-ng (real CPU load for the policy's cpu metric); so that
# a fresh machine skips nothing it can run.
# apt-get runs only when something is missing, so a ready machine pays nothing.
set -euo pipefail

need_pkgs=()
want() { need_pkgs+=("$1"); }

have_pc() { command -v pkg-config >/dev/null 2>&1 && pkg-config --exists "$1"; }

command -v pkg-config >/dev/null 2>&1 || want pkg-config
command -v cc >/dev/null 2>&1 || want gcc
command -v make >/dev/null 2>&1 || want make
have_pc libuv || want libuv1-dev
have_pc libsodium || want libsodium-dev
have_pc libcurl || want libcurl4-openssl-dev
have_pc libcjson || want libcjson-dev
if [ "${MITOSIS_DEPS:-all}" = all ]; then
	command -v clang >/dev/null 2>&1 || want clang
	command -v clang-format >/dev/null 2>&1 || want clang-format
	# libFuzzer's runtime ships in libclang-rt-*-dev; look for the archive itself.
	if ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
		want libclang-rt-dev
	fi
	command -v python3 >/dev/null 2>&1 || want python3
	command -v ip >/dev/null 2>&1 || want iproute2
	command -v nft >/dev/null 2>&1 || want nftables
	command -v pkill >/dev/null 2>&1 || want procps
	command -v curl >/dev/null 2>&1 || want curl
	command -v haproxy >/dev/null 2>&1 || want haproxy
	command -v node >/dev/null 2>&1 || want nodejs
	command -v npm >/dev/null 2>&1 || want npm
	command -v dpkg-buildpackage >/dev/null 2>&1 || want dpkg-dev
	command -v dh >/dev/null 2>&1 || want debhelper
	command -v lintian >/dev/null 2>&1 || want lintian
	command -v debootstrap >/dev/null 2>&1 || want debootstrap
	command -v systemd-analyze >/dev/null 2>&1 || want systemd
	command -v setpriv >/dev/null 2>&1 || want util-linux
	command -v strace >/dev/null 2>&1 || want strace
	command -v man >/dev/null 2>&1 || want man-db
	command -v cloud-init >/dev/null 2>&1 || want cloud-init
	command -v promtool >/dev/null 2>&1 || want prometheus
	command -v stress-ng >/dev/null 2>&1 || want stress-ng
fi

if [ ${#need_pkgs[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing ${need_pkgs[*]}; run as root or install them: apt-get install ${need_pkgs[*]}" >&2
	exit 1
fi
echo "deps: installing ${need_pkgs[*]}"
export DEBIAN_FRONTEND=noninteractive
# Packages with a service (prometheus, cloud-init) must not start it here: the
# tests run their own, on their own addresses. policy-rc.d says so to
# invoke-rc.d for the length of the install, unless the machine has one.
guard=
if [ ! -e /usr/sbin/policy-rc.d ]; then
	guard=/usr/sbin/policy-rc.d
	printf '#!/bin/sh\nexit 101\n' >"$guard" && chmod 0755 "$guard"
	trap 'rm -f "$guard"' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
