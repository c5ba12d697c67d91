#!/bin/sh
# Interop, a misbehaving Python relay: the chain T <- PY <- O of
# chain_c_py_c_test.sh, with the Python carrier PY told to cheat, and the
# daemon T (the initiator) catching it as spec 11.12 and 11.15 (P4) say:
#   - PY alters a byte of O's sealed answer as it passes it on: T's verdict
#     on that answer is `decrypt_failed` (decrypt_failed: the seal does not
#     open), it is no evidence, and the trace ends with O's branch open:
#     `trace start --watch` exits 1, the exported bundle holds T's and PY's
#     answers and verifies (hoptrace and Python) with 1 open branch;
#   - PY spoils the signature of its own FOUND answer: T's verdict is
#     `bad_signature`, and O's honest answer, which now hangs below no kept
#     answer, is `unlinked`; the bundle holds T's answer alone, with PY's
#     branch open.
#
# usage: tamper_test.sh BINDIR
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
jqe() { jq -e "$2" "$1" >/dev/null || fail "$1: not ($2): $(cat "$1")"; }

net_init "" "$bin" && py_init "$here" || fail "init"
cd "$NET_DIR" || fail "cd"
A=+12025550123
CALLED=+13035550199

net_carrier T --initiator && net_carrier O && py_carrier PY || fail "carriers"
py_link T PY && py_link O PY || fail "links"
py_rows PY "1300 $A $CALLED TG-O TG-T" || fail "PY rows"
net_start || fail "start"
py_start PY --tamper relay-flip || fail "start PY"
py_wait T PY && py_wait O PY || fail "sessions"
py_rows T "1500 $A $CALLED TG-PY TG-LOCAL" || fail "T rows"
py_rows O "1000 $A $CALLED TG-LOCAL TG-PY cust-a A" || fail "O rows"
ok

# trace NAME: T traces the call; NAME.json is `trace show --json`, NAME.vjson
# `hoptrace verify --json` of its bundle, NAME.pyjson the Python verifier's.
trace() {
	k=0
	net_ht T trace start --calling "$A" --called "$CALLED" --time $((T0 + 1500)) \
		--watch --json >"$1.json" 2>"$1.err" || k=$?
	[ $k = 1 ] || fail "$1: trace start --watch exited $k, not 1: $(cat "$1.err" "$1.json")"
	net_ht T trace export "$(jq -r .trace_id "$1.json")" -o "$1.bundle" >/dev/null ||
		fail "$1: export"
	"$NET_HT" verify "$1.bundle" --anchor anchor.pub --json >"$1.vjson" ||
		fail "$1: hoptrace verify: $(cat "$1.vjson")"
	py_verify "$1.bundle" --anchor anchor.pub >"$1.pyjson" ||
		fail "$1: Python verify: $(cat "$1.pyjson")"
}

# ---- a relayed sealed answer altered -------------------------------------------------

trace flip
jqe flip.json '.status == "complete" and .origin == null and .open_branches == 1 and
	[.answers[] | [.provider_id, .hop, .status, .verdict]] ==
	[["T", 0, "found", "ok"], ["PY", 1, "found", "ok"], [null, 0, null, "decrypt_failed"]]'
jqe flip.vjson '.verified and .answers == 2 and (.origin_found | not) and
	.open_branches == 1 and .tree[0].children[0].provider == "PY" and
	.tree[0].children[0].open == ["O"]'
jqe flip.pyjson '.verified and .answers == 2 and (.origin_found | not) and .open_branches == 1'
# O did answer, and PY logged what it did.
net_ht O audit --json --trace "$(jq -r .trace_id flip.json)" >flip.audit || fail "O audit"
jqe flip.audit '.entries | length == 1 and .[0].asking_peer == "PY"'
grep -q 'TAMPERING with a relayed answer of O' c/PY/log || fail "PY did not tamper"
ok

# ---- PY's own answer with a spoilt signature ----------------------------------------

py_stop PY || fail "stop PY"
py_start PY --tamper own-badsig || fail "start PY again"
py_wait T PY && py_wait O PY || fail "sessions again"
trace badsig
jqe badsig.json '.status == "complete" and .origin == null and
	[.answers[] | [.provider_id, .hop, .status, .verdict]] ==
	[["T", 0, "found", "ok"], ["PY", 1, "found", "bad_signature"],
	 ["O", 2, "found", "unlinked"]]'
jqe badsig.vjson '.verified and .answers == 1 and .open_branches == 1 and
	.tree[0].provider == "T" and .tree[0].open == ["PY"]'
jqe badsig.pyjson '.verified and .answers == 1 and .open_branches == 1'
ok

py_stop PY || fail "PY did not stop cleanly"
net_stop || fail "stop"
echo "$n passed, 0 failed"
