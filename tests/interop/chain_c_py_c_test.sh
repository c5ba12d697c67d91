#!/bin/sh
# Interop, C -> Python -> C: the daemon T (initiator role) terminated a call
# that came T <- PY <- O, where PY is the Python carrier (pycarrier.py,
# written from spec/ alone) and O, a daemon, originated it. Proves:
#   - handshakes both ways between hoptraced and dissononce (each side dials;
#     simultaneous opens settle on one session, spec 8.7.5), kept up by
#     keepalives past the daemons' dead-peer timeout;
#   - `hoptrace trace start --watch` at T reaches O's origin through PY: PY
#     answers from its own CSV records (matching T's commitment and window),
#     signs and seals its answer, forwards to O and relays O's sealed answer;
#   - `trace show --json` at T: every answer verdict ok, the path O -> PY -> T;
#   - `hoptrace trace export` + `hoptrace verify` accept the bundle, and so
#     does the Python verifier (spec 11.16.2), with the same tree;
#   - a fork at PY: its records name O and OFFNET (not a HopTrace peer): O's
#     origin and PY's signed dead end (upstream_not_participant) in one
#     verified tree;
#   - PY's audit log, and that PY stops cleanly on SIGTERM.
#
# usage: chain_c_py_c_test.sh BINDIR
set -u
here=$(cd "$(dirname "$0")" && pwd)
bin=$(cd "$1" && pwd)
# shellcheck source-path=SCRIPTDIR source=../integration/tracenet.sh
. "$here/../integration/tracenet.sh"
# shellcheck source-path=SCRIPTDIR source=pynet.sh
. "$here/pynet.sh"
n=0
fail() {
	echo "FAIL: $*" >&2
	for id in T PY O; do
		[ -n "$NET_DIR" ] && echo "--- $id's log:" >&2 && tail -n 12 "$(net_log "$id")" >&2
	done
	echo "$n passed, 1 failed"
	exit 1
}
ok() { n=$((n + 1)); }
has() { grep -Eq -- "$2" "$1" || fail "$1: no line matching '$2': $(cat "$1")"; }
jqe() { jq -e "$2" "$1" >/dev/null || fail "$1: not ($2): $(cat "$1")"; }

net_init "" "$bin" && py_init "$here" || fail "init"
cd "$NET_DIR" || fail "cd"
A=+12025550123
F=+12025550177 # PY's records name two upstreams: O and OFFNET, not a HopTrace peer
CALLED=+13035550199

net_carrier T --initiator && net_carrier O && py_carrier PY || fail "carriers"
py_link T PY && py_link O PY || fail "links"
py_trunk PY TG-OFFNET OFFNET || fail "trunk"
py_rows PY "1300 $A $CALLED TG-O TG-T" "1400 +12025550999 $CALLED TG-O TG-T" \
	"60300 $F $CALLED TG-O TG-T" "60400 $F $CALLED TG-OFFNET TG-T" || fail "PY rows"
net_start || fail "start"
py_start PY || fail "start PY"
py_wait T PY && py_wait O PY || fail "sessions"
py_rows T "1500 $A $CALLED TG-PY TG-LOCAL" "60500 $F $CALLED TG-PY TG-LOCAL" || fail "T rows"
py_rows O "1000 $A $CALLED TG-LOCAL TG-PY cust-a A" "60000 $F $CALLED TG-LOCAL TG-PY" ||
	fail "O rows"
ok

# ---- keepalive: the sessions outlive the daemons' dead-peer timeout (5 s) ---------

net_ht T peers --json >peers1.json || fail "peers"
sleep 6
net_ht T peers --json >peers2.json || fail "peers"
since=$(jq '.peers[] | select(.provider_id == "PY") | .since_ms' peers1.json)
jqe peers2.json '.peers[] | select(.provider_id == "PY") | .state == "established" and
	.since_ms == '"$since"' and .rtt_us > 0 and .last_seen_ms > 0'
ok

# ---- the trace, as an operator runs it -------------------------------------------

k=0
net_ht T trace start --calling "$A" --called "$CALLED" --time $((T0 + 1500)) \
	--label interop-a --watch >watch.out 2>watch.err || k=$?
[ $k = 0 ] || fail "trace start --watch exited $k: $(cat watch.err watch.out)"
id=$(sed -n '1s/^trace \([0-9a-f]\{32\}\)$/\1/p' watch.out)
[ -n "$id" ] || fail "no trace ID: $(cat watch.out)"
ms='  \([0-9]+\.[0-9] ms\)$'
has watch.out "^hop 0  T  found  <- PY$ms"
has watch.out "^  hop 1  PY  found  <- O$ms"
has watch.out "^    hop 2  O  found  origin \(customer [0-9a-f]{32}\)$ms"
has watch.out '^path: O -> PY -> T$'
grep -q 'REJECTED\|open:\|dead end' watch.out && fail "watch: $(cat watch.out)"
ok

net_ht T trace show "$id" --json >show.json || fail "trace show"
jqe show.json '.status == "complete" and .open_branches == 0 and .origin == "O" and
	.path == ["O", "PY", "T"] and
	[.answers[] | [.provider_id, .hop, .asked_by, .status, .verdict]] ==
	[["T", 0, "T", "found", "ok"], ["PY", 1, "T", "found", "ok"], ["O", 2, "PY", "found", "ok"]]
	and (.answers[1] | .window_time_ms == '$((T0 + 1500))' and
		[.calls[] | [.upstream, .record_time_ms, .originated_here]] ==
		[["O", '$((T0 + 1300))', false]]) and
	.answers[2].window_time_ms == '$((T0 + 1300))''
ok

net_ht T trace export "$id" -o a.bundle >/dev/null || fail "export"
k=0
"$NET_HT" verify a.bundle --anchor anchor.pub --json >verify.json 2>verify.err || k=$?
[ $k = 0 ] || fail "hoptrace verify exited $k: $(cat verify.err verify.json)"
jqe verify.json '.verified and .answers == 3 and .origin_found and .open_branches == 0 and
	.request.trace_id == "'"$id"'" and .tree[0].provider == "T" and
	.tree[0].children[0].provider == "PY" and
	.tree[0].children[0].children[0].provider == "O"'
k=0
py_verify a.bundle --anchor anchor.pub >pyverify.json 2>pyverify.err || k=$?
[ $k = 0 ] || fail "Python verify exited $k: $(cat pyverify.err pyverify.json)"
jqe pyverify.json '.verified and .trace_id == "'"$id"'" and .initiator == "T" and
	.answers == 3 and .origin_found and .open_branches == 0 and .origins == ["O"] and
	[.tree[] | [.provider_id, .hop, .status, .asked_by, .parent]] ==
	[["T", 0, "found", "T", -1], ["PY", 1, "found", "T", 0], ["O", 2, "found", "PY", 1]]'
# Under another anchor the Python verifier refuses it, as hoptrace does.
"$NET_HT" ca init -o other >/dev/null || fail "ca init"
k=0
py_verify a.bundle --anchor other.pub >pyother.json 2>&1 || k=$?
[ $k = 1 ] || fail "Python verify under another anchor exited $k: $(cat pyother.json)"
jqe pyother.json '(.verified | not) and .error == "unknown_anchor" and .index == null'
ok

# PY audited what it disclosed; O saw PY ask.
jqe "c/PY/state/audit.jsonl" 'select(.trace_id == "'"$id"'") | .status == "found" and
	.asking_peer == "T" and .initiator == "T" and .disclosed == "O"'
net_ht O audit --json --trace "$id" >o.audit || fail "O audit"
jqe o.audit '.entries | length == 1 and .[0].asking_peer == "PY" and .[0].initiator == "T"'
ok

# ---- a fork at PY: O's origin, and PY's signed dead end at OFFNET -----------------------

k=0
net_ht T trace start --calling "$F" --called "$CALLED" --time $((T0 + 60500)) --watch \
	--json >fork.json 2>fork.err || k=$?
[ $k = 0 ] || fail "fork: trace start exited $k: $(cat fork.err fork.json)"
jqe fork.json '.status == "complete" and .origin == "O" and .open_branches == 0 and
	[.answers[] | [.provider_id, .hop, .asked_by, .status, .reason, .upstream, .verdict]] ==
	[["T", 0, "T", "found", null, null, "ok"], ["PY", 1, "T", "found", null, null, "ok"],
	 ["PY", 1, "T", "dead_end", "upstream_not_participant", "OFFNET", "ok"],
	 ["O", 2, "PY", "found", null, null, "ok"]] and
	([.answers[1].calls[] | [.upstream, .record_time_ms]] | sort) ==
	[["O", '$((T0 + 60300))'], ["OFFNET", '$((T0 + 60400))']] and
	.answers[2].window_time_ms == '$((T0 + 60500))' and
	.answers[3].window_time_ms == '$((T0 + 60300))''
net_ht T trace export "$(jq -r .trace_id fork.json)" -o fork.bundle >/dev/null ||
	fail "fork: export"
"$NET_HT" verify fork.bundle --anchor anchor.pub --json >fork.vjson || fail "fork: verify"
jqe fork.vjson '.verified and .answers == 4 and .origin_found and .open_branches == 0 and
	([.tree[0].children[0].children[] | [.provider, .status]] | sort) ==
	[["O", "found"], ["PY", "dead_end"]]'
py_verify fork.bundle --anchor anchor.pub >fork.pyjson || fail "fork: Python verify"
jqe fork.pyjson '.verified and .answers == 4 and .origin_found and .open_branches == 0'
ok

py_stop PY || fail "PY did not stop cleanly"
net_stop || fail "stop"
echo "$n passed, 0 failed"
