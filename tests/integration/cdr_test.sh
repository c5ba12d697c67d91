#!/bin/sh
# CDR import end to end: the CLI streams a CSV with 1% bad rows to a real
# hoptraced; every good row is imported, every bad one reported by line;
# a second import stores nothing twice; stats, lookup and audit answer.
#
# usage: cdr_test.sh BINDIR
set -u
bin=$(cd "$1" && pwd)
HT=$bin/hoptrace
HD=$bin/hoptraced
W=$(mktemp -d "${TMPDIR:-/tmp}/hoptrace-cdr.XXXXXX")
pid=""
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT
cd "$W"
n=0
fail() {
	echo "FAIL: $*" >&2
	[ -f d.log ] && tail -20 d.log >&2
	echo "$n passed, 1 failed"
	exit 1
}
ok() { n=$((n + 1)); }

"$HT" ca init -o ca >/dev/null && "$HT" keygen -o A >/dev/null &&
	"$HT" ca sign --ca ca --id TERM-CO --pub A.pub --days 30 -o A.cert >/dev/null ||
	fail "identity"
cat >A.conf <<CONF
[identity]
provider_id = TERM-CO
key = A.key
certificate = A.cert
[trust]
anchor = ca.pub
[control]
socket = $W/A.sock
[state]
directory = $W/state
[store]
country_code = 1
[trunks]
tg-transit = TRANSIT-1
tg-orig = ORIG-TEL
tg-subs = local
CONF
"$HD" -c A.conf 2>d.log &
pid=$!
i=0
until "$HT" status -s "$W/A.sock" >/dev/null 2>&1; do
	[ $i -lt 100 ] || fail "daemon did not start"
	sleep 0.05
	i=$((i + 1))
done

# 10,000 rows; every 100th has an unknown trunk group (1%).
awk 'BEGIN {
	print "time,calling,called,in_trunk,out_trunk,customer_ref,attestation"
	for (i = 0; i < 10000; i++) {
		if (i % 100 == 99) {
			printf "%.0f,+1202%07d,+1303%07d,tg-typo,tg-subs,,\n", 1767225600000 + i * 100, i, i
			continue
		}
		if (i % 2)
			printf "%.0f,+1202%07d,+1303%07d,tg-transit,tg-subs,,B\n", 1767225600000 + i * 100, i, i
		else
			printf "%.0f,(202) %03d-%04d,303%07d,tg-subs,tg-orig,cust-%d,A\n", 1767225600000 + i * 100, i % 1000, i, i, i
	}
}' >calls.csv

"$HT" cdr import -s "$W/A.sock" calls.csv >out.txt 2>err.txt
[ $? -eq 1 ] || fail "import with bad rows should exit 1"
ok
[ "$(grep -c 'calls.csv:[0-9]*: unknown_trunk:' err.txt)" -eq 100 ] ||
	fail "not every bad row reported: $(grep -c unknown_trunk err.txt)"
grep -q '^calls.csv:101: unknown_trunk:' err.txt && grep -q '^calls.csv:10001: unknown_trunk:' err.txt ||
	fail "bad rows not reported by their line: $(head -3 err.txt)"
ok
"$HT" cdr import --json -s "$W/A.sock" calls.csv >again.json 2>/dev/null
jq -e '.imported == 0 and .duplicates == 9900 and .rejected == 100' again.json >/dev/null ||
	fail "second import: $(cat again.json)"
ok
"$HT" cdr stats --json -s "$W/A.sock" >stats.json || fail "cdr stats"
jq -e '.records == 9900' stats.json >/dev/null || fail "records: $(cat stats.json)"
jq -e '[.peers[] | select(.provider_id == "TRANSIT-1")][0].as_upstream == 4900' stats.json \
	>/dev/null || fail "per-peer counts: $(cat stats.json)"
jq -e '[.peers[] | select(.provider_id == "ORIG-TEL")][0].as_downstream == 5000' stats.json \
	>/dev/null || fail "per-peer counts: $(cat stats.json)"
ok

# Row 42 (even): from a subscriber to ORIG-TEL, in national form in the file.
t=$((1767225600000 + 42 * 100))
"$HT" cdr lookup --json -s "$W/A.sock" --calling '+1 202 042 0042' --called 3030000042 \
	--time "$t" --tolerance 2 >hit.json || fail "lookup of an existing call"
jq -e '.records | length == 1' hit.json >/dev/null || fail "lookup: $(cat hit.json)"
jq -e '.records[0].downstream == "ORIG-TEL" and .records[0].customer_ref == "cust-42"' hit.json \
	>/dev/null || fail "lookup record: $(cat hit.json)"
ok
if "$HT" cdr lookup -s "$W/A.sock" --calling 12020420042 --called 13030000042 \
	--time $((t + 60000)) --tolerance 2 >/dev/null 2>&1; then
	fail "lookup outside the window found something"
fi
ok
"$HT" audit --json -s "$W/A.sock" >audit.json || fail "audit"
jq -e '.entries | length == 0' audit.json >/dev/null || fail "audit: $(cat audit.json)"
ok
kill -TERM "$pid"
wait "$pid" || fail "daemon did not stop cleanly"
pid=""
echo "$n passed, 0 failed"
