#!/usr/bin/env bash
# Membership figures from the deterministic simulator (build/dst, the real
# common/swim core): N = 100, 1,000 and 10,000. docs/benchmarks.md records
# them; docs/dst.md explains the model and the flags.
#
#   N=100     joined through one seed; 20 dissemination and crash trials, three
#             seeds; 600 virtual seconds at 10% loss
#   N=1000    joined through one seed; 5 trials; 600 s at 10% loss
#   N=10000   full member tables would take ~20 GB (1e8 entries of >= 152 B),
#             so every node is primed with a random symmetric view of ~2000
#             members (8 hubs known to all are the dissemination origins);
#             no push-pull and no loss run (both would fill the views)
#
# The N=1000 and N=10000 runs go side by side (2 cores); figures are
# deterministic for a seed, the wall_s and peak_rss_mib lines are not.
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/dst
[ -x "$BIN" ] || make -s --no-print-directory BUILD="$BUILD" "$BIN"
echo "dst core $(git rev-parse --short HEAD 2>/dev/null || echo unknown)+sha256:$(cat common/swim*.c include/swim*.h | sha256sum | cut -c1-12) (common/swim*.c, include/swim*.h)"
tmp=$(mktemp -d /tmp/swimbench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
t0=$(date +%s)

# The 10k run must fail cleanly rather than push the machine into the OOM killer.
(ulimit -v 10000000; "$BIN" --wall -n 10000 -t 3 --view 2000 bench >"$tmp/n10000" 2>&1) &
big=$!
"$BIN" --wall -n 1000 -t 5 bench >"$tmp/n1000" 2>&1 &
mid=$!
for seed in 1 2 3; do
	"$BIN" --wall -s "$seed" -n 100 -t 20 bench
done
rc=0
wait $mid || rc=1
cat "$tmp/n1000"
wait $big || rc=1
cat "$tmp/n10000"
echo "dst bench wall_s $(($(date +%s) - t0))"
exit $rc
