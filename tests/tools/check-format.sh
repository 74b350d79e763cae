#!/usr/bin/env bash
# Every C file of the repository must be as the repository's own .clang-format
# writes it (STYLE.md rule 13). Prints the files that differ and a diff of the
# first few lines of each; exit 1 when any differs. Fix with:
#   clang-format -i FILE...
set -uo pipefail
cd "$(dirname "$0")/../.."
CF=${CLANG_FORMAT:-}
if [ -z "$CF" ]; then
	for c in clang-format-14 clang-format; do
		command -v "$c" >/dev/null 2>&1 && CF=$c && break
	done
fi
if [ -z "$CF" ]; then
	echo "check-format: clang-format is not installed (scripts/deps.sh installs it)"
	exit 1
fi
bad=0
while IFS= read -r f; do
	if ! "$CF" --style=file "$f" | cmp -s - "$f"; then
		echo "not formatted: $f (clang-format -i $f)"
		"$CF" --style=file "$f" | diff "$f" - | head -n 8
		bad=$((bad + 1))
	fi
done < <(git ls-files 'agent/*.[ch]' 'common/*.[ch]' 'include/*.h' 'tests/*.[ch]')
[ "$bad" -eq 0 ] && echo "check-format: every C file is formatted ($("$CF" --version | head -n1))"
[ "$bad" -eq 0 ]
