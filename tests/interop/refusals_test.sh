#!/bin/sh
# Interop, negative cases from the Python side: the Python carrier PY
# (pycarrier.py, a consortium-style initiator) sends requests to the daemon
# T as hop 0 (`--to T`, spec 11.12), and T refuses each with the reason code
# of spec 11.5 step 6 (11.3.3), in a REFUSED answer that T signs and seals to
# the request's answer key; PY opens and verifies each refusal:
#   - a request whose initiator certificate lacks the initiator role:
#     7 missing_role;
#   - a certificate (with the role) from an anchor T does not trust:
#     3 unknown_anchor;
#   - a certificate that has expired: 5 cert_expired;
#   - a request past its own expiry: 9 expired; one made 400 s in the future:
#     9 expired too, but signed more than 300 s before the request's
#     created_ms, so PY keeps it out of the evidence as bad_time (spec 11.7.4,
#     step 15);
# and T's audit log names each refusal. A control run with PY's own
# certificate is answered (FOUND, T's customer) and its bundle verifies with
# `hoptrace verify`: the refusals are the requests, not the session.
#
# usage: refusals_test.sh BINDIR
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
	for id in T PY; do
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

net_carrier T && py_carrier PY --initiator || fail "carriers"
py_link T PY || fail "links"
net_start || fail "start"
# An on-net call: T's own customer called T's subscriber.
py_rows T "1500 $A $CALLED TG-LOCAL TG-LOCAL cust-t A" || fail "T rows"
pub=c/PY/PY.pub
"$NET_HT" ca sign --ca anchor --id PY --pub $pub --days 30 --serial 71 -o norole.cert \
	>/dev/null || fail "norole cert"
"$NET_HT" ca init -o other >/dev/null &&
	"$NET_HT" ca sign --ca other --id PY --pub $pub --days 30 --role initiator \
		-o other.cert >/dev/null || fail "other anchor's cert"
"$NET_HT" ca sign --ca anchor --id PY --pub $pub --days 1 --role initiator --serial 72 \
	--not-before "$(date -u -d '3 days ago' +%Y-%m-%dT%H:%M:%SZ)" -o old.cert >/dev/null ||
	fail "expired cert"
ok

# ask NAME ARGS...: PY asks T about the call; NAME.json holds the trace.
ask() {
	name=$1
	shift
	k=0
	py_run PY trace --to T --calling "$A" --called "$CALLED" --time $((T0 + 1500)) "$@" \
		>"$name.json" || k=$?
}
# refused NAME REASON CODE AUDIT: T's one signed refusal, verified by PY, and
# T's audit entry.
refused() {
	[ $k = 1 ] || fail "$1: pycarrier trace exited $k, not 1: $(cat "$1.json")"
	jqe "$1.json" '.status == "complete" and .to == "T" and .origin == null and
		[.answers[] | [.provider_id, .hop, .asked_by, .status, .reason, .reason_code,
			.verdict]] == [["T", 0, "PY", "refused", "'"$2"'", '"$3"', "ok"]]'
	net_ht T audit --json --trace "$(jq -r .trace_id "$1.json")" >"$1.audit" ||
		fail "$1: T audit"
	jqe "$1.audit" '.entries | length == 1 and .[0].status == "refused:'"$4"'" and
		.[0].asking_peer == "PY" and .[0].initiator == "PY"'
}

# ---- control: PY's own certificate --------------------------------------------------

# PY waits for its session with T itself (pycarrier trace).
ask control -o control.bundle
[ $k = 0 ] || fail "control: pycarrier trace exited $k: $(cat control.json)"
jqe control.json '.status == "complete" and .origin == "T" and
	[.answers[] | [.provider_id, .hop, .asked_by, .status, .verdict]] ==
	[["T", 0, "PY", "found", "ok"]] and .answers[0].calls[0].originated_here'
"$NET_HT" verify control.bundle --anchor anchor.pub --json >control.vjson ||
	fail "control: hoptrace verify"
jqe control.vjson '.verified and .answers == 1 and .origins[0].provider == "T" and
	.request.initiator == "PY"'
ok

# ---- wrong certificates ----------------------------------------------------------

ask norole --initiator-cert norole.cert
refused norole missing_role 7 missing_role
ok
ask other --initiator-cert other.cert
refused other unknown_anchor 3 unknown_anchor
ok
ask old --initiator-cert old.cert
refused old cert_expired 5 cert_expired
ok

# ---- expired requests --------------------------------------------------------------

ask expired --created-offset-ms -120000 --lifetime-ms 60000 --wait-ms 5000
refused expired expired 9 expired
ok
ask future --created-offset-ms 400000 --lifetime-ms 60000
[ $k = 1 ] || fail "future: pycarrier trace exited $k, not 1: $(cat future.json)"
jqe future.json '.status == "complete" and .kept == 0 and
	[.answers[] | [.provider_id, .hop, .asked_by, .status, .reason_code, .verdict]] ==
	[["T", 0, "PY", "refused", 9, "bad_time"]]'
net_ht T audit --json --trace "$(jq -r .trace_id future.json)" >future.audit ||
	fail "future: T audit"
jqe future.audit '.entries | length == 1 and .[0].status == "refused:expired"'
ok

net_stop || fail "stop"
echo "$n passed, 0 failed"
