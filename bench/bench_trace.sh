#!/bin/sh
# The traceback benchmarks (issue 5), each on real hoptraced processes on
# loopback, with the floor measured in the same run by trace_floor
# (bench/trace_floor.c):
#
#   trace.latency_p50/p99  7 daemons in a 6-hop chain, TRACE_N traces of
#                          distinct calls found at every hop and originated at
#                          the last; each trace's time is the initiator's own
#                          started -> finished (`hoptrace trace show --json`);
#                          floor = 6 x (loopback RTT + verify + sign) + 6 x verify
#   hop.throughput         one daemon, one peer (ht_tracer stream) keeping
#                          STREAM_W requests outstanding, STREAM_N requests;
#                          floor = 1 / (verify + sign)
#   hop.flood_rss          one daemon with the default rate limit, FLOOD_N
#                          requests from one peer; its peak RSS (VmHWM), and
#                          whether another peer is answered meanwhile
#
# usage: bench/bench_trace.sh [--bin DIR] [--smoke]
#   --bin DIR   use the binaries in DIR (hoptraced, hoptrace, ht_tracer,
#               trace_floor) instead of a Release build in build-bench
#   --smoke     a CI-sized run (a few traces, small stream and flood) that
#               checks every part works and asserts nothing about time
# Environment: TRACE_N (300) STREAM_N (20000) STREAM_W (256) FLOOD_N (100000)
# TMPDIR (the daemons' state goes there). BENCH and INFO lines on stdout,
# progress on stderr. Exit 1 if a part fails (a trace not found at every hop,
# answers that do not verify, the other peer not served).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
bin=""
smoke=0
while [ $# -gt 0 ]; do
	case $1 in
	--bin) bin=$(cd "$2" && pwd); shift 2 ;;
	--smoke) smoke=1; shift ;;
	*) echo "usage: bench_trace.sh [--bin DIR] [--smoke]" >&2; exit 2 ;;
	esac
done
if [ "$smoke" = 1 ]; then
	TRACE_N=${TRACE_N:-5} STREAM_N=${STREAM_N:-300} STREAM_W=${STREAM_W:-32}
	FLOOD_N=${FLOOD_N:-2000}
else
	TRACE_N=${TRACE_N:-300} STREAM_N=${STREAM_N:-20000} STREAM_W=${STREAM_W:-256}
	FLOOD_N=${FLOOD_N:-100000}
fi
if [ -z "$bin" ]; then
	jobs=$(nproc 2>/dev/null || echo 2)
	cd "$here"
	cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" \
		-DHT_SANITIZE=OFF >/dev/null
	cmake --build build-bench -j "$jobs" --target hoptraced hoptrace_cli ht_tracer trace_floor >&2
	bin=$here/build-bench/bin
fi
HT=$bin/hoptrace
HD=$bin/hoptraced
TR=$bin/ht_tracer
for b in "$HT" "$HD" "$TR" "$bin/trace_floor"; do
	[ -x "$b" ] || { echo "bench_trace: $b is missing" >&2; exit 2; }
done

W=$(mktemp -d "${TMPDIR:-/tmp}/hoptrace-bench-trace.XXXXXX")
pids=""
cleanup() {
	for p in $pids; do kill -9 "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$W"
say() { echo "bench_trace: $*" >&2; }
fail() {
	echo "FAIL: $*"
	for f in *.log; do [ -s "$f" ] && { echo "--- $f" >&2; tail -15 "$f" >&2; }; done
	exit 1
}
base=$((20000 + ($$ % 20000)))
port() { echo $((base + $1)); }
now_ms() { echo $(($(date +%s) * 1000)); }

# ---- the floor -------------------------------------------------------------
samples=5000
[ "$smoke" = 1 ] && samples=500
floor=$("$bin/trace_floor" --samples $samples) || fail "trace_floor"
fval() { echo "$floor" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
floor_lat=$(fval latency_ms)
floor_tput=$(fval throughput)
echo "# traceback benchmarks $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -sm), $(nproc 2>/dev/null || echo '?') CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?') at the start; binaries: $bin; state in ${TMPDIR:-/tmp}"
echo "INFO floor: Ed25519 sign $(fval sign_us) us, verify $(fval verify_us) us, loopback round trip $(fval rtt_us) us (libuv, 64 octets; medians of $samples)"
echo "INFO floor: latency 6 x (rtt + verify + sign) + 6 x verify = $floor_lat ms; throughput 1 / (verify + sign) = $floor_tput answers/s (targets: latency ratio <= 3, throughput ratio >= 0.5)"
echo "INFO floor: not in the floor, for reading the figures: X25519 $(fval x25519_us) us, Ed25519 point check $(fval point_check_us) us, sealed box of a 600-octet answer $(fval seal_us) us"

# ---- identities ------------------------------------------------------------
"$HT" ca init -o ca >/dev/null || fail "ca init"
# ident NAME [--role initiator]
ident() {
	n=$1
	shift
	"$HT" keygen -o "$n" >/dev/null &&
		"$HT" ca sign --ca ca --id "$n" --pub "$n.pub" --days 30 "$@" -o "$n.cert" >/dev/null ||
		fail "identity $n"
}

# conf NAME INDEX; the rest of the configuration comes on stdin.
conf() {
	{
		printf '[identity]\nprovider_id = %s\nkey = %s/%s.key\ncertificate = %s/%s.cert\n' \
			"$1" "$W" "$1" "$W" "$1"
		printf '[trust]\nanchor = %s/ca.pub\n[listen]\naddress = 127.0.0.1:%s\n' "$W" "$(port "$2")"
		printf '[control]\nsocket = %s/%s.sock\n[state]\ndirectory = %s/%s.state\n' "$W" "$1" "$W" "$1"
		printf '[log]\nlevel = %s\n[store]\ncountry_code = 1\n' "${LOGLEVEL:-warn}"
		cat
	} >"$1.conf"
}

start() {
	"$HD" -c "$1.conf" 2>>"$1.log" &
	eval "pid_$1=$!"
	pids="$pids $!"
	i=0
	until "$HT" status -s "$W/$1.sock" >/dev/null 2>&1; do
		[ $i -lt 200 ] || fail "$1 did not start"
		sleep 0.05
		i=$((i + 1))
	done
}

stop() {
	eval "p=\$pid_$1"
	kill -TERM "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
}

# wait_up NAME PEER...: NAME reports a session with each PEER.
wait_up() {
	n=$1
	shift
	for peer in "$@"; do
		i=0
		until [ "$("$HT" peers --json -s "$W/$n.sock" 2>/dev/null |
			jq -r --arg id "$peer" '.peers[] | select(.provider_id == $id) | .state')" = established ]; do
			[ $i -lt 200 ] || fail "$n: no session with $peer"
			sleep 0.05
			i=$((i + 1))
		done
	done
}

import() {
	out=$("$HT" cdr import --json -s "$W/$1.sock" "$2") || fail "$1: cdr import: $out"
}

# The calls: distinct number pairs, one a second, starting an hour ago.
t0=$(($(now_ms) - 3600000))
calls() {
	awk -v n="$1" -v t0="$t0" 'BEGIN {
		for (k = 0; k < n; k++)
			printf "%.0f 1202%07d 1303%07d\n", t0 + k * 1000, 5000000 + k, 6000000 + k
	}'
}

# ---- latency: 7 daemons, a 6-hop chain ------------------------------------------
say "latency: 7 daemons in a chain, $TRACE_N traces"
# Background traffic at every hop, besides the traced calls: other calls
# through the same trunks in the same minutes, which the look-ups must pass over.
NOISE=${NOISE:-5000}
[ "$smoke" = 1 ] && NOISE=200
calls "$TRACE_N" >calls.txt
for i in 0 1 2 3 4 5 6; do
	if [ $i = 0 ]; then ident C0 --role initiator; else ident "C$i"; fi
done
for i in 0 1 2 3 4 5 6; do
	{
		printf '[trunks]\n'
		[ $i -lt 6 ] && printf 'tg-up = C%d\n' $((i + 1))
		[ $i -gt 0 ] && printf 'tg-down = C%d\n' $((i - 1))
		[ $i -lt 6 ] && printf '[peer C%d]\naddress = 127.0.0.1:%s\n' $((i + 1)) "$(port $((i + 1)))"
		[ $i -gt 0 ] && printf '[peer C%d]\naddress = 127.0.0.1:%s\n' $((i - 1)) "$(port $((i - 1)))"
		true
	} | LOGLEVEL=info conf "C$i" "$i"
	# C0 terminates the call, C1..C5 carry it, C6 originates it.
	in_t=tg-up out_t=tg-down
	[ $i = 0 ] && out_t=""
	[ $i = 6 ] && in_t=""
	awk -v in_t="$in_t" -v out_t="$out_t" -v t0="$t0" -v noise="$NOISE" -v span=$((TRACE_N * 1000)) -v seed=$i '
		BEGIN { print "time,calling,called,in_trunk,out_trunk,customer_ref,attestation"; srand(seed) }
		{ printf "%s,+%s,+%s,%s,%s,%s,%s\n", $1, $2, $3, in_t, out_t, in_t == "" ? "cust-" NR : "", in_t == "" ? "A" : "" }
		END {
			for (k = 0; k < noise; k++)
				printf "%.0f,+1404%07d,+1505%07d,%s,%s,%s,\n", t0 + int(rand() * span), k, int(rand() * 9999999), in_t, out_t, in_t == "" ? "cust-n" k : ""
		}' calls.txt >"C$i.csv"
done
for i in 0 1 2 3 4 5 6; do start "C$i"; done
for i in 0 1 2 3 4 5 6; do import "C$i" "C$i.csv"; done
wait_up C0 C1
for i in 1 2 3 4 5; do wait_up "C$i" "C$((i - 1))" "C$((i + 1))"; done
wait_up C6 C5

# trace_one CALLING CALLED TIME: prints the trace's time (ms) as the
# initiator measured it, or fails naming what went wrong.
trace_one() {
	id=$("$HT" trace start --calling "$1" --called "$2" --time "$3" -s "$W/C0.sock") ||
		fail "trace start: $id"
	id=$(echo "$id" | tr -d '[:space:]')
	# Every `trace show` waits for the initiator to commit (synced, on a
	# worker thread) what it holds: ask rarely while the trace likely runs.
	# The time measured is the daemon's own, so polling does not count.
	sleep "$first_poll"
	i=0
	while :; do
		"$HT" trace show --json "$id" -s "$W/C0.sock" >show.json 2>show.err ||
			fail "trace show $id: $(cat show.err)"
		st=$(jq -r .status show.json)
		[ "$st" != running ] && break
		[ $i -lt 500 ] || fail "trace $id still running after 10 s"
		sleep 0.02
		i=$((i + 1))
	done
	[ "$st" = complete ] || fail "trace $id ended $st: $(cat show.json)"
	# Found at every hop, verified, and the origin reached at C6.
	jq -e '[.answers[] | select(.status == "found" and .verdict == "ok")] | length == 7' show.json >/dev/null &&
		jq -e '[.answers[] | select(.provider_id == "C6") | .calls[] | select(.originated_here)] | length == 1' show.json >/dev/null ||
		fail "trace $id: not found and verified at all 7 hops: $(cat show.json)"
	echo "$(jq -r '.finished_ms - .started_ms' show.json) $id"
}

k=0
first_poll=${FIRST_POLL:-0.05}
: >lat.txt
while read -r t calling called; do
	trace_one "$calling" "$called" "$t" >>lat.txt
	k=$((k + 1))
	[ $((k % 50)) = 0 ] && say "latency: $k traces"
done <calls.txt
[ "$(wc -l <lat.txt)" -eq "$TRACE_N" ] || fail "latency: $(wc -l <lat.txt) of $TRACE_N traces measured"
cut -d' ' -f1 lat.txt | sort -n >lat.sorted
pct() { awk -v q="$1" '{ v[NR] = $1 } END { r = int(q * NR + 0.999999); if (r < 1) r = 1; print v[r] }' lat.sorted; }
p50=$(pct 0.50)
p99=$(pct 0.99)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "BENCH trace.latency_p50 $p50 ms ratio_vs_floor=$(ratio "$p50" "$floor_lat")"
echo "BENCH trace.latency_p99 $p99 ms ratio_vs_floor=$(ratio "$p99" "$floor_lat")"
echo "INFO trace.latency: $TRACE_N traces one after another, each found at all 7 hops and originated at C6, $NOISE other calls per hop; min $(head -1 lat.sorted) ms, max $(tail -1 lat.sorted) ms, mean $(awk '{ s += $1 } END { printf "%.2f", s / NR }' lat.sorted) ms (the daemon's started/finished times, whole ms)"
# Each hop logs its branch's time (asked -> complete, its upstreams' included).
hops=""
for i in 0 1 2 3 4 5 6; do
	m=$(sed -n "s/.* asked at hop $i: .*; complete in \([0-9.]*\) ms$/\1/p" "C$i.log" | sort -n |
		awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "?" }')
	hops="$hops${hops:+, }C$i $m"
done
echo "INFO trace.latency: each hop's branch time, asked -> complete, its upstreams included (median, from its log): $hops ms"
# What the initiator adds around its own hop 0: the trace's time minus C0's branch time.
over=$(sed -n 's/.*trace \([0-9a-f]\{8\}\): this daemon asked at hop 0: .*; complete in \([0-9.]*\) ms$/\1 \2/p' C0.log |
	awk 'NR == FNR { b[$1] = $2; next } { k = substr($2, 1, 8); if (k in b) print $1 - b[k] }' - lat.txt |
	sort -n | awk '{ v[NR] = $1 } END { if (NR) printf "median %.1f ms, max %.1f ms over %d traces", v[int((NR + 1) / 2)], v[NR], NR; else print "?" }')
echo "INFO trace.latency: the initiator's time around its hop 0 (started -> finished minus C0's hop-0 branch): $over"
for i in 0 1 2 3 4 5 6; do stop "C$i"; done

# ---- throughput: one daemon, one peer streaming --------------------------
say "throughput: $STREAM_N requests, $STREAM_W outstanding"
ident S
ident P --role initiator
ident Q --role initiator
RATE=1000000
printf '[trunks]\ntg-p = P\ntg-q = Q\n[peer P]\naddress =\n[peer Q]\naddress =\n[policy]\nrequests_per_second = %s\nburst = %s\n' \
	$RATE $RATE | conf S 10
# The calls P and Q ask about: originated at S, handed to P (and to Q).
tc=$((t0 + 100000))
{
	echo "time,calling,called,in_trunk,out_trunk,customer_ref,attestation"
	echo "$tc,+12025551000,+13035551000,,tg-p,cust-p,A"
	echo "$tc,+12025552000,+13035552000,,tg-q,cust-q,A"
	awk -v t0="$t0" 'BEGIN { srand(7); for (k = 0; k < 20000; k++)
		printf "%.0f,+1404%07d,+1505%07d,,%s,c%d,B\n", t0 + int(rand() * 600000), k, int(rand() * 9999999), k % 2 ? "tg-p" : "tg-q", k }'
} >S.csv
start S
import S S.csv
"$TR" stream --key P.key --cert P.cert --anchor ca.pub --daemon "S@127.0.0.1:$(port 10)" \
	--calling +12025551000 --called +13035551000 --time "$tc" --hop 1 --window "$tc" \
	--count "$STREAM_N" --outstanding "$STREAM_W" --verify-every 1 --timeout 600000 \
	>stream.out 2>stream.err || fail "stream: $(cat stream.out stream.err)"
rate=$(sed -n 's/^answers [0-9]* seconds [0-9.]* rate \([0-9.]*\)$/\1/p' stream.out)
[ -n "$rate" ] || fail "stream: no rate: $(cat stream.out)"
grep -q "^verified sample=$STREAM_N bad=0 found=$STREAM_N " stream.out ||
	fail "stream: not every answer verified and found: $(grep verified stream.out)"
echo "BENCH hop.throughput $rate answers/s ratio_vs_floor=$(ratio "$rate" "$floor_tput")"
echo "INFO hop.throughput: $STREAM_N requests (distinct trace IDs, one call, found at the hop, originated there) from one peer, $STREAM_W outstanding, on one session; S's rate limit raised to $RATE/s (burst $RATE) for this run; every answer opened and verified after the timed part; $(grep '^prebuilt' stream.out)"
stop S

# ---- flood: 100k requests from one peer, default rate limit ------------------
say "flood: $FLOOD_N requests from one peer"
ident F
printf '[trunks]\ntg-p = P\ntg-q = Q\n[peer P]\naddress =\n[peer Q]\naddress =\n' | conf F 11
cp S.csv F.csv
start F
import F F.csv
eval "fpid=\$pid_F"
kb() { sed -n "s/^$2:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
# A process that has exited but is not yet waited for still answers kill -0.
alive() { s=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1); [ -n "$s" ] && [ "$s" != Z ]; }
rss0=$(kb "$fpid" VmRSS)
idle=10000
[ "$smoke" = 1 ] && idle=3000
"$TR" stream --key P.key --cert P.cert --anchor ca.pub --daemon "F@127.0.0.1:$(port 11)" \
	--calling +12025551000 --called +13035551000 --time "$tc" --hop 1 --window "$tc" \
	--count "$FLOOD_N" --outstanding 0 --verify-every 100 --idle $idle --timeout 1800000 \
	>flood.out 2>flood.err &
flood=$!
pids="$pids $flood"
# Once the flood is on the wire, Q asks about its own call.
i=0
until grep -q '^prebuilt' flood.out 2>/dev/null; do
	[ $i -lt 12000 ] || fail "flood: the streaming peer did not start"
	sleep 0.05
	i=$((i + 1))
done
# ... when F has taken in a tenth of it, so that F is busy with the rest.
msgs_in() { "$HT" status --json -s "$W/F.sock" 2>/dev/null | jq .msgs_in 2>/dev/null || echo 0; }
i=0
while in0=$(msgs_in) && [ "$in0" -lt $((FLOOD_N / 10)) ] && alive "$flood"; do
	[ $i -lt 6000 ] || fail "flood: F took in only $in0 messages in 5 minutes"
	sleep 0.02
	i=$((i + 1))
done
before=no
alive "$flood" && before=yes
"$TR" ask --key Q.key --cert Q.cert --anchor ca.pub --daemon "F@127.0.0.1:$(port 11)" \
	--calling +12025552000 --called +13035552000 --time "$tc" --hop 1 --window "$tc" \
	--timeout 60000 >other.out 2>&1 && other_ok=1 || other_ok=0
after=no
alive "$flood" && after=yes
in1=$(msgs_in)
while alive "$flood"; do sleep 0.2; done
wait "$flood" && flood_rc=0 || flood_rc=$?
hwm=$(kb "$fpid" VmHWM)
grep -q '^answers ' flood.out || fail "flood: the streaming peer failed: $(cat flood.out flood.err)"
echo "BENCH hop.flood_rss $(mib "$hwm") MiB"
# What the daemon could not deliver: a backlog overflow closes the session;
# answers for an asker whose session had ended are counted in summary lines.
dropped=$(grep -c 'send backlog full' F.log || true)
unsent=$(grep -o '^.*[0-9]* answer(s) or completion(s) not sent' F.log | grep -o '[0-9]* answer' | awk '{ n += $1 } END { print n + 0 }')
sent=$(sed -n 's/^stream sent=\([0-9]*\) .*/\1/p' flood.out)
done_n=$(awk '/^stream sent=/ { split($3, c, "="); split($4, e, "="); print c[2] + e[2] }' flood.out)
echo "INFO hop.flood: $FLOOD_N requests from one peer (P) as fast as it could send them, default rate limit (50/s, burst 100); F's RSS $(mib "$rss0") MiB before, peak (VmHWM) $(mib "$hwm") MiB"
echo "INFO hop.flood: P: $(grep '^answers' flood.out); $sent sent, $done_n completed or refused by an Error$( [ "$flood_rc" = 0 ] || echo ", the rest never answered (stopped after ${idle} ms without a message)"); sampled answers: $(grep '^verified' flood.out | sed 's/^verified //'); F closed $dropped session(s) for a full send backlog and did not send $unsent answer(s) to ended sessions"
other_ms=$(sed -n 's/^complete trace=[0-9a-f]* ms=\([0-9]*\)$/\1/p' other.out)
if [ "$other_ok" = 1 ] && grep -q ' provider=F asked_by=Q status=found .* verified=yes' other.out; then
	echo "INFO hop.flood: the other peer (Q) was served during the flood: its answer found and verified, trace complete in $other_ms ms (flood running when Q asked: $before, when Q had its answer: $after; F had taken in $in0 messages when Q asked, $in1 when Q had its answer)"
else
	echo "INFO hop.flood: the other peer (Q) was NOT served during the flood: $(tr '\n' ' ' <other.out)"
	fail "flood: the other peer was not served"
fi
stop F
say "done"
