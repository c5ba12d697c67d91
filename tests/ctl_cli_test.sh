#!/bin/sh
# End-to-end test of `hoptrace status`, `peers`, `cdr import`, `cdr stats`,
# `cdr lookup`, `audit` and `trace` against ctl_fake_server, a stand-in for hoptraced's control socket that answers
# with fixed data (or misbehaves on purpose), so no daemon is needed.
#
# Usage: ctl_cli_test.sh PATH/TO/hoptrace PATH/TO/ctl_fake_server
#
# Runs in a fresh temporary directory that is removed at exit. Stops at the
# first failure and says what failed; on success the last line printed is
# "N passed, 0 failed". Needs only POSIX tools and jq (to read JSON).
set -u

if [ $# -ne 2 ]; then
	echo "usage: $0 PATH/TO/hoptrace PATH/TO/ctl_fake_server" >&2
	exit 2
fi
abs() {
	case $1 in
	/*) echo "$1" ;;
	*) echo "$(pwd)/$1" ;;
	esac
}
HT=$(abs "$1")
SRV=$(abs "$2")
for x in "$HT" "$SRV"; do
	if [ ! -x "$x" ]; then
		echo "ctl_cli_test: '$x' is not an executable" >&2
		exit 2
	fi
done
if ! command -v jq >/dev/null 2>&1; then
	echo "ctl_cli_test: jq is needed to check JSON output" >&2
	exit 2
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/hoptrace-ctl.XXXXXX") || exit 2
srv_pid=""
cleanup() {
	[ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
cd "$WORK" || exit 2
# The environment must not pick a socket for us.
unset HOPTRACE_SOCKET

passed=0
last=""

fail() {
	echo "FAIL: $*" >&2
	if [ -n "$last" ]; then
		echo "  command: $last" >&2
		for f in stdout stderr; do
			if [ -s $f ]; then
				echo "  its $f:" >&2
				sed 's/^/    /' $f >&2
			fi
		done
	fi
	echo "$passed passed, 1 failed"
	exit 1
}

ok() {
	passed=$((passed + 1))
}

# run STATUS ARGS...: runs hoptrace ARGS, expecting exit STATUS, leaving its
# output in ./stdout and ./stderr.
run() {
	want=$1
	shift
	last="hoptrace $*"
	"$HT" "$@" >stdout 2>stderr
	got=$?
	[ "$got" -eq "$want" ] || fail "exit status $got, expected $want"
	ok
}

stdout_has() {
	grep -Eq -- "$1" stdout || fail "stdout does not match /$1/"
	ok
}

stderr_has() {
	grep -Eq -- "$1" stderr || fail "stderr does not match /$1/"
	ok
}

# jq_is FILTER WANT: jq -c FILTER on ./stdout prints WANT.
jq_is() {
	got=$(jq -c "$1" stdout) || fail "stdout is not JSON (jq '$1')"
	[ "$got" = "$2" ] || fail "jq '$1': got '$got', expected '$2'"
	ok
}

# start MODE: runs ctl_fake_server MODE on ./MODE.sock until stop.
start() {
	sock=$WORK/$1.sock
	"$SRV" "$1" "$sock" >"$1.out" 2>"$1.err" &
	srv_pid=$!
	i=0
	until grep -q ready "$1.out" 2>/dev/null; do
		i=$((i + 1))
		[ $i -le 100 ] || fail "ctl_fake_server $1 did not start: $(cat "$1.err")"
		sleep 0.05
	done
}

stop() {
	kill "$srv_pid" 2>/dev/null
	wait "$srv_pid" 2>/dev/null
	srv_pid=""
}

# --- a daemon that answers -----------------------------------------------------

start ok
# shellcheck disable=SC2012 # POSIX has no stat(1)
mode=$(ls -l "$sock" | cut -c1-10)
[ "$mode" = "srw-rw----" ] || fail "socket mode is $mode, expected srw-rw---- (0660)"
ok

run 0 status -s "$sock"
stdout_has '^version +0\.1\.0-fake$'
stdout_has '^provider +carrier-a$'
stdout_has '^uptime +2h 3m$'
stdout_has '^peers +1 up of 3$'
stdout_has '^messages +in 1200, out 3400$'
stdout_has '^bytes +in 1\.5M, out 2\.0K$'
stdout_has '^handshakes +ok 5, failed 1$'
stdout_has '^refused +3 connections$'
# Values start in one column.
n=$(awk '{ print index($0, $2) }' stdout | sort -u | wc -l | tr -d ' ')
[ "$n" = 1 ] || fail "status values are not aligned"
ok

run 0 status --json -s "$sock"
jq_is '.daemon_version' '"0.1.0-fake"'
jq_is '.provider_id' '"carrier-a"'
jq_is '[.uptime_s, .peers_up, .peers_total]' '[7380,1,3]'
jq_is '[.msgs_in, .msgs_out, .bytes_in, .bytes_out]' '[1200,3400,1572864,2048]'
jq_is '[.handshakes_ok, .handshakes_failed, .conns_refused]' '[5,1,3]'

# The socket comes from $HOPTRACE_SOCKET when -s is not given...
HOPTRACE_SOCKET=$sock
export HOPTRACE_SOCKET
run 0 status --json
jq_is '.provider_id' '"carrier-a"'
# ...and -s wins over it.
HOPTRACE_SOCKET=$WORK/nothing.sock
run 0 status --json --socket "$sock"
unset HOPTRACE_SOCKET

run 0 peers -s "$sock"
head -n 1 stdout | grep -Eq '^PROVIDER +ADDRESS +STATE +SINCE +LAST-SEEN +RTT +MSGS-IN/OUT +BYTES-IN/OUT +LAST-ERROR$' ||
	fail "peers: header line"
ok
[ "$(wc -l <stdout | tr -d ' ')" = 4 ] || fail "peers: expected a header and 3 rows"
ok
stdout_has '^carrier-b +192\.0\.2\.10:7443 +established +[0-9]+d [0-9]+h +[0-9]+d [0-9]+h ago +12\.3ms +100/200 +4\.0K/8\.0K +-$'
stdout_has '^carrier-c +\[2001:db8::1\]:7443 +backoff +[0-9dh ]+ +never +- +0/0 +0B/0B +connect: Connection refused — retrying$'
stdout_has '^- +peer\.example\.net:7443 +connecting '
# Every column starts where its header does.
for col in ADDRESS STATE RTT LAST-ERROR; do
	want=$(head -n 1 stdout | awk -v c="$col" '{ print index($0, c) }')
	case $col in
	ADDRESS) vals="192.0.2.10 [2001:db8 peer.example" ;;
	STATE) vals="established backoff connecting" ;;
	RTT) vals="12.3ms" ;;
	LAST-ERROR) vals="connect:" ;;
	esac
	for v in $vals; do
		got=$(grep -F -- "$v" stdout | head -n 1 |
			awk -v v="$v" '{ print index($0, v) }')
		# index() counts octets; the rows are ASCII up to these columns.
		[ "$got" = "$want" ] || fail "peers: '$v' at column $got, header $col at $want"
		ok
	done
done

run 0 peers --json -s "$sock"
jq_is '.peers | length' '3'
jq_is '.peers[0] | keys' '["address","bytes_in","bytes_out","last_error","last_seen","last_seen_ms","msgs_in","msgs_out","provider_id","rtt_us","since","since_ms","state"]'
jq_is '.peers[0] | [.provider_id, .address, .state]' '["carrier-b","192.0.2.10:7443","established"]'
jq_is '.peers[0] | [.since, .since_ms, .last_seen, .last_seen_ms]' '["2026-01-01T00:00:00Z",1767225600123,"2026-01-01T00:01:00Z",1767225660000]'
jq_is '.peers[0] | [.rtt_us, .msgs_in, .msgs_out, .bytes_in, .bytes_out, .last_error]' '[12345,100,200,4096,8192,""]'
jq_is '.peers[1] | [.state, .since, .last_seen, .last_seen_ms, .rtt_us]' '["backoff","2026-01-01T01:00:00Z",null,null,null]'
jq_is '.peers[1].last_error' '"connect: Connection refused — retrying"'
jq_is '.peers[2] | [.provider_id, .address, .state]' '[null,"peer.example.net:7443","connecting"]'

# --- cdr import ------------------------------------------------------------------

# A small file: line 3 is refused by the fake daemon, BAD and OMIT rows too
# (OMIT ones unlisted), DUP rows are duplicates; the last row has no line end.
printf 'time,calling,called,in_trunk,out_trunk\nr2\nyesterday\nr4 BAD\nr5 DUP\n\nr7 OMIT\nr8' >small.csv
run 1 cdr import -s "$sock" small.csv
stdout_has '^imported +2$'
stdout_has '^rejected +3$'
stdout_has '^duplicates +1$'
stdout_has '^bytes +77B$'
stdout_has '^elapsed +[0-9]+\.[0-9]s$'
stdout_has '^rate +[0-9]+ rows/s$'
stderr_has '^small\.csv:3: bad_time: time: "yesterday" is not RFC 3339 nor epoch ms$'
stderr_has '^small\.csv:4: bad_number: calling: not a phone number$'
stderr_has '^small\.csv: 1 more bad row in this part of the file, not listed$'
[ "$(wc -l <stderr | tr -d ' ')" = 3 ] || fail "cdr import: expected 3 lines on stderr"
ok
# Not a terminal: no progress line.
grep -q 'rows/s' stderr && fail "cdr import: a progress line without a terminal"
ok
tail -n 1 ok.out | grep -qx 'chunk 77 last=1 total=77' || fail "cdr import: one chunk of 77 bytes, the last"
ok

run 1 cdr import --json -s "$sock" small.csv
jq_is '[.file, .imported, .rejected, .duplicates, .bytes]' '["small.csv",2,3,1,77]'
jq_is '.errors' '[{"line":3,"reason":"bad_time","message":"time: \"yesterday\" is not RFC 3339 nor epoch ms"},{"line":4,"reason":"bad_number","message":"calling: not a phone number"}]'
jq_is '.errors_not_listed' '1'
jq_is '[.elapsed_ms, .rows_per_s] | map(type)' '["number","number"]'

# --quiet: only the summary.
run 1 cdr import --quiet -s "$sock" small.csv
[ -s stderr ] && fail "cdr import --quiet: stderr is not empty"
ok
stdout_has '^rejected +3$'

# A clean file: exit 0.
printf 'time,calling,called\nr2\n\nr4\n' >clean.csv
run 0 cdr import -s "$sock" clean.csv
stdout_has '^imported +2$'
stdout_has '^rejected +0$'
[ -s stderr ] && fail "cdr import: stderr is not empty for a clean file"
ok

# A file over several chunks (256 KiB each), with rows cut at the chunk
# boundaries and a bad row in the second chunk: every row is counted once.
awk 'BEGIN { print "time,calling,called";
	for (i = 2; i <= 40001; i++) printf "row %06d %s\n", i, (i == 30000 ? "BAD" : "xxxxxxxx") }' >big.csv
size=$(wc -c <big.csv | tr -d ' ')
[ "$size" = 800015 ] || fail "big.csv has $size bytes"
ok
run 1 cdr import --json -s "$sock" big.csv
jq_is '[.imported, .rejected, .duplicates, .bytes]' '[39998,2,0,800015]'
jq_is '[.errors[].line]' '[3,30000]'
stderr_has '^big\.csv:30000: bad_number: '
tail -n 4 ok.out >chunks
printf 'chunk 262144 last=0 total=800015\nchunk 262144 last=0 total=800015\nchunk 262144 last=0 total=800015\nchunk 13583 last=1 total=800015\n' >want
cmp -s chunks want || fail "cdr import: chunks were $(tr '\n' ' ' <chunks)"
ok

# Standard input from a pipe: size unknown, errors named <stdin>.
last="cat small.csv | hoptrace cdr import -s $sock -"
st=$( (cat small.csv | "$HT" cdr import -s "$sock" - >stdout 2>stderr; echo $?) )
[ "$st" = 1 ] || fail "cdr import -: exit status $st, expected 1"
ok
stderr_has '^<stdin>:3: bad_time: '
stdout_has '^imported +2$'
tail -n 1 ok.out | grep -qx 'chunk 77 last=1 total=0' || fail "cdr import -: total_bytes should be 0"
ok

# A file that is an exact multiple of the chunk size ends with an empty chunk.
awk 'BEGIN { printf "time\n"; for (i = 0; i < 262138; i++) printf "x"; printf "\n" }' >exact.csv
[ "$(wc -c <exact.csv | tr -d ' ')" = 262144 ] || fail "exact.csv is not 256 KiB"
ok
run 0 cdr import --json -s "$sock" exact.csv
jq_is '[.imported, .bytes]' '[1,262144]'
tail -n 2 ok.out | tr '\n' ' ' | grep -qx 'chunk 262144 last=0 total=262144 chunk 0 last=1 total=262144 ' ||
	fail "cdr import: an exact multiple should end with an empty last chunk"
ok

run 3 cdr import -s "$sock" "$WORK/missing.csv"
stderr_has 'missing\.csv: No such file or directory'
run 3 cdr import -s "$sock" "$WORK"
stderr_has 'is a directory'

# --- cdr stats -------------------------------------------------------------------

run 0 cdr stats -s "$sock"
stdout_has '^records +1234567$'
stdout_has '^partitions +90$'
stdout_has '^span +2026-01-01T00:00:00Z \.\. 2026-03-31T23:59:59Z$'
stdout_has '^disk +1\.5G$'
stdout_has '^PROVIDER +AS-UPSTREAM +AS-DOWNSTREAM$'
stdout_has '^\(here\) +1000 +2000$'
stdout_has '^carrier-b +5000 +6000$'
stdout_has '^carrier-c +0 +7$'

run 0 cdr stats --json -s "$sock"
jq_is '[.records, .partitions, .bytes_on_disk]' '[1234567,90,1610612736]'
jq_is '[.first, .first_ms, .last, .last_ms]' '["2026-01-01T00:00:00.000Z",1767225600000,"2026-03-31T23:59:59.999Z",1775001599999]'
jq_is '.peers' '[{"provider_id":null,"as_upstream":1000,"as_downstream":2000},{"provider_id":"carrier-b","as_upstream":5000,"as_downstream":6000},{"provider_id":"carrier-c","as_upstream":0,"as_downstream":7}]'
jq_is '.peers_truncated' 'false'

# --- cdr lookup ------------------------------------------------------------------

run 0 cdr lookup -s "$sock" --calling '+1 202 555 0143' --called 2025550199 --time 2026-01-01T00:00:01Z
head -n 1 stdout | grep -Eq '^TIME +CALLING +CALLED +UPSTREAM +DOWNSTREAM +ATTEST +ORIGID +CUSTOMER-REF +CALL-ID$' ||
	fail "cdr lookup: header line"
ok
[ "$(wc -l <stdout | tr -d ' ')" = 3 ] || fail "cdr lookup: expected a header and 2 rows"
ok
stdout_has '^2026-01-01T00:00:00\.123Z +12025550143 +12025550199 +carrier-b +carrier-c +A +123e4567-e89b-12d3-a456-426614174000 +- +a84b4c76e66710@pc33\.example\.com$'
stdout_has '^2026-01-01T00:00:02\.500Z +12025550143 +12025550199 +\(here\) +\(here\) +- +- +acct-42 — Café +-$'

# The tolerance narrows the window: epoch seconds, then epoch ms.
run 0 cdr lookup --json -s "$sock" --calling 2025550143 --called 2025550199 --time 1767225600 --tolerance 1
jq_is '[.records[].time_ms]' '[1767225600123]'
run 0 cdr lookup --json -s "$sock" --calling 2025550143 --called 2025550199 --time 1767225602000 --tolerance 0.5
jq_is '[.records[].time]' '["2026-01-01T00:00:02.500Z"]'
jq_is '.records[0] | [.upstream, .downstream, .attestation, .origid, .customer_ref, .call_id]' '[null,null,null,null,"acct-42 — Café",""]'
jq_is '.truncated' 'false'
run 0 cdr lookup --json -s "$sock" --calling 2025550143 --called 2025550199 --time 2026-01-01T00:00:00.123Z --tolerance 0
jq_is '.records[0] | keys' '["attestation","call_id","called","calling","customer_ref","downstream","origid","time","time_ms","upstream"]'
jq_is '.records[0] | [.calling, .called, .upstream, .downstream, .attestation, .origid, .call_id]' '["12025550143","12025550199","carrier-b","carrier-c","A","123e4567-e89b-12d3-a456-426614174000","a84b4c76e66710@pc33.example.com"]'

# Nothing found: exit 1.
run 1 cdr lookup -s "$sock" --calling 2025550100 --called 2025550199 --time 2026-01-01T00:00:01Z
[ -s stdout ] && fail "cdr lookup: stdout should be empty when nothing matches"
ok
stderr_has 'no matching record'
run 1 cdr lookup --json -s "$sock" --calling 2025550143 --called 2025550199 --time 2026-01-02T00:00:00Z
jq_is '.' '{"records":[],"truncated":false}'

# --- audit -----------------------------------------------------------------------

run 0 audit -s "$sock"
head -n 1 stdout | grep -Eq '^TIME +TRACE-ID +ASKING-PEER +INITIATOR +STATUS +DISCLOSED$' || fail "audit: header line"
ok
[ "$(wc -l <stdout | tr -d ' ')" = 4 ] || fail "audit: expected a header and 3 rows"
ok
stdout_has '^2026-01-01T00:00:01\.000Z +00112233445566778899aabbccddeeff +carrier-c +itg +answered +upstream carrier-b$'
stdout_has '^2026-01-01T00:01:00\.000Z +deadbeef000000000000000000000000 +carrier-b +itg +refused +-$'
stdout_has '^2026-01-01T01:00:00\.000Z +- +carrier-c +- +malformed +-$'

run 0 audit --json -s "$sock"
jq_is '.entries | length' '3'
jq_is '.entries[0]' '{"time":"2026-01-01T00:00:01.000Z","time_ms":1767225601000,"trace_id":"00112233445566778899aabbccddeeff","asking_peer":"carrier-c","initiator":"itg","status":"answered","disclosed":"upstream carrier-b"}'
jq_is '.entries[2] | [.trace_id, .initiator, .disclosed]' '[null,null,""]'
jq_is '.truncated' 'false'

# Filters reach the daemon.
run 0 audit --json -s "$sock" --peer carrier-c
jq_is '[.entries[].status]' '["answered","malformed"]'
run 0 audit --json -s "$sock" --trace DEADBEEF000000000000000000000000
jq_is '[.entries[].status]' '["refused"]'
run 0 audit --json -s "$sock" --since 2026-01-01T00:00:30Z --until 1767229199999
jq_is '[.entries[].status]' '["refused"]'
run 0 audit --json -s "$sock" --since 1767225660
jq_is '[.entries[].status]' '["refused","malformed"]'
# --limit keeps the oldest; the rest is announced.
run 0 audit --json -s "$sock" --limit 2
jq_is '[.entries[].status]' '["answered","refused"]'
jq_is '.truncated' 'true'
stderr_has 'newer entries match too; the oldest 2 are shown'
run 0 audit -s "$sock" --peer nobody
[ "$(wc -l <stdout | tr -d ' ')" = 1 ] || fail "audit: expected only the header"
ok
stop

# --- trace ---------------------------------------------------------------------

rm -f "$WORK/ok.sock" # left by the server above
start ok
DONE=5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c
# The tree: each answer under the one that asked it, rejected ones shown apart.
run 0 trace show -s "$sock" $DONE
stdout_has "^trace $DONE  complete$"
stdout_has '^call 12025550143 -> 12025550199 at 2026-01-01T00:00:00\.000Z \+/- 5\.000 s$'
stdout_has '^started 2026-01-01T00:00:10\.000Z by carrier-a, hop limit 16, label: IRS campaign$'
stdout_has '^hop 0  carrier-a  found  <- carrier-b  \(2\.0 ms\)$'
stdout_has '^  hop 1  carrier-b  found  <- carrier-c; <- carrier-x  \(5\.0 ms\)$'
stdout_has '^    hop 1  carrier-b  dead_end  at carrier-x: upstream_not_participant  \(6\.0 ms\)$'
stdout_has '^    hop 2  carrier-c  found  origin \(customer 3fa2c1d0e9b87a65\)  \(9\.0 ms\)$'
stdout_has '^hop 2  carrier-d  not_found  \(10\.0 ms\)  REJECTED: unlinked$'
stdout_has '^hop \?  \?  unreadable  \(11\.0 ms\)  REJECTED: decrypt_failed$'
stdout_has '^result: complete, origin carrier-c \(customer 3fa2c1d0e9b87a65\)$'
stdout_has '^path: carrier-c -> carrier-b -> carrier-a$'
stdout_has '^  2 answers rejected \(not evidence\)$'
grep -q 'open:' stdout && fail "trace show: the dead end closes carrier-x's branch"
ok
# The daemon lists at most 4 answers a page; all 6 are shown, once each.
[ "$(grep -c '^ *hop ' stdout)" = 6 ] || fail "trace show: expected 6 answers"
ok

run 0 trace show --json -s "$sock" $DONE
jq_is '[.trace_id, .status, .initiator, .calling, .called, .tolerance_ms, .hop_limit, .label, .to]' \
	"[\"$DONE\",\"complete\",\"carrier-a\",\"12025550143\",\"12025550199\",5000,16,\"IRS campaign\",null]"
jq_is '[.answers[] | .index]' '[0,1,2,3,4,5]'
jq_is '[.answers[] | .verdict]' '["ok","ok","ok","ok","unlinked","decrypt_failed"]'
jq_is '[.answers[] | .parent]' '[null,0,1,1,null,null]'
jq_is '[.answers[] | .elapsed_ms]' '[2,5,6,9,10,11]'
jq_is '.answers[3].calls[0] | [.originated_here, .customer_ref, .attestation, .origid, .record_time_ms]' \
	'[true,"3fa2c1d0e9b87a65","A","11111111-1111-1111-1111-111111111111",1767225600080]'
jq_is '.answers[2] | [.status, .reason, .upstream]' '["dead_end","upstream_not_participant","carrier-x"]'
jq_is '[.origin, .path, .open_branches]' '["carrier-c",["carrier-c","carrier-b","carrier-a"],0]'
jq_is '[.finished_ms, .call_time]' '[1767225610012,"2026-01-01T00:00:00.000Z"]'

run 3 trace show -s "$sock" 00000000000000000000000000000001
stderr_has 'refused the trace show request: error: no trace 00000000000000000000000000000001 was started here'
[ -s stdout ] && fail "trace show: nothing may reach stdout on failure"
ok

# start prints the ID, and what it sent reaches the daemon.
run 0 trace start -s "$sock" --calling '+1 202 555 0143' --called 2025550199 \
	--time 2026-01-01T00:00:00.250Z --tolerance 2.5 --to carrier-b --label 'IRS campaign'
[ "$(cat stdout)" = 7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a ] || fail "trace start: the ID alone"
ok
grep -q '^start +1 202 555 0143 2025550199 1767225600250 2500 to=carrier-b label=IRS campaign$' ok.out ||
	fail "trace start: the daemon got $(grep '^start' ok.out | tail -n 1)"
ok
run 0 trace start --json -s "$sock" --calling 2025550143 --called 2025550199 --time 1767225600
jq_is '.' '{"trace_id":"7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a"}'
grep -q '^start 2025550143 2025550199 1767225600000 0 to= label=$' ok.out ||
	fail "trace start: no tolerance is 0 (the daemon's default)"
ok

# --watch: each answer once as it arrives, then the result; 0 at an origin.
run 0 trace start --watch -s "$sock" --calling 2025550143 --called 2025550199 --time 1767225600000
[ "$(head -n 1 stdout)" = "trace 7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a" ] || fail "watch: the ID first"
ok
[ "$(grep -c '^ *hop ' stdout)" = 6 ] || fail "watch: expected each of the 6 answers once"
ok
sed -n 2p stdout | grep -q '^hop 0  carrier-a  found  <- carrier-b' || fail "watch: hop 0 first"
ok
stdout_has '^    hop 2  carrier-c  found  origin'
stdout_has '^result: complete, origin carrier-c'
run 0 trace start --watch --json -s "$sock" --calling 2025550143 --called 2025550199 --time 1767225600000
jq_is '[.status, .origin, (.answers | length)]' '["complete","carrier-c",6]'
# No origin: 1.
run 1 trace start --watch -s "$sock" --calling 2025550143 --called 2025550199 --time 1767225600000 \
	--label 'no origin'
stdout_has '^hop 0  carrier-a  not_found  \(3\.0 ms\)$'
stdout_has '^result: complete, no origin found$'

run 0 trace list -s "$sock"
head -n 1 stdout | grep -Eq '^TRACE-ID +CREATED +STATUS +ANSWERS +ORIGIN +LABEL$' || fail "trace list: header line"
ok
sed -n 2p stdout | grep -Eq '^7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a +2026-01-01T00:00:10\.000Z +running +6 +- +-$' ||
	fail "trace list: newest first"
ok
stdout_has '^5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c +2026-01-01T00:00:09\.000Z +complete +4 +carrier-c +IRS campaign$'
run 0 trace list --json --limit 2 -s "$sock"
jq_is '[.traces[] | .status]' '["running","complete"]'
jq_is '[.traces[1].origin, .traces[0].origin, .truncated]' '["carrier-c",null,true]'
stderr_has 'older traces exist; the newest 2 are shown'

# export: the bundle in pieces, checked against its digest, written 0644.
run 0 trace export -s "$sock" $DONE -o bundle.bin
stdout_has '^bytes +600000$'
stdout_has '^answers +4$'
[ "$(wc -c <bundle.bin | tr -d ' ')" = 600000 ] || fail "trace export: size"
ok
# shellcheck disable=SC2012 # POSIX has no stat(1)
[ "$(ls -l bundle.bin | cut -c1-10)" = "-rw-r--r--" ] || fail "trace export: mode"
ok
[ "$(grep -c '^export' ok.out)" = 2 ] || fail "trace export: expected 2 pieces"
ok
run 3 trace export -s "$sock" $DONE -o bundle.bin
stderr_has 'bundle\.bin: .*use --force'
run 0 trace export --json --force -s "$sock" $DONE -o bundle.bin
jq_is '[.file, .bytes, .answers, .status]' '["bundle.bin",600000,4,"complete"]'
run 3 trace export -s "$sock" 7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a -o other.bin
stderr_has 'refused the trace export request'
[ -e other.bin ] && fail "trace export: no file on failure"
ok
stop

# --- a daemon with nothing to show ---------------------------------------------

start empty
run 0 peers --json -s "$sock"
jq_is '.' '{"peers":[]}'
run 0 peers -s "$sock"
[ "$(wc -l <stdout | tr -d ' ')" = 1 ] || fail "peers: expected only the header"
ok
run 0 status --json -s "$sock"
jq_is '[.provider_id, .peers_total]' '[null,0]'
run 0 status -s "$sock"
stdout_has '^provider +\(none\)$'
run 0 cdr stats --json -s "$sock"
jq_is '[.records, .partitions, .first, .first_ms, .last, .last_ms, .bytes_on_disk, .peers]' '[0,0,null,null,null,null,0,[]]'
run 0 cdr stats -s "$sock"
stdout_has '^span +-$'
stdout_has '^disk +0B$'
[ "$(tail -n 1 stdout)" = "PROVIDER  AS-UPSTREAM  AS-DOWNSTREAM" ] || fail "cdr stats: expected only the table header"
ok
run 0 audit --json -s "$sock"
jq_is '.' '{"entries":[],"truncated":false}'
run 0 trace list --json -s "$sock"
jq_is '.' '{"traces":[],"truncated":false}'
run 1 cdr lookup --json -s "$sock" --calling 2025550143 --called 2025550199 --time 2026-01-01T00:00:01Z
jq_is '.records' '[]'
stop

# --- failures -----------------------------------------------------------------

# A daemon of another control protocol version: both versions are named.
start version
run 3 status -s "$sock"
stderr_has 'version 2'
stderr_has 'version 1'
run 3 peers --json -s "$sock"
stderr_has 'speaks control protocol version 2, this hoptrace speaks version 1'
[ -s stdout ] && fail "nothing may reach stdout on failure"
ok
run 3 cdr stats -s "$sock"
stderr_has 'speaks control protocol version 2, this hoptrace speaks version 1'
run 3 cdr import -s "$sock" small.csv
stderr_has 'speaks control protocol version 2'
[ -s stdout ] && fail "nothing may reach stdout on failure"
ok
stop

# The daemon refuses the request.
start error
run 3 status -s "$sock"
stderr_has 'refused the status request: error: the peer table is not ready'
run 3 cdr import -s "$sock" small.csv
stderr_has 'refused the cdr import request: error: '
[ -s stdout ] && fail "cdr import: nothing may reach stdout on failure"
ok
run 3 cdr lookup --json -s "$sock" --calling 2025550143 --called 2025550199 --time 0
stderr_has 'refused the cdr lookup request: error: '
run 3 audit -s "$sock"
stderr_has 'refused the audit request'
run 3 trace start --watch -s "$sock" --calling 2025550143 --called 2025550199 --time 1
stderr_has 'refused the trace start request: error: '
[ -s stdout ] && fail "trace start: nothing may reach stdout on failure"
ok
stop

# The daemon sends a length prefix over the limit.
start garbage
run 3 peers -s "$sock"
stderr_has 'bad response from hoptraced'
stop

# No daemon: nothing at the path, or a socket nobody listens on.
run 3 status -s "$WORK/absent.sock"
stderr_has "cannot connect to $WORK/absent\\.sock: No such file or directory \\(is hoptraced running\\?\\)"
run 3 peers -s "$WORK/ok.sock"
stderr_has 'cannot connect to .*ok\.sock: Connection refused \(is hoptraced running\?\)'
HOPTRACE_SOCKET=$WORK/absent.sock
export HOPTRACE_SOCKET
run 3 status
stderr_has 'absent\.sock'
unset HOPTRACE_SOCKET

# A daemon that never answers: the CLI gives up after its timeout.
start silent
run 3 status -s "$sock"
stderr_has 'no answer from hoptraced within 5 s'
run 3 cdr import -s "$sock" small.csv
stderr_has 'no answer from hoptraced within 5 s'
stop
run 3 cdr stats -s "$WORK/absent.sock"
stderr_has "cannot connect to $WORK/absent\\.sock"
HOPTRACE_SOCKET=$WORK/absent.sock
export HOPTRACE_SOCKET
run 3 audit
stderr_has 'absent\.sock'
unset HOPTRACE_SOCKET

# On a terminal, a long import shows its progress: rows/s, % and ETA.
if command -v script >/dev/null 2>&1 && script -qc true /dev/null >/dev/null 2>&1; then
	start slow
	last="script -qc 'hoptrace cdr import big.csv'"
	script -qc "'$HT' cdr import -s '$sock' big.csv" /dev/null >stderr 2>&1 </dev/null
	stderr_has '[0-9]+ rows, [0-9]+ rows/s, [0-9]+%, ETA [0-9]+:[0-9][0-9]:[0-9][0-9]'
	stderr_has 'imported +39998'
	script -qc "'$HT' cdr import --quiet -s '$sock' big.csv" /dev/null >stderr 2>&1 </dev/null
	grep -q 'ETA' stderr && fail "cdr import --quiet: a progress line"
	ok
	stop
fi

# --- usage ----------------------------------------------------------------------

run 2 status extra
stderr_has 'unexpected argument'
run 2 status -s
stderr_has 'needs a value'
run 2 peers --bogus
stderr_has 'usage: hoptrace peers'
run 0 status --help
stdout_has 'usage: hoptrace status \[-s SOCKET\] \[--json\]'
run 2 cdr import
stderr_has 'which file'
run 2 cdr import a.csv b.csv
stderr_has "unexpected argument 'b\.csv'"
run 2 cdr stats extra
stderr_has 'usage: hoptrace cdr stats'
run 2 cdr lookup --calling 1 --called 2
stderr_has '--calling, --called and --time are required'
run 2 cdr lookup --calling 2025550143 --called 2025550199 --time yesterday
stderr_has "--time: 'yesterday' is not RFC 3339"
run 2 cdr lookup --calling 2025550143 --called 2025550199 --time 0 --tolerance -1
stderr_has '--tolerance'
run 2 cdr lookup --calling 2025550143 --called 2025550199 --time 0 --tolerance 0.0001
stderr_has '--tolerance'
run 2 cdr lookup --calling 123456789012345678901234567890123 --called 1 --time 0
stderr_has '--calling: not a phone number'
run 2 audit --trace abc
stderr_has '--trace: a trace ID is 32 hex digits'
run 2 audit --peer 'bad id'
stderr_has "--peer: 'bad id' is not a provider ID"
run 2 audit --limit 0
stderr_has '--limit: a number from 1 to 10000'
run 2 audit --limit 10001
stderr_has '--limit'
run 2 audit --since 2026-01-02T00:00:00Z --until 2026-01-01T00:00:00Z
stderr_has '--until is before --since'
run 0 cdr import --help
stdout_has 'usage: hoptrace cdr import FILE\|- \[-s SOCKET\] \[--json\] \[--quiet\]'
run 0 audit --help
stdout_has 'usage: hoptrace audit '
run 2 trace start --calling 1 --called 2
stderr_has '--calling, --called and --time are required'
run 2 trace start --calling 1 --called 2 --time 0
stderr_has "--time: '0' is not RFC 3339"
run 2 trace start --calling 1 --called 2 --time 1 --tolerance 301
stderr_has '--tolerance: .* from 0\.001 to 300'
run 2 trace start --calling 1 --called 2 --time 1 --tolerance 0
stderr_has '--tolerance'
run 2 trace start --calling 1 --called 2 --time 1 --to 'not an id'
stderr_has "--to: 'not an id' is not a provider ID"
run 2 trace start --calling 1 --called 2 --time 1 --label "$(printf 'two\nlines')"
stderr_has '--label: at most 128 bytes of text'
run 2 trace show
stderr_has 'which trace'
run 2 trace show 5c5c
stderr_has "'5c5c' is not a trace ID"
run 2 trace show 5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5g
stderr_has 'is not a trace ID'
run 2 trace export 5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c
stderr_has '-o FILE is required'
run 2 trace list --limit 1001
stderr_has '--limit: a number from 1 to 1000'
run 0 trace start --help
stdout_has 'usage: hoptrace trace start --calling NUMBER --called NUMBER --time TIME'

echo "$passed passed, 0 failed"
