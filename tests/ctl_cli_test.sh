#!/bin/sh
# End-to-end test of `hoptrace status` and `hoptrace peers` against
# ctl_fake_server, a stand-in for hoptraced's control socket that answers
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
stop

# The daemon refuses the request.
start error
run 3 status -s "$sock"
stderr_has 'refused the status request: error: the peer table is not ready'
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
stop

# --- usage ----------------------------------------------------------------------

run 2 status extra
stderr_has 'unexpected argument'
run 2 status -s
stderr_has 'needs a value'
run 2 peers --bogus
stderr_has 'usage: hoptrace peers'
run 0 status --help
stdout_has 'usage: hoptrace status \[-s SOCKET\] \[--json\]'

echo "$passed passed, 0 failed"
