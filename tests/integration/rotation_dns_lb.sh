#!/bin/bash
# Registrars do-dns and do-lb against the simulator (tests/cloudsim/dosim.py):
# register three droplets -> one A record each under www.example.com and all
# three on the id-based load balancer; registering again changes nothing; a
# duplicate record is cleaned up; --dry-run changes nothing; retire removes the
# record and the LB entry before the droplet is deleted; a tag-based load
# balancer is joined by tag with no /droplets call (which would be a 422); and
# one reconciliation of 100 nodes stays within 250 requests (printed).
. "$(dirname "$0")/lib.sh"


sim_start --boot-delay 0.2 --droplet-limit 200 --quiet
make_keyring "$T/cluster.key"
say "simulator at $SIM_URL"

# three droplets, active, with their public IPs
sim_api POST /v2/droplets '{"names":["web-a","web-b","web-c"],"region":"nyc3","size":"s-1vcpu-1gb","image":"debian-12-x64","tags":["mitosis-itest"]}' >/dev/null
wait_until 10 bash -c "[ \"\$(python3 -c 'import json,sys,urllib.request; s=json.load(urllib.request.urlopen(sys.argv[1]+\"/_sim/state\")); print(sum(d[\"status\"]==\"active\" for d in s[\"droplets\"]))' $SIM_URL)\" = 3 ]" ||
	fail "droplets did not become active"
mapfile -t IDS < <(sim_state '"\n".join(str(d["id"]) for d in s["droplets"])')
mapfile -t IPS < <(sim_state '"\n".join(d["sim"]["public_ipv4"] for d in s["droplets"])')
say "droplets ${IDS[*]} at ${IPS[*]}"

LB=$(sim_lb web)
TAGLB=$(sim_lb webtag web-itest)

base_config() {
	echo "drain_timeout = 1s" | rotation_config "$1" "$T/cluster.key" "$2"
}
base_config "$T/m.conf" "$LB"
base_config "$T/tag.conf" "$TAGLB"

# --- register three: one record each, all on the LB ------------------------
for i in 0 1 2; do
	nlog=$(sim_state 'len(s["request_log"])')
	t0=$(date +%s%N)
	# The agent's own time, the wait for the balancer's health check aside
	# (health_timeout 0 here; real_consistency.sh tests that wait).
	out=$("$MITOSIS" register -c "$T/m.conf" --json --node "${IDS[$i]}" --ip "${IPS[$i]}" \
		--name "web-$i" --health-timeout 0 2>>"$LOG/cli.log")
	wall=$((($(date +%s%N) - t0) / 1000000))
	echo "$out" >>"$LOG/cli.out"
	echo "$out" | grep -q '"ok":true' || fail "register ${IDS[$i]}: $out"
	echo "$out" | grep -q '"api_requests":4}' || fail "register should take 4 requests: $out"
	api_ms=$(sim_state "int(sum(r['duration'] for r in s['request_log'][$nlog:]) * 1000)")
	say "register ${IDS[$i]}: ${wall} ms wall (process start included), API ${api_ms} ms summed, 4 requests"
	[ $((wall - api_ms)) -lt 1000 ] || fail "register took ${wall} ms beyond ${api_ms} ms of API time"
done
want_ips=$(printf '%s\n' "${IPS[@]}" | sort | python3 -c 'import sys; print(sorted(sys.stdin.read().split()))')
[ "$(sim_state 'www()')" = "$want_ips" ] || fail "records: $(sim_state 'www()') want $want_ips"
want_ids=$(printf '%s\n' "${IDS[@]}" | python3 -c 'import sys; print(sorted(int(x) for x in sys.stdin.read().split()))')
[ "$(sim_state "lb('$LB')")" = "$want_ids" ] || fail "lb: $(sim_state "lb('$LB')") want $want_ids"
say "3 records, 3 LB members"

# --- idempotent: again, two GETs (records list + LB) and nothing else --------
out=$("$MITOSIS" register -c "$T/m.conf" --json --node "${IDS[0]}" --ip "${IPS[0]}" 2>>"$LOG/cli.log")
echo "$out" | grep -q '"api_requests":2}' || fail "second register should be 2 reads: $out"
[ "$(sim_state 'len(www())')" = 3 ] || fail "second register changed the records"

# --- a duplicate record is removed by the next register of that node --------
sim_api POST /v2/domains/example.com/records "{\"type\":\"A\",\"name\":\"www\",\"data\":\"${IPS[1]}\",\"ttl\":30}" >/dev/null
[ "$(sim_state 'len(www())')" = 4 ] || fail "duplicate not created"
"$MITOSIS" register -c "$T/m.conf" --json --node "${IDS[1]}" --ip "${IPS[1]}" >>"$LOG/cli.out" 2>>"$LOG/cli.log"
[ "$(sim_state 'www()')" = "$want_ips" ] || fail "duplicate left: $(sim_state 'www()')"
say "duplicate record removed"

# --- dry run: prints the calls, changes nothing ------------------------------
out=$("$MITOSIS" deregister -c "$T/m.conf" --dry-run --node "${IDS[2]}" --ip "${IPS[2]}" 2>>"$LOG/cli.log")
echo "$out" >>"$LOG/cli.out"
echo "$out" | grep -q "^dry-run: DELETE /v2/domains/example.com/records/[0-9]*$" || fail "dry-run DNS line: $out"
echo "$out" | grep -qF "dry-run: DELETE /v2/load_balancers/$LB/droplets {\"droplet_ids\":[${IDS[2]}]}" ||
	fail "dry-run LB line: $out"
[ "$(sim_state 'len(www())')" = 3 ] && [ "$(sim_state "len(lb('$LB'))")" = 3 ] || fail "dry run changed state"
out=$("$MITOSIS" retire -c "$T/m.conf" --dry-run "${IDS[2]}" 2>>"$LOG/cli.log")
echo "$out" | grep -q "^dry-run: DELETE /v2/droplets/${IDS[2]}$" || fail "retire dry-run: $out"
[ "$(sim_state 'len(s["droplets"])')" = 3 ] || fail "retire dry run deleted"
say "dry runs change nothing"

# --- retire web-a by name: record and LB entry gone before the droplet --------
NAME0=$(sim_state "next(d['name'] for d in s['droplets'] if d['id'] == ${IDS[0]})")
out=$("$MITOSIS" retire -c "$T/m.conf" --json --no-wait "$NAME0" 2>>"$LOG/cli.log")
echo "$out" >>"$LOG/cli.out"
echo "$out" | grep -q '"ok":true' && echo "$out" | grep -q '"deleted":true' || fail "retire: $out"
[ "$(sim_state "'${IPS[0]}' in www()")" = False ] || fail "record of retired node left"
[ "$(sim_state "${IDS[0]} in lb('$LB')")" = False ] || fail "LB entry of retired node left"
[ "$(sim_state "any(d['id'] == ${IDS[0]} for d in s['droplets'])")" = False ] || fail "droplet not deleted"
order=$(sim_state "[(r['method'], r['path'].split('?')[0].split('/')[2]) for r in s['request_log'] if r['method'] == 'DELETE' and r['status'] in (204, 404)][-3:]")
case "$order" in
"[('DELETE', 'domains'), ('DELETE', 'load_balancers'), ('DELETE', 'droplets')]" | \
	"[('DELETE', 'load_balancers'), ('DELETE', 'domains'), ('DELETE', 'droplets')]") ;;
*) fail "retire order: $order" ;;
esac
# retiring it again: the droplet is already gone
"$MITOSIS" retire -c "$T/m.conf" --no-wait "${IDS[0]}" >>"$LOG/cli.out" 2>&1 && fail "retire of a deleted id succeeded"
say "retire: record, LB entry, then droplet"

# --- tag-based LB: joined by tag, never through /droplets ------------------------
"$MITOSIS" register -c "$T/tag.conf" --json --node "${IDS[1]}" --ip "${IPS[1]}" >>"$LOG/cli.out" 2>>"$LOG/cli.log" ||
	fail "register on the tag LB"
[ "$(sim_state "lb('$TAGLB')")" = "[${IDS[1]}]" ] || fail "tag LB members: $(sim_state "lb('$TAGLB')")"
[ "$(sim_state "sum(1 for r in s['request_log'] if '/v2/load_balancers/$TAGLB/droplets' in r['path'] or r['status'] == 422)")" = 0 ] ||
	fail "a /droplets call or a 422 on the tag LB"
"$MITOSIS" deregister -c "$T/tag.conf" --json --node "${IDS[1]}" --ip "${IPS[1]}" >>"$LOG/cli.out" 2>>"$LOG/cli.log" ||
	fail "deregister on the tag LB"
[ "$(sim_state "lb('$TAGLB')")" = "[]" ] || fail "tag LB still holds ${IDS[1]}"
say "tag-based LB by tag, no 422"

# --- 100 nodes: one reconciliation, counted --------------------------------------
for i in $(seq 0 9); do
	sim_api POST /v2/droplets "{\"names\":[$(seq -s, -f "\"n$i-%g\"" 0 9)],\"region\":\"nyc3\",\"size\":\"s-1vcpu-1gb\",\"image\":\"debian-12-x64\"}" >/dev/null
done
sim_state "json.dumps([{'id': d['id'], 'name': d['name'], 'ip': '10.20.%d.%d' % (k // 200, k % 200 + 1)} for k, d in enumerate(x for x in s['droplets'] if x['name'].startswith('n'))])" >"$T/nodes100.json"
python3 -c 'import json,sys; assert len(json.load(open(sys.argv[1]))) == 100' "$T/nodes100.json" || fail "100 droplets"
out=$("$MITOSIS" register -c "$T/m.conf" --reconcile --nodes "$T/nodes100.json" 2>>"$LOG/cli.log")
echo "$out" | tee -a "$LOG/cli.out"
n=$(echo "$out" | sed -n 's/^reconciled 100 node(s) with do-dns, do-lb: \([0-9]*\) API request(s)$/\1/p')
[ -n "$n" ] && [ "$n" -le 250 ] || fail "reconcile of 100: $out"
[ "$(sim_state 'len(www())')" = 100 ] || fail "records after reconcile: $(sim_state 'len(www())')"
[ "$(sim_state "len(lb('$LB'))")" = 100 ] || fail "LB after reconcile: $(sim_state "len(lb('$LB'))")"
out=$("$MITOSIS" register -c "$T/m.conf" --reconcile --nodes "$T/nodes100.json" 2>>"$LOG/cli.log")
echo "$out" | tee -a "$LOG/cli.out"
echo "$out" | grep -q ': 2 API request(s)$' || fail "a converged reconcile should be 2 reads: $out"
say "PASS"
