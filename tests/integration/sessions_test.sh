#!/bin/sh
# Integration test: real hoptraced processes on loopback with freshly made
# anchors and certificates.
#   - three daemons connect; `hoptrace peers --json` shows every session up;
#   - a peer that stops answering is detected as dead, and comes back;
#   - a daemon killed with SIGKILL and started again: sessions come back;
#   - SIGHUP after adding a peer: the new session comes up, others stay;
#   - clients that send garbage, an oversized frame or nothing are dropped
#     within the handshake timeout while the daemon keeps its peers;
#   - refused, with the reason in the log: a certificate from another
#     anchor, an expired one, a revoked one, a Noise key that is not the
#     certificate's, an unconfigured provider ID, another protocol version;
#   - `hoptraced -n` on a broken configuration names file:line.
#
# usage: sessions_test.sh BINDIR
set -u
bin=$(cd "$1" && pwd)
HT=$bin/hoptrace
HD=$bin/hoptraced
W=$(mktemp -d "${TMPDIR:-/tmp}/hoptrace-it.XXXXXX")
pids=""
cleanup() {
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
cd "$W"
n=0
fail() {
	echo "FAIL: $*" >&2
	for f in *.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -20 "$f" >&2; }; done
	echo "$n passed, 1 failed"
	exit 1
}
ok() { n=$((n + 1)); }

# Ports: a block chosen from the process ID, so parallel runs rarely collide.
base=$((20000 + ($$ % 20000)))
port() { echo $((base + $1)); }

"$HT" ca init -o ca >/dev/null || fail "ca init"
for c in A B C D; do
	"$HT" keygen -o "$c" >/dev/null || fail "keygen $c"
	"$HT" ca sign --ca ca --id "CARRIER-$c" --pub "$c.pub" --days 30 -o "$c.cert" >/dev/null ||
		fail "ca sign $c"
done

# Identities that A must refuse, all claiming to be CARRIER-R (a configured
# peer of A) unless said otherwise.
"$HT" ca init -o ca2 >/dev/null || fail "ca init 2"
"$HT" keygen -o R >/dev/null && "$HT" keygen -o E >/dev/null || fail "keygen R/E"
"$HT" ca sign --ca ca --id CARRIER-R --pub R.pub --days 30 -o R.cert >/dev/null &&
	"$HT" ca sign --ca ca2 --id CARRIER-R --pub R.pub --days 30 -o R-other-anchor.cert >/dev/null &&
	"$HT" ca sign --ca ca --id CARRIER-R --pub R.pub --days 1 --not-before 2020-01-01T00:00:00Z \
		-o R-expired.cert >/dev/null &&
	"$HT" ca sign --ca ca --id CARRIER-R --pub R.pub --days 30 -o R-revoked.cert >/dev/null &&
	"$HT" ca sign --ca ca --id CARRIER-E --pub E.pub --days 30 -o E.cert >/dev/null ||
	fail "ca sign (refusal cases)"
"$HT" ca revoke --ca ca --serial "$("$HT" cert show --json R-revoked.cert | jq .serial)" \
	-o ca.crl >/dev/null || fail "ca revoke"

# conf NAME INDEX PEER... (PEER is NAME:INDEX); $EXTRA is appended.
conf() {
	name=$1 idx=$2
	shift 2
	{
		printf '[identity]\nprovider_id = CARRIER-%s\nkey = %s.key\ncertificate = %s.cert\n' \
			"$name" "$name" "$name"
		printf '[trust]\nanchor = ca.pub\n[listen]\naddress = 127.0.0.1:%s\n' "$(port "$idx")"
		printf '[control]\nsocket = %s/%s.sock\n[state]\ndirectory = %s/%s.state\n' \
			"$W" "$name" "$W" "$name"
		printf '[log]\nlevel = debug\n'
		printf '[policy]\nhandshake_timeout_ms = 1000\nkeepalive_ms = 300\n'
		printf 'dead_peer_ms = 2000\nbackoff_min_ms = 100\nbackoff_max_ms = 500\n'
		for p in "$@"; do
			printf '[peer CARRIER-%s]\naddress = 127.0.0.1:%s\n' "${p%%:*}" "$(port "${p#*:}")"
		done
		printf '%b' "$EXTRA"
	} >"$name.conf"
}

start() {
	"$HD" -c "$1.conf" 2>>"$1.log" &
	eval "pid_$1=$!"
	pids="$pids $!"
}

# state_of NAME PEER: the state NAME's daemon reports for CARRIER-PEER.
state_of() {
	"$HT" peers --json -s "$W/$1.sock" 2>/dev/null |
		jq -r --arg id "CARRIER-$2" '.peers[] | select(.provider_id == $id) | .state'
}

# wait_state NAME PEER STATE [SECONDS]
wait_state() {
	i=0
	while [ $i -lt $((${4:-10} * 10)) ]; do
		[ "$(state_of "$1" "$2")" = "$3" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	fail "$1: peer $2 not $3 (is '$(state_of "$1" "$2")')"
}

EXTRA='[peer CARRIER-R]\naddress =\n[trust]\nrevocation_list = ca.crl\n'
conf A 0 B:1 C:2
EXTRA=''
conf B 1 A:0 C:2
conf C 2 A:0 B:1
"$HD" -n -c A.conf >A.norm 2>&1 || fail "hoptraced -n on a good config: $(cat A.norm)"
grep -q '^provider_id = CARRIER-A$' A.norm || fail "normalised config lacks provider_id"
ok

start A
start B
start C
for pair in A:B A:C B:A B:C C:A C:B; do
	wait_state "${pair%%:*}" "${pair#*:}" established
	ok
done
peers=$("$HT" peers --json -s "$W/A.sock") || fail "peers --json"
[ "$(echo "$peers" | jq '[.peers[] | select(.state == "established")] | length')" = 2 ] ||
	fail "A: not every session established: $peers"
ok
"$HT" status --json -s "$W/A.sock" | jq -e '.peers_up == 2 and .peers_total == 3' >/dev/null ||
	fail "status: peers_up/peers_total"
ok

# Keepalives flow: round-trip times get measured.
sleep 1
"$HT" peers --json -s "$W/A.sock" | jq -e '[.peers[] | select(.rtt_us > 0)] | length == 2' \
	>/dev/null || fail "no round-trip time measured"
ok

# Refusals, each named in A's log; A's sessions stay up.
# refuse KEY CERT VERSION LOG-TEXT
refuse() {
	if "$bin/ht_peer" "$1.key" "$2" ca.pub "127.0.0.1:$(port 0)" CARRIER-A "$3" >peer.out 2>&1; then
		fail "A accepted $2 with $1.key: $(cat peer.out)"
	fi
	i=0
	until grep -q "$4" A.log; do
		[ $i -lt 30 ] || fail "A's log does not say '$4' for $2"
		sleep 0.1
		i=$((i + 1))
	done
	ok
}
"$bin/ht_peer" R.key R.cert ca.pub "127.0.0.1:$(port 0)" CARRIER-A >peer.out 2>&1 ||
	fail "the valid CARRIER-R was refused: $(cat peer.out)"
ok
refuse R R-other-anchor.cert 1 'handshake refused: issued by a key that is not a trusted anchor'
refuse R R-expired.cert 1 'handshake refused: certificate has expired'
refuse R R-revoked.cert 1 'handshake refused: certificate has been revoked'
refuse E R.cert 1 "handshake refused: the peer's Noise static key is not the one in its certificate"
refuse E E.cert 1 'handshake refused: the provider is not a configured peer'
refuse R R.cert 2 'peer speaks protocol version 2, we speak 1'
[ "$(state_of A B)" = established ] && [ "$(state_of A C)" = established ] ||
	fail "refusals disturbed A's sessions"
ok

# Clients that misbehave are dropped; the peers stay up.
for kind in garbage oversized silent; do
	start_s=$(date +%s)
	"$bin/ht_probe" 127.0.0.1 "$(port 0)" "$kind" 5 >probe.out 2>&1 ||
		fail "probe ($kind): $(cat probe.out)"
	end_s=$(date +%s)
	grep -q closed probe.out || fail "probe ($kind) not dropped: $(cat probe.out)"
	[ $((end_s - start_s)) -le 3 ] || fail "probe ($kind) dropped only after $((end_s - start_s)) s"
	ok
done
[ "$(state_of A B)" = established ] && [ "$(state_of A C)" = established ] ||
	fail "a probe disturbed A's sessions"
ok

# Stuck control clients (silent, or a frame announced and never sent) do not
# stall the daemon: the CLI is still answered at once, many times over.
probes=""
for kind in silent silent silent; do
	"$bin/ht_probe" "$W/A.sock" - "$kind" 20 >/dev/null 2>&1 &
	probes="$probes $!"
done
pids="$pids $probes"
sleep 0.3
i=0
while [ $i -lt 20 ]; do
	timeout 2 "$HT" status -s "$W/A.sock" >/dev/null || fail "status stalled by stuck control clients"
	i=$((i + 1))
done
# The stuck clients are still connected (a probe that failed would have exited).
for p in $probes; do kill -0 "$p" 2>/dev/null || fail "a stuck control client was not connected"; done
ok

# A peer that stops answering (SIGSTOP) is detected as dead after
# dead_peer_ms, and the session comes back when it resumes.
eval "kill -STOP \$pid_C"
i=0
until "$HT" peers --json -s "$W/A.sock" |
	jq -e '.peers[] | select(.provider_id == "CARRIER-C") | .last_error | startswith("dead peer")' \
		>/dev/null 2>&1; do
	[ $i -lt 60 ] || fail "A did not detect that C stopped answering"
	sleep 0.1
	i=$((i + 1))
done
[ "$(state_of A C)" != established ] || fail "A still calls the dead C established"
ok
eval "kill -CONT \$pid_C"
wait_state A C established 10
wait_state C A established 10
ok

# SIGKILL B, start it again: sessions come back without anyone acting.
eval "kill -9 \$pid_B"
wait_state A B backoff 5
ok
start B
wait_state A B established 10
wait_state B A established 10
wait_state B C established 10
ok

# SIGHUP: D joins A's configuration; A's other sessions stay.
EXTRA=''
conf D 3 A:0
EXTRA='[peer CARRIER-R]\naddress =\n[trust]\nrevocation_list = ca.crl\n'
conf A 0 B:1 C:2 D:3
EXTRA=''

start D
before=$("$HT" peers --json -s "$W/A.sock" | jq -r '.peers[] | select(.provider_id == "CARRIER-B") | .since')
eval "kill -HUP \$pid_A"
wait_state A D established 10
wait_state D A established 10
after=$("$HT" peers --json -s "$W/A.sock" | jq -r '.peers[] | select(.provider_id == "CARRIER-B") | .since')
[ "$before" = "$after" ] || fail "SIGHUP disturbed the session with B ($before -> $after)"
ok

# SIGHUP after revoking C: A drops C's session, and C cannot come back.
cp ca.crl ca.crl.1
"$HT" ca revoke --ca ca --serial "$("$HT" cert show --json C.cert | jq .serial)" --crl ca.crl \
	-o ca.crl >/dev/null || fail "revoke C"
eval "kill -HUP \$pid_A"
i=0
until grep -q "peer CARRIER-C: session closed: certificate no longer valid: certificate has been revoked" A.log; do
	[ $i -lt 50 ] || fail "A kept the session of revoked C"
	sleep 0.1
	i=$((i + 1))
done
sleep 1
[ "$(state_of A C)" != established ] || fail "revoked C came back"
[ "$(state_of A B)" = established ] && [ "$(state_of A D)" = established ] ||
	fail "revoking C disturbed A's other sessions"
ok

# SIGHUP with the older list back in place: refused, nothing un-revoked.
cp ca.crl ca.crl.2
cp ca.crl.1 ca.crl
eval "kill -HUP \$pid_A"
i=0
until grep -q "reload refused.*older than the one in force" A.log; do
	[ $i -lt 50 ] || fail "A accepted an older revocation list"
	sleep 0.1
	i=$((i + 1))
done
sleep 0.5
[ "$(state_of A C)" != established ] || fail "the rollback let revoked C back in"
cp ca.crl.2 ca.crl
ok

# A broken configuration is named by file and line.
printf '[identity]\nprovider_id = CARRIER-A\n[listen]\naddress = nowhere\n' >broken.conf
if "$HD" -n -c broken.conf 2>err.txt; then fail "hoptraced -n accepted a broken config"; fi
grep -q 'broken.conf:4:' err.txt || fail "error does not name broken.conf:4: $(cat err.txt)"
ok

# SIGTERM stops every daemon cleanly and removes its control socket.
for d in A B C D; do eval "kill -TERM \$pid_$d"; done
for d in A B C D; do eval "wait \$pid_$d" || fail "$d exited non-zero on SIGTERM"; done
for d in A B C D; do [ ! -e "$W/$d.sock" ] || fail "$d left its control socket"; done
ok
echo "$n passed, 0 failed"
