#!/bin/sh
# Interop, Python -> C -> C: the Python carrier PY (pycarrier.py, written
# from spec/ alone, initiator role) terminated a call that came
# PY <- C1 <- C2, two hoptraced daemons; C2's customer placed it. Proves:
#   - PY starts a trace as the terminating carrier (numbers in its records
#     and on its command line in national and spaced forms, normalised by
#     spec/numbers.md): it builds and signs the
#     request, runs hop 0 on its own CSV records, forwards to C1, which
#     forwards to C2; the daemons' sealed answers come back through C1 and PY
#     opens and verifies each (spec 11.12);
#   - PY's evidence bundle passes `hoptrace verify --anchor` (and --json
#     gives the tree PY -> C1 -> C2 with C2's origin);
#   - the daemons audited PY as the initiator and the asker;
#   - a trace of a call C1 has no record of: C1's signed NOT_FOUND, and a
#     bundle without an origin that still verifies.
#
# usage: chain_py_c_c_test.sh BINDIR
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
	for id in PY C1 C2; do
		[ -n "$NET_DIR" ] && echo "--- $id's log:" >&2 && tail -n 12 "$(net_log "$id")" >&2
	done
	echo "$n passed, 1 failed"
	exit 1
}
ok() { n=$((n + 1)); }
jqe() { jq -e "$2" "$1" >/dev/null || fail "$1: not ($2): $(cat "$1")"; }

net_init "" "$bin" && py_init "$here" || fail "init"
cd "$NET_DIR" || fail "cd"
A=+12025550123
B=+12025550177
CALLED=+13035550199

py_carrier PY --initiator && net_carrier C1 && net_carrier C2 || fail "carriers"
py_link C1 PY && net_link C1 C2 || fail "links"
py_rows PY "1500 2025550123 $CALLED TG-C1 TG-LOCAL" "61500 $B $CALLED TG-C1 TG-LOCAL" ||
	fail "PY rows"
net_start && net_wait_established || fail "start"
py_rows C1 "1300 $A $CALLED TG-C2 TG-PY" || fail "C1 rows"
py_rows C2 "1000 $A $CALLED TG-LOCAL TG-C1 cust-b B" || fail "C2 rows"
ok

# ---- PY traces the call to C2's origin ----------------------------------------------

k=0
py_run PY trace --calling "+1 (202) 555-0123" --called "$CALLED" --time $((T0 + 1500)) --label interop-b \
	-o b.bundle >trace.json || k=$?
[ $k = 0 ] || fail "pycarrier trace exited $k: $(cat trace.json)"
id=$(jq -r .trace_id trace.json)
jqe trace.json '.status == "complete" and .initiator == "PY" and .to == null and
	.calling == "12025550123" and .called == "13035550199" and .origin == "C2" and
	.kept == 3 and
	[.answers[] | [.provider_id, .hop, .asked_by, .status, .verdict]] ==
	[["PY", 0, "PY", "found", "ok"], ["C1", 1, "PY", "found", "ok"],
	 ["C2", 2, "C1", "found", "ok"]] and
	(.answers[1] | .window_time_ms == '$((T0 + 1500))' and
		[.calls[] | [.upstream, .record_time_ms]] == [["C2", '$((T0 + 1300))']]) and
	(.answers[2] | .window_time_ms == '$((T0 + 1300))' and .calls[0].originated_here and
		.calls[0].attestation == 2 and (.calls[0].customer_ref | test("^[0-9a-f]{32}$"))) and
	.bundle.verification.verified and .bundle.verification.open_branches == 0'
[ -s b.bundle ] || fail "no bundle written"
ok

k=0
"$NET_HT" verify b.bundle --anchor anchor.pub >verify.out 2>verify.err || k=$?
[ $k = 0 ] || fail "hoptrace verify exited $k: $(cat verify.err verify.out)"
grep -q '^evidence verified: 3 answers, origin C2 reached$' verify.out ||
	fail "hoptrace verify: $(cat verify.out)"
"$NET_HT" verify b.bundle --anchor anchor.pub --json >verify.json || fail "verify --json"
jqe verify.json '.verified and .answers == 3 and .origin_found and .open_branches == 0 and
	.request.trace_id == "'"$id"'" and .request.initiator == "PY" and
	.calling == "12025550123" and .called == "13035550199" and
	.origins[0].provider == "C2" and .tree[0].provider == "PY" and
	.tree[0].children[0].provider == "C1" and
	.tree[0].children[0].children[0].provider == "C2" and
	.tree[0].children[0].children[0].asked_by == "C1"'
# Another anchor: refused.
"$NET_HT" ca init -o other >/dev/null || fail "ca init"
"$NET_HT" verify b.bundle --anchor other.pub >/dev/null 2>&1 && fail "verify under another anchor"
ok

net_ht C1 audit --json --trace "$id" >c1.audit || fail "C1 audit"
jqe c1.audit '.entries | length == 1 and .[0].asking_peer == "PY" and .[0].initiator == "PY"'
net_ht C2 audit --json --trace "$id" >c2.audit || fail "C2 audit"
jqe c2.audit '.entries | length == 1 and .[0].asking_peer == "C1" and .[0].initiator == "PY"'
ok

# ---- a call C1 did not hand PY: C1's NOT_FOUND, no origin, still evidence ------------

k=0
py_run PY trace --calling "$B" --called "$CALLED" --time $((T0 + 61500)) -o nf.bundle \
	>nf.json || k=$?
[ $k = 1 ] || fail "pycarrier trace (no origin) exited $k, not 1: $(cat nf.json)"
jqe nf.json '.status == "complete" and .origin == null and
	[.answers[] | [.provider_id, .hop, .status, .verdict]] ==
	[["PY", 0, "found", "ok"], ["C1", 1, "not_found", "ok"]] and
	.bundle.verification.verified'
"$NET_HT" verify nf.bundle --anchor anchor.pub --json >nf.vjson || fail "verify nf"
jqe nf.vjson '.verified and .answers == 2 and (.origin_found | not) and .open_branches == 0'
ok

net_stop || fail "stop"
echo "$n passed, 0 failed"
