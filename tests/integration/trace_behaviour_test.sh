#!/bin/sh
# Integration test of traceback behaviour from the initiator's side, on real
# daemons with real records: TERM (initiator role) terminated call A, which
# came TERM <- B1 <- B2 <- ORIGIN (ORIGIN's customer placed it), and call F,
# which B1's records show from two upstreams, B2 (where it originated) and C2
# (which has no record of it), and call G, which B2 got from OFFNET, a
# carrier that does not run HopTrace (trunk groups only, nobody's peer).
# CONS, a consortium initiator (ht_tracer), is a peer of TERM.
#   - the full CLI path: `hoptrace trace start --watch` from TERM over the
#     4-daemon chain to the origin, `trace show`, `trace list`, `trace
#     export`, then `hoptrace verify` (the path printed; --json; --dot);
#   - a fork: B1 names two upstreams, the result is a tree with both
#     branches answered;
#   - a path that ends at a non-participant: B2's signed dead end
#     (upstream_not_participant) closes its branch to OFFNET in --watch,
#     `trace show` and the verified bundle: no origin, no open branch;
#   - an expired request is refused as expired (and audited);
#   - the initiator killed (SIGKILL, then SIGTERM) mid-trace while ORIGIN
#     is stopped: after a restart `trace show` says interrupted with the
#     answers it had, `trace list` lists it, its evidence still verifies.
#
# usage: trace_behaviour_test.sh BINDIR
set -u
here=$(cd "$(dirname "$0")" && pwd)
bin=$(cd "$1" && pwd)
TR=$bin/ht_tracer
# shellcheck source-path=SCRIPTDIR source=tracenet.sh
. "$here/tracenet.sh"
n=0
fail() {
	echo "FAIL: $*" >&2
	for id in TERM B1 B2 ORIGIN C2; do
		[ -n "$NET_DIR" ] && echo "--- $id's log:" >&2 && tail -n 8 "$(net_log "$id")" >&2
	done
	echo "$n passed, 1 failed"
	exit 1
}
ok() { n=$((n + 1)); }

net_init "" "$bin" || fail "net_init"
W=$NET_DIR
cd "$W" || fail "cd $W"

CALLED=+13035550199
A=+12025550123 # the chain
F=+12025550177 # the fork
G=+12025550188 # from a non-participant
# Recent calls (older ones would go at a restart: [store] retention_days).
T0=$((($(date +%s) - 900) / 60 * 60000))
when=$(date -u -d "@$((T0 / 1000 + 1))" +%Y-%m-%dT%H:%M:%S.500Z) # T0 + 1500

net_carrier TERM --initiator || fail "carrier TERM"
for c in B1 B2 ORIGIN C2; do
	net_carrier $c || fail "carrier $c"
done
net_carrier OFFNET --no-daemon || fail "carrier OFFNET"
net_link TERM B1 && net_link B1 B2 && net_link B2 ORIGIN && net_link B1 C2 &&
	net_link B2 OFFNET || fail "links"
net_conf TERM '[peer CONS]\naddress =' || fail "conf TERM"
mkdir -p CONS
"$NET_HT" keygen -o CONS/CONS >/dev/null &&
	"$NET_HT" ca sign --ca anchor --id CONS --pub CONS/CONS.pub --days 30 --role initiator \
		-o CONS/CONS.cert >/dev/null || fail "keys of CONS"
net_start && net_wait_established || fail "start"

hdr='time,calling,called,in_trunk,out_trunk,customer_ref,attestation'
# rows CARRIER LINE...: LINE is "OFFSET_MS CALLING IN OUT [CUSTOMER ATTESTATION]".
rows() {
	c=$1
	shift
	{
		echo "$hdr"
		for l in "$@"; do
			# shellcheck disable=SC2086 # the fields of one row
			set -- $l
			echo "$((T0 + $1)),$2,$CALLED,$3,$4,${5:-},${6:-}"
		done
	} >"$c.csv"
	net_import "$c" "$c.csv" || fail "import $c: $(cat "c/$c/import.err")"
}
# Call G at B2: route advance, first to ORIGIN (refused there), then twice
# to B1; B1's question matches the two legs handed to B1, both from OFFNET.
rows TERM "1500 $A TG-B1 TG-LOCAL" "60000 $F TG-B1 TG-LOCAL" "120000 $G TG-B1 TG-LOCAL"
rows B1 "1300 $A TG-B2 TG-TERM" "59800 $F TG-B2 TG-TERM" "59900 $F TG-C2 TG-TERM" \
	"119800 $G TG-B2 TG-TERM"
rows B2 "1200 $A TG-ORIGIN TG-B1" "59700 $F TG-LOCAL TG-B1 cust-f A" \
	"119300 $G TG-OFFNET TG-ORIGIN" "119500 $G TG-OFFNET TG-B1" "119600 $G TG-OFFNET TG-B1"
rows ORIGIN "1000 $A TG-LOCAL TG-B2 cust-a A"
rows C2 "59000 +12025550100 TG-LOCAL TG-B1"
ok

has() { grep -Eq -- "$2" "$1" || fail "$1: no line matching '$2': $(cat "$1")"; }
jqe() { jq -e "$2" "$1" >/dev/null || fail "$1: not ($2): $(cat "$1")"; }

# ---- the full CLI path ---------------------------------------------------------

k=0
net_ht TERM trace start --calling "$A" --called "$CALLED" --time $((T0 + 1500)) \
	--label campaign-7 --watch >watch.out 2>watch.err || k=$?
[ $k = 0 ] || fail "trace start --watch exited $k: $(cat watch.err watch.out)"
id=$(sed -n '1s/^trace \([0-9a-f]\{32\}\)$/\1/p' watch.out)
[ -n "$id" ] || fail "trace start --watch: no ID first: $(cat watch.out)"
ms='  \([0-9]+\.[0-9] ms\)$'
ref='[0-9a-f]{32}' # ORIGIN's customer reference, opaque by default
has watch.out "^hop 0  TERM  found  <- B1$ms"
has watch.out "^  hop 1  B1  found  <- B2$ms"
has watch.out "^    hop 2  B2  found  <- ORIGIN$ms"
has watch.out "^      hop 3  ORIGIN  found  origin \(customer $ref\)$ms"
has watch.out "^result: complete, origin ORIGIN \(customer $ref\)$"
has watch.out '^path: ORIGIN -> B2 -> B1 -> TERM$'
[ "$(grep -c '^ *hop ' watch.out)" = 4 ] || fail "watch printed other hops: $(cat watch.out)"
grep -q 'REJECTED\|open:\|dead end' watch.out && fail "watch: $(cat watch.out)"
ok

net_ht TERM trace show "$id" >show.out || fail "trace show"
has show.out "^trace $id  complete$"
has show.out "^call 12025550123 -> 13035550199 at $when \\+/- 5.000 s\$"
has show.out '^started .* by TERM, hop limit 16, label: campaign-7$'
has show.out "^      hop 3  ORIGIN  found  origin \(customer $ref\)$ms"
has show.out '^path: ORIGIN -> B2 -> B1 -> TERM$'
net_ht TERM trace show "$id" --json >show.json || fail "trace show --json"
jqe show.json '.status == "complete" and .initiator == "TERM" and .calling == "12025550123" and
	.called == "13035550199" and .call_time_ms == '$((T0 + 1500))' and .to == null and
	.label == "campaign-7" and .finished_ms >= .started_ms and
	[.answers[] | [.provider_id, .hop, .asked_by, .status, .verdict, .parent]] ==
	[["TERM", 0, "TERM", "found", "ok", null], ["B1", 1, "TERM", "found", "ok", 0],
	 ["B2", 2, "B1", "found", "ok", 1], ["ORIGIN", 3, "B2", "found", "ok", 2]] and
	.answers[3].calls[0].originated_here and .answers[3].calls[0].attestation == "A" and
	.answers[3].calls[0].record_time_ms == '$((T0 + 1000))' and
	.origin == "ORIGIN" and .path == ["ORIGIN", "B2", "B1", "TERM"] and .open_branches == 0'
cref=$(jq -r '.answers[3].calls[0].customer_ref' show.json)
net_ht TERM trace list >list.out || fail "trace list"
grep -Eq "^$id +[-0-9T:.]+Z +complete +4 +ORIGIN +campaign-7 *$" list.out ||
	fail "trace list: $(cat list.out)"
net_ht TERM trace list --json >list.json || fail "trace list --json"
jqe list.json '.truncated == false and (.traces | length) == 1 and .traces[0].trace_id == "'"$id"'"
	and .traces[0].status == "complete" and .traces[0].answers == 4 and
	.traces[0].origin == "ORIGIN"'
ok

net_ht TERM trace export "$id" -o chain.bundle >export.out || fail "trace export"
[ -s chain.bundle ] || fail "trace export wrote nothing"
k=0
"$NET_HT" verify chain.bundle --anchor anchor.pub >verify.out 2>verify.err || k=$?
[ $k = 0 ] || fail "verify exited $k: $(cat verify.err)"
has verify.out "^trace +$id$"
has verify.out "^call +12025550123 -> 13035550199 at $when "
has verify.out '^hop 0  TERM  found  \(asked by TERM, '
has verify.out '^  hop 1  B1  found  \(asked by TERM, '
has verify.out '^    hop 2  B2  found  \(asked by B1, '
has verify.out '^      hop 3  ORIGIN  found  \(asked by B2, '
has verify.out "originated here \(customer $cref\)$"
has verify.out '^evidence verified: 4 answers, origin ORIGIN reached$'
"$NET_HT" verify chain.bundle --anchor anchor.pub --json --dot chain.dot >verify.json ||
	fail "verify --json --dot"
jqe verify.json '.verified and .answers == 4 and .origin_found and .open_branches == 0 and
	.request.trace_id == "'"$id"'" and .request.initiator == "TERM" and
	.calling == "12025550123" and .called == "13035550199" and
	.origins == [{"provider": "ORIGIN", "hop": 3, "customer_ref": "'"$cref"'"}] and
	(.tree | length) == 1 and .tree[0].provider == "TERM" and
	.tree[0].children[0].provider == "B1" and
	.tree[0].children[0].children[0].provider == "B2" and
	.tree[0].children[0].children[0].children[0].provider == "ORIGIN" and
	.tree[0].children[0].children[0].children[0].asked_by == "B2"'
head -1 chain.dot | grep -q '^digraph ' || fail "--dot: not a digraph: $(head -3 chain.dot)"
for e in '"ORIGIN" -> "B2"' '"B2" -> "B1"' '"B1" -> "TERM"'; do
	grep -qF "$e" chain.dot || fail "--dot: no edge $e: $(cat chain.dot)"
done
tail -1 chain.dot | grep -qx '}' || fail "--dot: not closed"
# The bundle is the evidence: any other anchor rejects it.
"$NET_HT" ca init -o other >/dev/null || fail "ca init"
"$NET_HT" verify chain.bundle --anchor other.pub >/dev/null 2>&1 && fail "verify: another anchor accepted"
ok

# ---- a fork: B1 got call F from B2 and from C2 -----------------------------------

k=0
net_ht TERM trace start --calling "$F" --called "$CALLED" --time $((T0 + 60000)) \
	--watch --json >fork.json 2>fork.err || k=$?
[ $k = 0 ] || fail "fork: trace start exited $k: $(cat fork.err fork.json)"
jqe fork.json '.status == "complete" and .origin == "B2" and .path == ["B2", "B1", "TERM"] and
	.open_branches == 0 and (.answers | length) == 4 and
	([.answers[] | select(.verdict == "ok")] | length) == 4'
b1=$(jq '[.answers[] | select(.provider_id == "B1")] | .[0].index' fork.json)
jqe fork.json '(.answers[] | select(.provider_id == "B1") | .hop == 1 and .status == "found" and
		([.calls[] | [.upstream, .record_time_ms]] | sort) ==
		[["B2", '$((T0 + 59800))'], ["C2", '$((T0 + 59900))']]) and
	(.answers[] | select(.provider_id == "B2") | .hop == 2 and .asked_by == "B1" and
		.status == "found" and .parent == '"$b1"' and .calls[0].originated_here and
		.window_time_ms == '$((T0 + 59800))') and
	(.answers[] | select(.provider_id == "C2") | .hop == 2 and .asked_by == "B1" and
		.status == "not_found" and .parent == '"$b1"' and
		.window_time_ms == '$((T0 + 59900))')'
net_ht TERM trace export "$(jq -r .trace_id fork.json)" -o fork.bundle >/dev/null ||
	fail "fork: export"
"$NET_HT" verify fork.bundle --anchor anchor.pub --json >fork.vjson || fail "fork: verify"
jqe fork.vjson '.verified and .answers == 4 and .open_branches == 0 and
	.tree[0].children[0].provider == "B1" and
	([.tree[0].children[0].children[] | [.provider, .status]] | sort) ==
	[["B2", "found"], ["C2", "not_found"]] and .tree[0].children[0].open == []'
"$NET_HT" verify fork.bundle --anchor anchor.pub >fork.vout || fail "fork: verify"
has fork.vout '^    hop 2  B2  found  \(asked by B1, '
has fork.vout '^    hop 2  C2  not_found  \(asked by B1, '
ok

# ---- a path that ends at a non-participant -----------------------------------------

k=0
net_ht TERM trace start --calling "$G" --called "$CALLED" --time $((T0 + 120000)) \
	--watch >offnet.out 2>offnet.err || k=$?
[ $k = 1 ] || fail "offnet: --watch exited $k, not 1 (no origin): $(cat offnet.err offnet.out)"
gid=$(sed -n '1s/^trace \([0-9a-f]\{32\}\)$/\1/p' offnet.out)
[ -n "$gid" ] || fail "offnet: no trace ID first: $(cat offnet.out)"
has offnet.out "^hop 0  TERM  found  <- B1$ms"
has offnet.out "^  hop 1  B1  found  <- B2$ms"
has offnet.out "^    hop 2  B2  found  <- OFFNET; <- OFFNET$ms"
has offnet.out "^      hop 2  B2  dead_end  at OFFNET: upstream_not_participant$ms"
has offnet.out '^result: complete, no origin found$'
has offnet.out '^  dead end: B2 \(hop 2\) at OFFNET: upstream_not_participant$'
[ "$(grep -c '^ *hop ' offnet.out)" = 4 ] || fail "offnet: other hops: $(cat offnet.out)"
grep -q 'REJECTED\|open:\|rejected\|^path' offnet.out && fail "offnet: watch: $(cat offnet.out)"
net_ht TERM trace show "$gid" --json >offnet.json || fail "offnet: trace show --json"
jqe offnet.json '.status == "complete" and .origin == null and .path == [] and
	.open_branches == 0 and
	[.answers[] | [.provider_id, .hop, .asked_by, .status, .reason, .upstream, .verdict,
		.parent]] ==
	[["TERM", 0, "TERM", "found", null, null, "ok", null],
	 ["B1", 1, "TERM", "found", null, null, "ok", 0],
	 ["B2", 2, "B1", "found", null, null, "ok", 1],
	 ["B2", 2, "B1", "dead_end", "upstream_not_participant", "OFFNET", "ok", 2]] and
	[.answers[2].calls[] | [.upstream, .record_time_ms]] ==
	[["OFFNET", '$((T0 + 119500))'], ["OFFNET", '$((T0 + 119600))']]'
net_ht TERM trace show "$gid" >offnet.show || fail "offnet: trace show"
has offnet.show "^      hop 2  B2  dead_end  at OFFNET: upstream_not_participant$ms"
has offnet.show '^result: complete, no origin found$'
grep -q 'REJECTED\|open:' offnet.show && fail "offnet: trace show: $(cat offnet.show)"
net_ht TERM trace export "$gid" -o offnet.bundle >/dev/null || fail "offnet: export"
k=0
"$NET_HT" verify offnet.bundle --anchor anchor.pub >offnet.vout 2>offnet.verr || k=$?
[ $k = 0 ] || fail "offnet: verify exited $k: $(cat offnet.verr)"
has offnet.vout '^      dead end at OFFNET: upstream_not_participant \(stated by B2 at hop 2, '
has offnet.vout '^evidence verified: 4 answers, no origin reached, 0 open branches$'
grep -q 'branch open' offnet.vout && fail "offnet: verify: $(cat offnet.vout)"
"$NET_HT" verify offnet.bundle --anchor anchor.pub --json >offnet.vjson || fail "offnet: verify"
jqe offnet.vjson '.verified and .answers == 4 and (.origin_found | not) and
	.open_branches == 0 and .origins == [] and
	(.tree[0].children[0].children[0] | .provider == "B2" and .open == [] and
		[.children[] | [.status, .upstream, .reason]] ==
		[["dead_end", "OFFNET", "upstream_not_participant"]])'
ok

# ---- an expired request ---------------------------------------------------------

"$TR" ask --key CONS/CONS.key --cert CONS/CONS.cert --anchor anchor.pub \
	--daemon "TERM@127.0.0.1:$(net_port TERM)" --calling "$A" --called "$CALLED" \
	--time $((T0 + 1500)) --created -120000 --expires -60000 >expired.out 2>&1 ||
	fail "expired: $(cat expired.out)"
has expired.out '^answer .* hop=0 provider=TERM asked_by=CONS status=refused reason=expired upstream=- .*calls=- verified=yes'
has expired.out '^summary sent=1 answers=1 verified=1 bad=0 completes=1 errors=0'
tid=$(sed -n 's/^request trace=\([0-9a-f]*\) .*/\1/p' expired.out)
net_ht TERM audit --json --trace "$tid" >expired.audit || fail "audit"
jqe expired.audit '.entries | length == 1 and .[0].status == "refused:expired" and
	.[0].asking_peer == "CONS" and .[0].initiator == "CONS" and .[0].disclosed == ""'
# The same request unexpired is answered: the refusal was the expiry.
"$TR" ask --key CONS/CONS.key --cert CONS/CONS.cert --anchor anchor.pub \
	--daemon "TERM@127.0.0.1:$(net_port TERM)" --calling "$A" --called "$CALLED" \
	--time $((T0 + 1500)) >fresh.out 2>&1 || fail "fresh: $(cat fresh.out)"
has fresh.out '^answer .* hop=0 provider=TERM asked_by=CONS status=found .*calls=up:B1@'
ok

# ---- the initiator killed mid-trace -------------------------------------------------

# interrupted SIGNAL NAME: ORIGIN stopped, a trace of call A from TERM waits
# for it with 3 answers; TERM gets SIGNAL (TERM: net_stop, which wants exit
# status 0) and is started again.
interrupted() {
	wait_peer TERM B1
	wait_peer B2 ORIGIN
	net_kill ORIGIN STOP || fail "$2: stop ORIGIN"
	net_ht TERM trace start --calling "$A" --called "$CALLED" --time $((T0 + 1500)) \
		--label "$2" >"$2.id" 2>"$2.err" || fail "$2: trace start: $(cat "$2.err")"
	tid=$(cat "$2.id")
	i=0
	until net_ht TERM trace show "$tid" --json >"$2.before" &&
		jq -e '(.answers | length) == 3' "$2.before" >/dev/null; do
		[ $i -lt 50 ] || fail "$2: 3 answers never came: $(cat "$2.before")"
		sleep 0.1
		i=$((i + 1))
	done
	jqe "$2.before" '.status == "running" and
		[.answers[] | .provider_id] == ["TERM", "B1", "B2"]'
	if [ "$1" = TERM ]; then
		net_stop TERM || fail "$2: TERM did not stop cleanly" # exit 0, socket gone
	else
		net_kill TERM "$1" || fail "$2: kill TERM"
	fi
	net_kill ORIGIN CONT || fail "$2: continue ORIGIN"
	net_start TERM || fail "$2: restart TERM"
	net_ht TERM trace show "$tid" --json >"$2.after" || fail "$2: trace show after the restart"
	jqe "$2.after" '.status == "interrupted" and .trace_id == "'"$tid"'" and
		.finished_ms >= .started_ms and .open_branches == 1 and .origin == null and
		[.answers[] | [.provider_id, .hop, .status, .verdict]] ==
		[["TERM", 0, "found", "ok"], ["B1", 1, "found", "ok"], ["B2", 2, "found", "ok"]]'
	jq '.answers | map(del(.index))' "$2.before" >"$2.a1"
	jq '.answers | map(del(.index))' "$2.after" >"$2.a2"
	cmp -s "$2.a1" "$2.a2" || fail "$2: the answers changed across the restart"
	net_ht TERM trace show "$tid" >"$2.show" || fail "$2: trace show"
	has "$2.show" "^trace $tid  interrupted$"
	has "$2.show" '^result: interrupted, no origin found$'
	has "$2.show" '^  open: B2 \(hop 2\) named ORIGIN, which has not answered$'
	net_ht TERM trace export "$tid" -o "$2.bundle" >/dev/null || fail "$2: export"
	"$NET_HT" verify "$2.bundle" --anchor anchor.pub --json >"$2.vjson" || fail "$2: verify"
	jqe "$2.vjson" '.verified and .answers == 3 and (.origin_found | not) and
		.open_branches == 1 and .tree[0].children[0].children[0].open == ["ORIGIN"]'
}
# wait_peer A B: A's session with B is up (5 s).
wait_peer() {
	i=0
	until [ "$(net_ht "$1" peers --json | jq -r --arg p "$2" \
		'.peers[] | select(.provider_id == $p) | .state')" = established ]; do
		[ $i -lt 50 ] || fail "$1 has no session with $2"
		sleep 0.1
		i=$((i + 1))
	done
}
# ORIGIN is stopped for well under B2's dead_peer_ms (5 s, tracenet's), so
# that B2 waits for it rather than naming it unreachable; its late answer
# is dropped at B1, which dropped the trace when TERM's session closed.
interrupted KILL killed
interrupted TERM stopped
killed=$(cat killed.id)
stopped=$(cat stopped.id)
net_ht TERM trace list --json >list2.json || fail "trace list"
jqe list2.json '[.traces[] | [.trace_id, .status, .answers]] | .[0:2] ==
	[["'"$stopped"'", "interrupted", 3], ["'"$killed"'", "interrupted", 3]]'
jqe list2.json '[.traces[] | select(.trace_id == "'"$id"'") | .status] == ["complete"]'
jqe list2.json '(.traces | length) == 5'
net_ht TERM trace list >list2.out || fail "trace list"
grep -Eq "^$killed +[-0-9T:.]+Z +interrupted +3 +- +killed *$" list2.out ||
	fail "trace list: $(cat list2.out)"
ok

net_stop || fail "stop"
echo "$n passed, 0 failed"
