#!/bin/sh
# Crash test: kill -9 hoptraced at random moments during a CDR import, 20
# times, restarting it each time. Every record the daemon acknowledged must
# be there after the restart, the store must open without repair, and a
# final import must leave every record stored exactly once.
#
# usage: crash_test.sh BINDIR
set -u
bin=$(cd "$1" && pwd)
HT=$bin/hoptrace
HD=$bin/hoptraced
W=$(mktemp -d "${TMPDIR:-/tmp}/hoptrace-crash.XXXXXX")
pid=""
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
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
	"$HT" ca sign --ca ca --id CARRIER-A --pub A.pub --days 30 -o A.cert >/dev/null ||
	fail "identity"
port=$((20000 + ($$ % 20000)))
cat >A.conf <<CONF
[identity]
provider_id = CARRIER-A
key = A.key
certificate = A.cert
[trust]
anchor = ca.pub
[listen]
address = 127.0.0.1:$port
[control]
socket = $W/A.sock
[state]
directory = $W/state
[log]
level = debug
[store]
country_code = 1
retention_days = 36500
[trunks]
tg-in = TRANSIT-1
tg-out = TRANSIT-2
tg-cust = local
CONF

# 200,000 distinct calls, time-ordered.
rows=200000
awk -v n=$rows 'BEGIN {
	print "time,calling,called,in_trunk,out_trunk"
	for (i = 0; i < n; i++)
		printf "%.0f,+1202%07d,+1303%07d,tg-in,tg-out\n", 1767225600000 + i * 7, i, (i * 7919) % 10000000
}' >calls.csv

start() {
	"$HD" -c A.conf 2>>d.log &
	pid=$!
	i=0
	until "$HT" status -s "$W/A.sock" >/dev/null 2>&1; do
		[ $i -lt 100 ] || fail "daemon did not come up (store not clean?)"
		sleep 0.05
		i=$((i + 1))
	done
}

records() {
	"$HT" cdr stats --json -s "$W/A.sock" | jq -e .records || fail "cdr stats"
}

# The highest count of rows the daemon said were stored (imported now or
# already there) for an import: logged after the commit, before the reply
# that acknowledges them.
acked() {
	sed -n 's/.*import: acknowledged [0-9]* rows (imported \([0-9]*\), duplicate \([0-9]*\),.*/\1 \2/p' d.log |
		awk '{ s = $1 + $2; if (s > m) m = s } END { print m + 0 }'
}

best=0
iter=0
while [ $iter -lt 20 ]; do
	: >d.log
	start
	have=$(records)
	[ "$have" -ge "$best" ] || fail "iteration $iter: $have records after restart, $best were acknowledged"
	"$HT" cdr import --quiet -s "$W/A.sock" calls.csv >/dev/null 2>&1 &
	imp=$!
	# Somewhere between 20 ms and 1.3 s into the import.
	ms=$((20 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 1280))
	sleep "$(printf '0.%03d' $((ms % 1000)))"
	[ $ms -ge 1000 ] && sleep 1
	kill -9 "$pid"
	wait "$pid" 2>/dev/null
	pid=""
	wait "$imp" 2>/dev/null
	a=$(acked)
	[ -n "$a" ] && [ "$a" -gt "$best" ] && best=$a
	iter=$((iter + 1))
	ok
done

# A last, whole import: every row is stored exactly once.
: >d.log
start
have=$(records)
[ "$have" -ge "$best" ] || fail "after the last crash: $have records, $best acknowledged"
"$HT" cdr import --json -s "$W/A.sock" calls.csv >summary.json 2>import.err ||
	fail "final import: $(head -5 import.err)"
[ "$(jq -e .rejected summary.json)" -eq 0 ] || fail "rows rejected: $(head -5 import.err)"
imported=$(jq -e .imported summary.json) && dups=$(jq -e .duplicates summary.json) ||
	fail "summary: $(cat summary.json)"
[ $((imported + dups)) -eq $rows ] || fail "imported $imported + duplicates $dups != $rows"
[ "$(records)" -eq $rows ] || fail "store holds $(records) records, not $rows"
ok
kill -TERM "$pid"
wait "$pid" || fail "daemon did not stop cleanly"
pid=""
ok
echo "acknowledged at most $best of $rows rows before a crash" >&2
echo "$n passed, 0 failed"
