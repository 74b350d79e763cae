#!/usr/bin/env bash
# The layout's promise: common/ and include/ are pure code, with no libuv or
# libcurl, so they run unchanged in unit tests, fuzzers and the simulator.
# tests/unit links only common/ (the Makefile enforces that by linking).
set -eu
cd "$(dirname "$0")/../.."
bad=$(grep -nE '#[[:space:]]*include[[:space:]]*[<"](uv\.h|uv/|curl/)' common/*.c common/*.h include/*.h || true)
if [ -n "$bad" ]; then
	echo "common/ or include/ includes libuv or libcurl:"
	echo "$bad"
	exit 1
fi
echo "common/ and include/ are free of libuv and libcurl"
