#!/usr/bin/env bash
# Runs every benchmark binary built from tests/bench/*.c and prints its
# figures; `make bench` calls it. Figures are machine-readable "name value"
# lines; docs/benchmarks.md records them with the machine they came from.
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
echo "# mitosis benchmarks, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(uname -m)"
echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
for b in "$BUILD"/bench/*; do
	[ -x "$b" ] || continue
	echo "## ${b##*/}"
	"$b"
done
# Scripted benchmarks (simulator figures, real processes, Serf in the same run).
for s in tests/bench/*.sh; do
	[ -x "$s" ] || continue
	[ "${s##*/}" = run.sh ] && continue # this script: running it again never ends
	echo "## ${s##*/}"
	BUILD=$BUILD "$s"
done
