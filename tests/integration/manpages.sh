#!/usr/bin/env bash
# mitosis(8) and mitosis.conf(5), as `mitosis _man` writes them from the verb
# and key tables: groff renders them without a warning (man --warnings=all),
# every verb `mitosis help` lists has its section in mitosis(8) with every
# option its help names, and every key (the flags `mitosis help agent` lists)
# is in mitosis.conf(5), among the flags of mitosis(8), and in the key table
# of docs/config.md, which in turn names no key the program lacks.
. "$(dirname "$0")/lib.sh"

command -v man >/dev/null || fail "man missing (scripts/deps.sh installs man-db)"
"$MITOSIS" _man 8 >"$T/mitosis.8" || fail "mitosis _man 8"
"$MITOSIS" _man 5 >"$T/mitosis.conf.5" || fail "mitosis _man 5"
"$MITOSIS" _man 3 >/dev/null 2>&1 && fail "mitosis _man 3 did not fail"
for page in mitosis.8 mitosis.conf.5; do
	LC_ALL=C.UTF-8 MANWIDTH=100 man --warnings=all -E UTF-8 -l "$T/$page" >"$T/$page.txt" 2>"$LOG/$page.warnings" ||
		fail "man could not render $page"
	[ ! -s "$LOG/$page.warnings" ] || fail "$page: groff warnings: $(head -n 5 "$LOG/$page.warnings")"
	[ "$(wc -l <"$T/$page.txt")" -gt 100 ] || fail "$page is suspiciously short"
done
say "both pages render without a warning ($(wc -l <"$T/mitosis.8.txt") and $(wc -l <"$T/mitosis.conf.5.txt") lines)"

verbs=$("$MITOSIS" help | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p')
[ "$(echo "$verbs" | wc -l)" -ge 10 ] || fail "could not read the verbs from mitosis help"
for v in $verbs; do
	grep -q "^   $v$" "$T/mitosis.8.txt" || fail "mitosis(8) has no section for $v"
	# Each option its help names ("  -c FILE", "  --json") is in the page.
	for opt in $("$MITOSIS" help "$v" | sed -n 's/^  \(-[-a-zA-Z0-9]*\).*/\1/p'); do
		sed -n "/^   $v$/,/^   [a-z]/p" "$T/mitosis.8.txt" | grep -q -- "^ *$opt\b" ||
			fail "mitosis(8), $v: option $opt of its help is missing"
	done
done
grep -q '_man' "$T/mitosis.8.txt" && fail "the hidden verb _man is in mitosis(8)"
say "mitosis(8): $(echo "$verbs" | wc -l) verbs, each with every option of its help"

keys=$("$MITOSIS" help agent | sed -n '/^Every configuration key/,$s/^  --\([a-z0-9-]*\) .*/\1/p' | tr - _)
[ "$(echo "$keys" | wc -l)" -ge 50 ] || fail "could not read the keys from mitosis help agent"
for k in $keys; do
	grep -q "^       $k = " "$T/mitosis.conf.5.txt" || fail "mitosis.conf(5) lacks key $k"
	grep -q -- "^       --${k//_/-} " "$T/mitosis.8.txt" || fail "mitosis(8) lacks flag --${k//_/-}"
	grep -q "^| \`$k\` |" "$ROOT/docs/config.md" || fail "docs/config.md's key table lacks $k"
done
for k in $(sed -n 's/^| `\([a-z0-9_]*\)` | `--.*/\1/p' "$ROOT/docs/config.md"); do
	echo "$keys" | grep -qx "$k" || fail "docs/config.md documents a key the program lacks: $k"
done
say "$(echo "$keys" | wc -l) keys: each in mitosis.conf(5), as a flag in mitosis(8), and in docs/config.md"
