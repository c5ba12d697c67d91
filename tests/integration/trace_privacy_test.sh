#!/bin/sh
# Integration test of traceback's privacy properties (issue 5, P1 to P4),
# each by a test that tries to break it, on real daemons with real records.
# TERM (a real hoptraced with the initiator role, driven by `hoptrace trace
# start`) terminated a call that RELAY handed it; RELAY got it from ORIGIN,
# whose customer placed it. RELAY is ht_tracer relay, a middle hop that is
# honest or not; PROBE is a peer of TERM and ORIGIN that asks what it should
# not be told.
#   P1  ORIGIN, asked by PROBE about the call it handed to RELAY: not_found,
#       and its audit entry discloses nothing; TERM asked at hop 0 by PROBE
#       (with TERM's own request, or one PROBE signed): refused.
#   P2  no phone number in any form in what RELAY decrypted from its
#       sessions, in the daemons' logs at the default level, in the answers.
#   P3  RELAY cannot open the answers it relays; their sealed bytes hold
#       neither ORIGIN's provider ID nor its customer reference (which the
#       opened answer does hold).
#   P4  RELAY flips, swaps in, forges or drops ORIGIN's answer: TERM marks it
#       rejected with the reason, or the branch open; the exported bundle
#       verifies without it; `hoptrace verify` rejects bundles with the
#       altered, swapped or forged answer spliced in, naming it.
#
# usage: trace_privacy_test.sh BINDIR
set -u
here=$(cd "$(dirname "$0")" && pwd)
bin=$(cd "$1" && pwd)
TR=$bin/ht_tracer
# shellcheck source-path=SCRIPTDIR source=tracenet.sh
. "$here/tracenet.sh"
n=0
tracers=""
fail() {
	echo "FAIL: $*" >&2
	for id in TERM ORIGIN; do
		[ -n "$NET_DIR" ] && echo "--- $id's log:" >&2 && tail -n 10 "$(net_log "$id")" >&2
	done
	echo "$n passed, 1 failed"
	exit 1
}
ok() { n=$((n + 1)); }
cleanup() {
	for p in $tracers; do kill -9 "$p" 2>/dev/null; done
	net_cleanup
}

# shellcheck disable=SC2034 # tracenet.sh reads it
NET_LOG_LEVEL=info # hoptraced's default level, for P2
net_init "" "$bin" || fail "net_init"
trap cleanup EXIT
W=$NET_DIR
cd "$W" || fail "cd $W"

CALLING=+12025550123
CALLED=+13035550199
T0=$((($(date +%s) - 900) / 60 * 60000)) # a recent call
CUST=cust-77-zq

net_carrier TERM --initiator || fail "carrier TERM"
net_carrier RELAY --no-daemon || fail "carrier RELAY" # ht_tracer, keys below
net_carrier ORIGIN || fail "carrier ORIGIN"
net_link TERM RELAY || fail "link"
net_link RELAY ORIGIN || fail "link"
# RELAY and PROBE dial the daemons.
net_conf TERM '[peer RELAY]\naddress =\n[peer PROBE]\naddress =' || fail "conf TERM"
net_conf ORIGIN '[peer RELAY]\naddress =\n[peer PROBE]\naddress =\n[policy]
disclose_customer = reference' || fail "conf ORIGIN"
for k in RELAY PROBE; do
	mkdir -p "$W/$k"
	"$NET_HT" keygen -o "$W/$k/$k" >/dev/null &&
		"$NET_HT" ca sign --ca "$W/anchor" --id "$k" --pub "$W/$k/$k.pub" --days 30 \
			-o "$W/$k/$k.cert" >/dev/null || fail "keys of $k"
done
net_start && net_wait_established || fail "start"
pT=$(net_port TERM)
pO=$(net_port ORIGIN)

hdr='time,calling,called,in_trunk,out_trunk,customer_ref,attestation'
printf '%s\n%s,%s,%s,TG-RELAY,TG-LOCAL,,\n' "$hdr" $((T0 + 1500)) "$CALLING" "$CALLED" >term.csv
printf '%s\n%s,%s,%s,TG-LOCAL,TG-RELAY,%s,A\n' "$hdr" $((T0 + 1000)) "$CALLING" "$CALLED" \
	"$CUST" >origin.csv
net_import TERM term.csv || fail "import TERM: $(cat "$W/c/TERM/import.err")"
net_import ORIGIN origin.csv || fail "import ORIGIN: $(cat "$W/c/ORIGIN/import.err")"
ok

# ---- helpers ----------------------------------------------------------------

# has FILE REGEX: FILE has a line matching the extended REGEX.
has() { grep -Eq -- "$2" "$1" || fail "$1: no line matching '$2': $(cat "$1")"; }

# The protobuf of evidence bundles (EvidenceBundle: answers are field 5),
# and a search of raw bytes, in perl (Debian's perl-base is essential).
PB='
use strict;
sub rv { my ($b, $p) = @_; my ($v, $s) = (0, 0);
	while (1) { die "truncated\n" if $$p >= length $b;
		my $c = ord substr($b, $$p++, 1); $v |= ($c & 0x7f) << $s; $s += 7;
		last unless $c & 0x80; } $v }
sub wv { my $v = shift; my $o = "";
	while ($v >= 0x80) { $o .= chr(($v & 0x7f) | 0x80); $v >>= 7 } $o . chr($v) }
sub fields { my $b = shift; my $p = 0; my @f;
	while ($p < length $b) { my $k = rv($b, \$p); my ($n, $t) = ($k >> 3, $k & 7);
		if ($t == 0) { push @f, [$n, $t, rv($b, \$p)] }
		elsif ($t == 2) { my $l = rv($b, \$p); die "truncated\n" if $p + $l > length $b;
			push @f, [$n, $t, substr($b, $p, $l)]; $p += $l }
		else { die "wire type $t\n" } } @f }
sub enc { my $o = ""; for my $f (@_) { my ($n, $t, $v) = @$f;
	$o .= wv($n << 3 | $t) . ($t == 0 ? wv($v) : wv(length $v) . $v) } $o }
sub slurp { open(my $h, "<:raw", $_[0]) or die "$_[0]: $!\n"; local $/; <$h> }
sub spit { open(my $h, ">:raw", $_[0]) or die "$_[0]: $!\n"; print $h $_[1]; close $h or die }
my $cmd = shift;
if ($cmd eq "count") {
	print scalar(grep { $_->[0] == 5 } fields(slurp($ARGV[0]))), "\n";
} elsif ($cmd eq "get") {       # get BUNDLE N OUT: answer N
	my @a = grep { $_->[0] == 5 } fields(slurp($ARGV[0]));
	die "no answer $ARGV[1]\n" unless $a[$ARGV[1]]; spit($ARGV[2], $a[$ARGV[1]][2]);
} elsif ($cmd eq "put") {       # put BUNDLE N|append ANSWER OUT
	my @f = fields(slurp($ARGV[0])); my $new = slurp($ARGV[2]); my ($i, $last) = (0, -1);
	for my $k (0 .. $#f) { next unless $f[$k][0] == 5; $last = $k;
		$f[$k][2] = $new if $ARGV[1] ne "append" && $i == $ARGV[1]; $i++ }
	die "no answer $ARGV[1]\n" if $ARGV[1] ne "append" && $ARGV[1] >= $i;
	splice(@f, $last + 1, 0, [5, 2, $new]) if $ARGV[1] eq "append";
	spit($ARGV[3], enc(@f));
} elsif ($cmd eq "subst") {     # subst FILE FROM TO OUT: first FROM as TO (same length)
	my $b = slurp($ARGV[0]); my $at = index($b, $ARGV[1]);
	die "no $ARGV[1]\n" if $at < 0 || length $ARGV[1] != length $ARGV[2];
	substr($b, $at, length $ARGV[1]) = $ARGV[2]; spit($ARGV[3], $b);
} elsif ($cmd eq "unhex") {     # unhex FILE OUT: the second column of each line
	open(my $h, "<", $ARGV[0]) or die "$ARGV[0]: $!\n"; my $o = "";
	while (<$h>) { my @c = split; $o .= pack("H*", $c[1]) if @c > 1 } spit($ARGV[1], $o);
} elsif ($cmd eq "find") {      # find FILE STRING...: those found, one a line
	my $b = slurp(shift); for (@ARGV) { print "$_\n" if index($b, $_) >= 0 }
} elsif ($cmd eq "findf") {     # findf FILE LIST: the lines of LIST found in FILE
	my $b = slurp($ARGV[0]); open(my $h, "<", $ARGV[1]) or die "$ARGV[1]: $!\n";
	while (my $s = <$h>) { chomp $s; print "$ARGV[0]: $s\n" if length $s && index($b, $s) >= 0 }
} elsif ($cmd eq "verdict") {   # verdict DB VERDICT OUT: an answer record of the
	# initiator store (daemon/initiator.c, put_answer: ... verdict, length, octets)
	my $b = slurp($ARGV[0]); my $v = chr(length $ARGV[1]) . $ARGV[1];
	my $at = index($b, "\x00" . $v); die "no answer with verdict $ARGV[1]\n" if $at < 0;
	my $p = $at + 1 + length $v; my $l = unpack("N", substr($b, $p, 4));
	die "bad record\n" if $l < 64 || $l > 65536; spit($ARGV[2], substr($b, $p + 4, $l));
} else { die "pb: unknown command $cmd\n" }
'
pb() { perl -e "$PB" -- "$@"; }

# Every form of the two numbers as text (ht_tracer looks for binary forms too).
forms() {
	for d in 2025550123 3035550199; do
		a=$(echo "$d" | cut -c1-3)
		b=$(echo "$d" | cut -c4-6)
		c=$(echo "$d" | cut -c7-10)
		printf '%s\n' "1$d" "$d" "$b$c" "$a-$b-$c" "$a.$b.$c" "$a $b $c" "($a) $b" \
			"($a)$b" "$b-$c"
	done
}

# relay NAME [ht_tracer relay options]: RELAY in the background between TERM
# (below) and ORIGIN (above), for one trace; returns when both sessions are up.
relay() {
	name=$1
	shift
	: >"$name.relay"
	"$TR" relay --key RELAY/RELAY.key --cert RELAY/RELAY.cert --anchor anchor.pub \
		--down "dial:TERM@127.0.0.1:$pT" --up "dial:ORIGIN@127.0.0.1:$pO" \
		--calling "$CALLING" --called "$CALLED" --timeout 15000 "$@" >"$name.relay" 2>&1 &
	relay_pid=$!
	tracers="$tracers $relay_pid"
	i=0
	until grep -q '^ready' "$name.relay"; do
		kill -0 "$relay_pid" 2>/dev/null || fail "relay $name: $(cat "$name.relay")"
		[ $i -lt 100 ] || fail "relay $name not ready: $(cat "$name.relay")"
		sleep 0.1
		i=$((i + 1))
	done
	for id in TERM ORIGIN; do
		i=0
		until [ "$(net_ht $id peers --json | jq -r \
			'.peers[] | select(.provider_id == "RELAY") | .state')" = established ]; do
			[ $i -lt 50 ] || fail "$id has no session with RELAY"
			sleep 0.1
			i=$((i + 1))
		done
	done
}

# relay_done NAME: the relay finished its trace and exited 0, having seen no
# phone number (P2) and opened no answer (P3).
relay_done() {
	wait "$relay_pid" || fail "relay $1 exited $?: $(cat "$1.relay")"
	has "$1.relay" '^p2 numbers_in_clear=no forms=[1-9][0-9]* messages=[1-9][0-9]* bytes=[1-9]'
	has "$1.relay" '^p3 readable=no tried=[1-9][0-9]* opened=0$'
}

# trace NAME WANT_EXIT: `hoptrace trace start --watch --json` at TERM, the
# final document in NAME.json; exports the bundle into NAME.bundle.
trace() {
	k=0
	net_ht TERM trace start --calling "$CALLING" --called "$CALLED" --time $((T0 + 1500)) \
		--label "privacy $1" --watch --json >"$1.json" 2>"$1.err" || k=$?
	[ "$k" = "$2" ] || fail "trace $1 exited $k, not $2: $(cat "$1.err" "$1.json")"
	id=$(jq -r .trace_id "$1.json") || fail "trace $1: no JSON: $(cat "$1.json")"
	net_ht TERM trace export "$id" -o "$1.bundle" >/dev/null 2>"$1.err" ||
		fail "export $1: $(cat "$1.err")"
}

# jqe FILE FILTER: the filter holds on the JSON in FILE.
jqe() { jq -e "$2" "$1" >/dev/null || fail "$1: not ($2): $(cat "$1")"; }

# verify_ok FILE: hoptrace verify accepts the bundle; JSON in FILE.vjson.
verify_ok() {
	"$NET_HT" verify "$1" --anchor anchor.pub --json >"$1.vjson" 2>"$1.verr" ||
		fail "verify $1: $(cat "$1.verr")"
}

# verify_bad FILE ANSWER REGEX: verify rejects the bundle, naming answer
# ANSWER, with a reason matching REGEX.
verify_bad() {
	k=0
	"$NET_HT" verify "$1" --anchor anchor.pub --json >"$1.vjson" 2>"$1.verr" || k=$?
	[ "$k" = 1 ] || fail "verify $1 exited $k, not 1: $(cat "$1.verr" "$1.vjson")"
	jqe "$1.vjson" ".verified == false and .failed_answer == $2"
	jq -r .reason "$1.vjson" | grep -Eq -- "$3" ||
		fail "verify $1: reason '$(jq -r .reason "$1.vjson")' does not match '$3'"
	grep -Eq -- "$3" "$1.verr" || fail "verify $1: the message does not say why: $(cat "$1.verr")"
}

# ---- an honest relay: the chain to the origin --------------------------------

relay honest --save-answers honest.saved
trace honest 0
relay_done honest
has honest.relay '^forward from=down trace=[0-9a-f]{32} hop=1 .*verifies=yes'
has honest.relay '^relay trace=.* answer=1 .*action=forwarded'
has honest.relay '^complete trace=.* relayed=1'
jqe honest.json '.status == "complete" and .origin == "ORIGIN" and
	.path == ["ORIGIN", "RELAY", "TERM"] and .open_branches == 0 and
	([.answers[] | select(.verdict == "ok")] | length) == 3 and
	(.answers[] | select(.provider_id == "ORIGIN") | .hop == 2 and .asked_by == "RELAY" and
		.calls[0].originated_here and .calls[0].customer_ref == "'$CUST'")'
verify_ok honest.bundle
jqe honest.bundle.vjson '.verified and .origin_found and .answers == 3 and
	.origins[0].provider == "ORIGIN" and .origins[0].customer_ref == "'$CUST'"'
ok

# ---- P1 ----------------------------------------------------------------------

# probe NAME DAEMON PORT [ht_tracer ask options]: PROBE asks DAEMON.
probe() {
	name=$1 who=$2 port=$3
	shift 3
	"$TR" ask --key PROBE/PROBE.key --cert PROBE/PROBE.cert --anchor anchor.pub \
		--daemon "$who@127.0.0.1:$port" --called "$CALLED" --calling "$CALLING" "$@" \
		>"$name.out" 2>&1 || fail "probe $name: $(cat "$name.out")"
}
# audit_of DAEMON NAME: DAEMON's audit entry for the trace in NAME.out.
audit_of() {
	tid=$(sed -n 's/^request trace=\([0-9a-f]*\) .*/\1/p' "$2.out")
	net_ht "$1" audit --json --trace "$tid" >"$2.audit" || fail "audit $1"
	jqe "$2.audit" '.entries | length == 1'
}

# ORIGIN handed the call to RELAY; PROBE, fishing at hop 1 with a request
# TERM signed (the widest window, no hint) around ORIGIN's own record time,
# is told nothing.
probe p1-hop1 ORIGIN "$pO" --initiator-key c/TERM/TERM.key --initiator-cert c/TERM/TERM.cert \
	--tolerance 300000 --hint-bits 0 --time $((T0 + 1500)) --hop 1 --window $((T0 + 1000))
has p1-hop1.out '^answer .* hop=1 provider=ORIGIN asked_by=PROBE status=not_found reason=- upstream=- .*calls=- verified=yes'
has p1-hop1.out '^summary sent=1 answers=1 verified=1 bad=0 completes=1'
audit_of ORIGIN p1-hop1
jqe p1-hop1.audit '.entries[0] | .status == "not_found" and .disclosed == "" and
	.asking_peer == "PROBE" and .initiator == "TERM"'
# TERM terminated the call: PROBE asking at hop 1 gets nothing either.
probe p1-term1 TERM "$pT" --initiator-key c/TERM/TERM.key --initiator-cert c/TERM/TERM.cert \
	--time $((T0 + 1500)) --hop 1 --window $((T0 + 1500))
has p1-term1.out '^answer .* hop=1 provider=TERM asked_by=PROBE status=not_found .*calls=- verified=yes'
# At hop 0 only the initiator may ask: PROBE with TERM's request...
probe p1-hop0 TERM "$pT" --initiator-key c/TERM/TERM.key --initiator-cert c/TERM/TERM.cert \
	--time $((T0 + 1500))
has p1-hop0.out '^answer .* hop=0 provider=TERM asked_by=PROBE status=refused reason=policy_refused upstream=- .*calls=- verified=yes'
audit_of TERM p1-hop0
jqe p1-hop0.audit '.entries[0] | .status == "refused:policy_refused" and .disclosed == "" and
	.asking_peer == "PROBE"'
# ...or with a request it signed itself, without the initiator role.
probe p1-role TERM "$pT" --time $((T0 + 1500))
has p1-role.out '^answer .* hop=0 provider=TERM asked_by=PROBE status=refused reason=missing_role .*calls=- verified=yes'
audit_of TERM p1-role
jqe p1-role.audit '.entries[0] | .status == "refused:missing_role" and .disclosed == ""'
ok

# ---- P2 ----------------------------------------------------------------------

# RELAY found no number in what it decrypted from its sessions (relay_done,
# for each relay run); nor are any in the logs, the sealed or opened answers.
forms >forms.txt
# p2_logs: no form of either number in a daemon's log (info is the default).
p2_logs() {
	for id in TERM ORIGIN; do
		if grep -F -f forms.txt "$(net_log "$id")" >"p2-$id.log"; then
			fail "P2: $id's log holds a phone number: $(head -3 "p2-$id.log")"
		fi
	done
}
p2_logs
# The sealed answers as relayed, and the answers opened (the bundle's, not
# its opening, which holds the numbers by design).
pb unhex honest.saved honest.sealed || fail "unhex"
[ -s honest.sealed ] || fail "the relay saved no sealed answer"
pb count honest.bundle >honest.count || fail "pb count"
[ "$(cat honest.count)" = 3 ] || fail "the bundle has $(cat honest.count) answers, not 3"
: >p2.found
for f in honest.sealed honest.a0 honest.a1 honest.a2; do
	case $f in honest.a*) pb get honest.bundle "${f#honest.a}" "$f" || fail "pb get" ;; esac
	pb findf "$f" forms.txt >>p2.found || fail "pb findf"
done
[ -s p2.found ] && fail "P2: numbers in the answers: $(cat p2.found)"
# The check can find a number: the opening in the bundle is one.
pb find honest.bundle 12025550123 | grep -q . || fail "P2: the check cannot find the opening"
ok

# ---- P3 ----------------------------------------------------------------------

# RELAY opened none of the answers it relayed (relay_done, each run).
# ORIGIN's answer as opened holds its provider ID and the customer reference...
pb find honest.a2 ORIGIN "$CUST" >p3.opened
[ "$(wc -l <p3.opened)" = 2 ] || fail "P3: ORIGIN's opened answer lacks its ID or reference"
# ...the sealed bytes RELAY saw hold neither.
pb find honest.sealed ORIGIN "$CUST" >p3.sealed
[ -s p3.sealed ] && fail "P3: the sealed answers show $(cat p3.sealed)"
ok

# ---- P4 ----------------------------------------------------------------------

# p4 NAME VERDICT: ORIGIN's answer (hop 2) was rejected with VERDICT (none:
# never came), the other two kept: no origin, and the exported bundle
# verifies without it; trace show marks it rejected, hanging nowhere, and
# RELAY's branch to ORIGIN open.
p4() {
	jqe "$1.json" '.status == "complete" and .origin == null and
		([.answers[] | select(.verdict == "ok")] | map(.provider_id)) == ["TERM", "RELAY"]'
	if [ "$2" = none ]; then
		jqe "$1.json" '.answers | length == 2'
	else
		jqe "$1.json" '.answers | length == 3 and .[2].verdict == "'"$2"'"'
	fi
	verify_ok "$1.bundle"
	jqe "$1.bundle.vjson" '.verified and (.origin_found | not) and .answers == 2 and
		.open_branches == 1 and .tree[0].children[0].provider == "RELAY" and
		.tree[0].children[0].open == ["ORIGIN"]'
	net_ht TERM trace show "$(jq -r .trace_id "$1.json")" >"$1.show" || fail "show $1"
	if [ "$2" != none ]; then
		has "$1.show" "^hop [?0-9]+  [?A-Z]+  [a-z_]+ .*  REJECTED: $2$"
		jqe "$1.json" '.answers[2].parent == null'
		has "$1.show" '^  1 answer rejected \(not evidence\)$'
	fi
	has "$1.show" '^  open: RELAY \(hop 1\) named ORIGIN, which has not answered$'
	jqe "$1.json" '.open_branches == 1'
}

relay flip --tamper flip
trace flip 1
relay_done flip
has flip.relay 'action=flipped'
p4 flip decrypt_failed
ok

relay swap --tamper swap --replay-answers honest.saved
trace swap 1
relay_done swap
has swap.relay 'action=replayed'
p4 swap decrypt_failed
ok

# Forged with RELAY's own certificate, in ORIGIN's name: not even well formed.
relay forge2 --tamper forge
trace forge2 1
relay_done forge2
has forge2.relay 'action=forged'
p4 forge2 malformed
ok

relay drop --tamper drop
trace drop 1
relay_done drop
has drop.relay 'action=dropped'
p4 drop none
ok

# hoptrace verify on bundles with a bad answer spliced in, each named.
# Altered: ORIGIN's answer with another customer reference.
pb get honest.bundle 2 alt.answer && pb subst alt.answer "$CUST" "cust-99-zq" alt.answer &&
	pb put honest.bundle 2 alt.answer altered.bundle || fail "altered bundle"
verify_bad altered.bundle 2 'answer 2 \(ORIGIN, hop 2\): signature does not verify'
# Swapped: ORIGIN's answer from another trace (the honest one) in the drop trace.
pb put drop.bundle append honest.a2 swapped.bundle || fail "swapped bundle"
verify_bad swapped.bundle 2 'answer 2 \(ORIGIN, hop 2\): bound to another request'
ok

# Forged with ORIGIN's own (public) certificate, signed by RELAY.
relay forge --tamper forge --forge-cert c/ORIGIN/ORIGIN.cert
trace forge 1
relay_done forge
has forge.relay 'action=forged'
jqe forge.json '.answers[2] | .provider_id == "ORIGIN" and .hop == 2 and .asked_by == "RELAY" and
	.verdict == "bad_signature" and .calls[0].customer_ref == "FORGED-1"'
# The forgery as TERM opened and kept it, spliced into its bundle. (TERM's
# store, daemon/initiator.c put_answer: the record after its verdict.)
pb verdict c/TERM/state/traces.mdb bad_signature forged.answer ||
	fail "the forged answer is not in TERM's trace store"
pb find forged.answer "FORGED-1" | grep -q . || fail "forged.answer is not RELAY's forgery"
pb put forge.bundle append forged.answer forged.bundle || fail "forged bundle"
verify_bad forged.bundle 2 'answer 2 \(ORIGIN, hop 2\): signature does not verify'
p2_logs # again, after the rejections
p4 forge bad_signature
ok

net_stop || fail "stop"
echo "$n passed, 0 failed"
