#!/bin/sh
# Integration test of the hop side of traceback: three real hoptraced on
# loopback (A terminated a call from B, which got it from C, where it
# originated), asked by a consortium initiator (ht_tracer, library only).
#   - the full chain: three signed answers, relayed, verified, complete;
#     each hop's audit log holds its answer;
#   - not found; a replayed request (duplicate); a loop; hop limit; an upstream
#     that is not a participant; an upstream too slow (stopped) and one
#     killed mid-trace, each named in the asking hop's own dead end;
#   - the per-peer rate limit; a request asked at hop 0 by a provider that
#     is not its initiator; a clean stop with a trace in flight.
#
# usage: trace_hop_test.sh BINDIR
set -u
bin=$(cd "$1" && pwd)
HT=$bin/hoptrace
HD=$bin/hoptraced
TR=$bin/ht_tracer
W=$(mktemp -d "${TMPDIR:-/tmp}/hoptrace-hop.XXXXXX")
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
	for f in *.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -15 "$f" >&2; }; done
	echo "$n passed, 1 failed"
	exit 1
}
ok() { n=$((n + 1)); }

base=$((20000 + ($$ % 20000)))
port() { echo $((base + $1)); }

"$HT" ca init -o ca >/dev/null || fail "ca init"
for c in A B C D I; do
	"$HT" keygen -o "$c" >/dev/null || fail "keygen $c"
done
for c in A B C D; do
	"$HT" ca sign --ca ca --id "CARRIER-$c" --pub "$c.pub" --days 30 -o "$c.cert" >/dev/null ||
		fail "ca sign $c"
done
"$HT" ca sign --ca ca --id CONSORTIUM --pub I.pub --days 30 --role initiator -o I.cert \
	>/dev/null || fail "ca sign initiator"

# conf NAME INDEX TRUNKS PEER... (PEER is ID=INDEX, or ID= for one that dials us)
conf() {
	name=$1 idx=$2 trunks=$3
	shift 3
	{
		printf '[identity]\nprovider_id = CARRIER-%s\nkey = %s.key\ncertificate = %s.cert\n' \
			"$name" "$name" "$name"
		printf '[trust]\nanchor = ca.pub\n[listen]\naddress = 127.0.0.1:%s\n' "$(port "$idx")"
		printf '[control]\nsocket = %s/%s.sock\n[state]\ndirectory = %s/%s.state\n' \
			"$W" "$name" "$W" "$name"
		printf '[log]\nlevel = info\n[store]\ncountry_code = 1\n'
		printf '[policy]\nhandshake_timeout_ms = 1000\nkeepalive_ms = 300\n'
		printf 'dead_peer_ms = 5000\nbackoff_min_ms = 100\nbackoff_max_ms = 300\n'
		printf 'requests_per_second = 20\nburst = 40\n'
		printf '[trunks]\n%b' "$trunks"
		for p in "$@"; do
			if [ -n "${p#*=}" ]; then
				printf '[peer %s]\naddress = 127.0.0.1:%s\n' "${p%%=*}" "$(port "${p#*=}")"
			else
				printf '[peer %s]\naddress =\n' "${p%%=*}"
			fi
		done
	} >"$name.conf"
}
conf A 0 'tg-b = CARRIER-B\ntg-x = CARRIER-X\ntg-subs = local\n' CARRIER-B=1 CONSORTIUM= \
	CARRIER-D=
conf B 1 'tg-a = CARRIER-A\ntg-c = CARRIER-C\n' CARRIER-A=0 CARRIER-C=2
conf C 2 'tg-b = CARRIER-B\ntg-subs = local\n' CARRIER-B=1

start() {
	"$HD" -c "$1.conf" 2>>"$1.log" &
	eval "pid_$1=$!"
	pids="$pids $!"
}
state_of() {
	"$HT" peers --json -s "$W/$1.sock" 2>/dev/null |
		jq -r --arg id "$2" '.peers[] | select(.provider_id == $id) | .state'
}
wait_state() {
	i=0
	while [ $i -lt 100 ]; do
		[ "$(state_of "$1" "$2")" = "$3" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	fail "$1: peer $2 not $3"
}
for c in A B C; do start $c; done
wait_state A CARRIER-B established
wait_state B CARRIER-C established

# Call 1 went C (its customer) -> B -> A (terminated); call 2 came to A from
# CARRIER-X, which does not run HopTrace; call 3 loops: B says it came from A.
T=1767225600000
hdr='time,calling,called,in_trunk,out_trunk,customer_ref,attestation'
{
	echo "$hdr"
	echo "$((T + 1500)),+12025550123,+13035550199,tg-b,tg-subs,,"
	echo "$((T + 3000)),+12025550124,+13035550199,tg-x,tg-subs,,"
	echo "$((T + 1500)),+12025550125,+13035550199,tg-b,tg-subs,,"
} >A.csv
{
	echo "$hdr"
	echo "$((T + 700)),+12025550123,+13035550199,tg-c,tg-a,,B"
	echo "$((T + 1400)),+12025550125,+13035550199,tg-a,tg-a,,"
} >B.csv
printf '%s\n%s,+12025550123,+13035550199,tg-subs,tg-b,cust-77,A\n' "$hdr" "$T" >C.csv
for c in A B C; do
	"$HT" cdr import -s "$W/$c.sock" "$c.csv" >/dev/null || fail "import $c"
done
ok

# ask OUT [ht_tracer options]: the consortium asks A at hop 0.
ask() {
	out=$1
	shift
	"$TR" ask --key I.key --cert I.cert --anchor ca.pub --daemon "CARRIER-A@127.0.0.1:$(port 0)" \
		--called +13035550199 --time $((T + 1500)) "$@" >"$out" 2>&1
}
# has OUT PATTERN: an answer line matching the extended regex.
has() { grep -Eq "$2" "$1" || fail "$1: no line matching '$2': $(cat "$1")"; }

# The full chain, to the origin.
ask chain.out --calling +12025550123 --save-request chain.req --answer-secret chain.sk ||
	fail "full chain: $(cat chain.out)"
has chain.out '^answer .* hop=0 provider=CARRIER-A asked_by=CONSORTIUM status=found .*calls=up:CARRIER-B@'
has chain.out '^answer .* hop=1 provider=CARRIER-B asked_by=CARRIER-A status=found .*calls=up:CARRIER-C@'
has chain.out '^answer .* hop=2 provider=CARRIER-C asked_by=CARRIER-B status=found .*calls=origin:[0-9a-f]{32}@'
has chain.out '^summary sent=1 answers=3 verified=3 bad=0 completes=1'
grep -q cust-77 chain.out && fail "the customer reference left C in clear (policy opaque)"
ok
for c in A B C; do
	"$HT" audit --json -s "$W/$c.sock" >"audit-$c.json" || fail "audit $c"
	jq -e '[.entries[] | select(.status == "found")] | length == 1' "audit-$c.json" >/dev/null ||
		fail "$c's audit log: $(cat "audit-$c.json")"
done
jq -e '.entries[0].asking_peer == "CARRIER-A" and .entries[0].initiator == "CONSORTIUM" and
	.entries[0].disclosed == "upstream CARRIER-C"' audit-B.json >/dev/null ||
	fail "B's audit entry: $(cat audit-B.json)"
grep -q 'asked at hop 1: found (1 call); 1 upstream(s) asked.*complete in' B.log ||
	fail "B logs no line for the request"
ok

# Not found: A has no such call.
ask nf.out --calling +12025550999 || fail "not found: $(cat nf.out)"
has nf.out '^answer .* hop=0 .*status=not_found'
has nf.out '^summary sent=1 answers=1 verified=1 bad=0 completes=1'
ok

# Replayed: the same request bytes again.
ask dup.out --request chain.req --answer-secret chain.sk || fail "replay: $(cat dup.out)"
has dup.out '^answer .* hop=0 .*status=refused reason=duplicate'
has dup.out '^summary sent=1 answers=1 verified=1 bad=0 completes=1'
ok

# A loop (A -> B -> A): A, asked again at hop 2, refuses it as a duplicate;
# the trace still completes.
ask loop.out --calling +12025550125 || fail "loop: $(cat loop.out)"
has loop.out '^answer .* hop=1 provider=CARRIER-B .*status=found .*calls=up:CARRIER-A@'
has loop.out '^answer .* hop=2 provider=CARRIER-A asked_by=CARRIER-B status=refused reason=duplicate'
has loop.out '^summary sent=1 answers=3 verified=3 bad=0 completes=1'
ok

# Hop limit 2: B (hop 1) may answer but not ask C.
ask hl.out --calling +12025550123 --hop-limit 2 || fail "hop limit: $(cat hl.out)"
has hl.out '^answer .* hop=1 provider=CARRIER-B .*status=dead_end reason=hop_limit upstream=CARRIER-C'
has hl.out '^summary sent=1 answers=3 verified=3 bad=0 completes=1'
ok

# Not a participant: A names CARRIER-X in its own dead end.
ask np.out --calling +12025550124 || fail "non-participant: $(cat np.out)"
has np.out '^answer .* hop=0 provider=CARRIER-A .*status=found .*calls=up:CARRIER-X@'
has np.out '^answer .* hop=0 provider=CARRIER-A .*status=dead_end reason=upstream_not_participant upstream=CARRIER-X'
# The dead end is in A's audit log, its full status token and what it named.
"$HT" audit --json -s "$W/A.sock" >audit-np.json || fail "audit after the dead end"
jq -e '[.entries[] | select(.status == "dead_end:upstream_not_participant"
	and (.disclosed | test("CARRIER-X")))] | length == 1' audit-np.json >/dev/null ||
	fail "A's audit of the dead end: $(cat audit-np.json)"
ok

# Too slow: C is stopped; B's deadline (from the budget) names it.
kill -STOP "$pid_C"
ask slow.out --calling +12025550123 --budget 1500 || fail "slow upstream: $(cat slow.out)"
kill -CONT "$pid_C"
has slow.out '^answer .* hop=1 provider=CARRIER-B .*status=dead_end reason=upstream_timed_out upstream=CARRIER-C'
has slow.out '^summary sent=1 answers=3 verified=3 bad=0 completes=1'
ok

# Killed mid-trace: B names C unreachable as soon as the session drops.
kill -STOP "$pid_C"
ask killed.out --calling +12025550123 --budget 8000 &
askpid=$!
sleep 0.5
kill -9 "$pid_C"
wait "$askpid" || fail "killed upstream: $(cat killed.out)"
has killed.out '^answer .* hop=1 provider=CARRIER-B .*status=dead_end reason=upstream_unreachable upstream=CARRIER-C'
ms=$(sed -n 's/^complete .* ms=\([0-9]*\).*/\1/p' killed.out)
[ "${ms:-99999}" -lt 4000 ] || fail "the dead end waited for the deadline ($ms ms)"
ok

# Down before the trace: unreachable at once.
ask down.out --calling +12025550123 || fail "upstream down: $(cat down.out)"
has down.out '^answer .* hop=1 provider=CARRIER-B .*status=dead_end reason=upstream_unreachable upstream=CARRIER-C'
ok

# At hop 0 only the initiator may ask: D (a peer of A) relaying the
# consortium's request is refused; a request signed without the initiator
# role is refused whoever brings it.
"$TR" ask --key D.key --cert D.cert --anchor ca.pub --daemon "CARRIER-A@127.0.0.1:$(port 0)" \
	--initiator-key I.key --initiator-cert I.cert --calling +12025550123 \
	--called +13035550199 --time $((T + 1500)) >pol.out 2>&1 || fail "policy: $(cat pol.out)"
has pol.out '^answer .* hop=0 provider=CARRIER-A asked_by=CARRIER-D status=refused reason=policy_refused'
"$TR" ask --key D.key --cert D.cert --anchor ca.pub --daemon "CARRIER-A@127.0.0.1:$(port 0)" \
	--calling +12025550123 --called +13035550199 --time $((T + 1500)) >role.out 2>&1 ||
	fail "role: $(cat role.out)"
has role.out '^answer .* hop=0 provider=CARRIER-A asked_by=CARRIER-D status=refused reason=missing_role'
ok

# Rate limit (burst 40, 20 a second): a quick burst of 60 gets some refused, signed.
ask rl.out --calling +12025550999 --repeat 60 --fresh --timeout 20000 || fail "rate limit: $(cat rl.out)"
limited=$(grep -c 'status=refused reason=rate_limited' rl.out)
[ "$limited" -ge 5 ] && [ "$limited" -le 25 ] || fail "rate limit: $limited of 60 refused"
has rl.out '^summary sent=60 answers=60 verified=60 bad=0 completes=60'
ok

# A clean stop with a trace in flight at B (C stopped): B exits 0, A names B.
start C
wait_state B CARRIER-C established
kill -STOP "$pid_C"
ask stop.out --calling +12025550123 --budget 8000 &
askpid=$!
sleep 0.5
kill -TERM "$pid_B"
wait "$pid_B" || fail "B did not stop cleanly"
wait "$askpid" || fail "stop: $(cat stop.out)"
kill -CONT "$pid_C"
has stop.out '^answer .* hop=0 provider=CARRIER-A .*status=dead_end reason=upstream_unreachable upstream=CARRIER-B'
grep -q 'dropped, the daemon is stopping' B.log || fail "B did not log the dropped trace"
ok

# A replay after a restart: the seen table is refilled from the audit log,
# so the request answered before the restart is still refused as a duplicate.
kill -TERM "$pid_A"
wait "$pid_A" || fail "A did not stop cleanly"
start A
i=0
until "$HT" status -s "$W/A.sock" >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "A did not come back"
	sleep 0.1
done
grep -Eq '[0-9]+ trace IDs answered in the last hour reloaded from the audit log' A.log ||
	fail "A did not reload the trace IDs it answered"
ask dup2.out --request chain.req --answer-secret chain.sk || fail "replay after restart: $(cat dup2.out)"
has dup2.out '^answer .* hop=0 .*status=refused reason=duplicate'
ok

for c in A C; do
	eval "p=\$pid_$c"
	kill -TERM "$p"
	wait "$p" || fail "$c did not stop cleanly"
done
echo "$n passed, 0 failed"
