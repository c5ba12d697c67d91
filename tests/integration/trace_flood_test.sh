#!/bin/sh
# Integration test of a hop under a flood (spec/protocol.md section 11.14):
# one real hoptraced (F) with the default rate limit, one peer (P, ht_tracer
# stream) sending FLOOD_N requests as fast as it can without waiting, and
# another peer (Q) asking about its own call in the middle of it.
#   - every request of P is answered: the first ones found, the rest refused
#     as rate limited with a signed, sealed answer that verifies, each followed
#     by its completion; no unsigned "overloaded" Error, nothing dropped;
#   - F bounds P's requests in progress and stops reading P meanwhile (its
#     log says so), and its audit log holds an entry for every request;
#   - Q is answered (found, verified) while the flood goes on;
#   - again with a send queue of 8 frames, so that what F sends keeps waiting
#     for room (section 8.7.6): still everything answered, in order, nothing
#     dropped.
#
# usage: trace_flood_test.sh BINDIR   (FLOOD_N: 3000)
set -u
bin=$(cd "$1" && pwd)
HT=$bin/hoptrace
HD=$bin/hoptraced
TR=$bin/ht_tracer
N=${FLOOD_N:-3000}
W=$(mktemp -d "${TMPDIR:-/tmp}/hoptrace-flood.XXXXXX")
pids=""
cleanup() {
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT
cd "$W"
n=0
fail() {
	echo "FAIL: $*" >&2
	for f in *.log *.out *.err; do [ -f "$f" ] && { echo "--- $f" >&2; tail -15 "$f" >&2; }; done
	echo "$n passed, 1 failed"
	exit 1
}
ok() { n=$((n + 1)); }
port=$((20000 + ($$ % 20000)))

"$HT" ca init -o ca >/dev/null || fail "ca init"
for c in F P Q; do
	"$HT" keygen -o "$c" >/dev/null || fail "keygen $c"
done
"$HT" ca sign --ca ca --id F --pub F.pub --days 30 -o F.cert >/dev/null || fail "ca sign F"
for c in P Q; do
	"$HT" ca sign --ca ca --id "$c" --pub "$c.pub" --days 30 --role initiator -o "$c.cert" \
		>/dev/null || fail "ca sign $c"
done
# hop NAME PORT [POLICY]: starts hop NAME, which holds one call handed to P
# and one to Q, both originated there.
T=1767225600000
hop() {
	{
		printf '[identity]\nprovider_id = F\nkey = F.key\ncertificate = F.cert\n'
		printf '[trust]\nanchor = ca.pub\n[listen]\naddress = 127.0.0.1:%s\n' "$2"
		printf '[control]\nsocket = %s/%s.sock\n[state]\ndirectory = %s/%s.state\n' \
			"$W" "$1" "$W" "$1"
		printf '[log]\nlevel = info\n[store]\ncountry_code = 1\n[policy]\n%b' "${3:-}"
		printf '[trunks]\ntg-p = P\ntg-q = Q\n[peer P]\naddress =\n[peer Q]\naddress =\n'
	} >"$1.conf"
	"$HD" -c "$1.conf" 2>>"$1.log" &
	pids="$pids $!"
	i=0
	until "$HT" status -s "$W/$1.sock" >/dev/null 2>&1; do
		[ $i -lt 100 ] || fail "$1 did not start"
		sleep 0.05
		i=$((i + 1))
	done
	{
		echo 'time,calling,called,in_trunk,out_trunk,customer_ref,attestation'
		echo "$T,+12025551000,+13035551000,,tg-p,cust-p,A"
		echo "$T,+12025552000,+13035552000,,tg-q,cust-q,A"
	} >"$1.csv"
	"$HT" cdr import -s "$W/$1.sock" "$1.csv" >/dev/null || fail "import $1"
}
hop F "$port"
ok

"$TR" stream --key P.key --cert P.cert --anchor ca.pub --daemon "F@127.0.0.1:$port" \
	--calling +12025551000 --called +13035551000 --time "$T" --hop 1 --window "$T" \
	--count "$N" --outstanding 0 --verify-every 25 --idle 10000 --timeout 240000 \
	>flood.out 2>flood.err &
flood=$!
pids="$pids $flood"
# Q asks once F has taken in part of the flood.
msgs_in() { "$HT" status --json -s "$W/F.sock" 2>/dev/null | jq .msgs_in 2>/dev/null || echo 0; }
i=0
while [ "$(msgs_in)" -lt $((N / 10)) ]; do
	[ $i -lt 3000 ] || fail "F took in only $(msgs_in) messages"
	kill -0 "$flood" 2>/dev/null || break
	sleep 0.02
	i=$((i + 1))
done
"$TR" ask --key Q.key --cert Q.cert --anchor ca.pub --daemon "F@127.0.0.1:$port" \
	--calling +12025552000 --called +13035552000 --time "$T" --hop 1 --window "$T" \
	--timeout 60000 >other.out 2>&1 || fail "Q was not answered: $(cat other.out)"
grep -q ' provider=F asked_by=Q status=found .* verified=yes' other.out ||
	fail "Q: no verified found answer: $(cat other.out)"
ok

wait "$flood" || fail "the flood did not end with every request answered: $(cat flood.out)"
# Every request: one answer and one completion, none an unsigned Error.
grep -q "^stream sent=$N completes=$N errors=0 unknown=0 " flood.out ||
	fail "flood: $(grep '^stream' flood.out)"
grep -q "^answers $N " flood.out || fail "flood: $(grep '^answers' flood.out)"
ok
# The sample opens and verifies: the first ones found, the rest refused as rate limited.
s=$(grep '^verified' flood.out)
echo "$s" | grep -Eq ' bad=0 found=[1-9][0-9]* not_found=0 refused=[1-9][0-9]* dead_end=0 rate_limited=[1-9]' ||
	fail "flood: sampled answers: $s"
ok
# F held P back, said so (in a line an interval, not a line each), dropped nothing.
grep -q 'peer P: 256 requests in progress: not reading more from it' F.log ||
	fail "F: no sign that P was held back"
[ "$(grep -c 'requests in progress: not reading more' F.log)" -le 30 ] ||
	fail "F: one log line per hold"
! grep -Eq 'dropped|not sent|overloaded|send backlog full' F.log ||
	fail "F: $(grep -E 'dropped|not sent|overloaded|backlog' F.log | head -3)"
ok
# Audited: one entry per request of P (and Q's).
a=$("$HT" audit --json --peer P --limit 10000 -s "$W/F.sock" | jq '.entries | length')
[ "$a" = "$N" ] || fail "audit: $a entries for P, want $N"
ok

# A send queue of 8 frames: answers and completions wait for room, in order.
M=$((N / 2))
hop G $((port + 1)) 'send_queue_max = 8\n'
"$TR" stream --key P.key --cert P.cert --anchor ca.pub --daemon "F@127.0.0.1:$((port + 1))" \
	--calling +12025551000 --called +13035551000 --time "$T" --hop 1 --window "$T" \
	--count "$M" --outstanding 0 --verify-every 10 --idle 10000 --timeout 240000 \
	>small.out 2>small.err || fail "small queue: $(cat small.out)"
grep -q "^stream sent=$M completes=$M errors=0 unknown=0 " small.out ||
	fail "small queue: $(grep '^stream' small.out)"
s=$(grep '^verified' small.out)
echo "$s" | grep -Eq ' bad=0 found=[1-9][0-9]* not_found=0 refused=[1-9][0-9]* dead_end=0 rate_limited=[1-9]' ||
	fail "small queue: sampled answers: $s"
! grep -Eq 'dropped|not sent|overloaded|send backlog full' G.log ||
	fail "G: $(grep -E 'dropped|not sent|overloaded|backlog' G.log | head -3)"
ok
echo "$n passed, 0 failed"
