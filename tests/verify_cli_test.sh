#!/bin/sh
# End-to-end test of `hoptrace verify`, offline, on evidence bundles made by
# mk_bundle from the fixture trace (tests/bundle_fixture.h): a good bundle
# (path printed, JSON, Graphviz), tampered ones (exit 1 naming the failure),
# a wrong anchor, a revoked certificate, a missing file, bad usage.
#
# Usage: verify_cli_test.sh PATH/TO/hoptrace PATH/TO/mk_bundle
#
# Runs in a fresh temporary directory that is removed at exit. Stops at the
# first failure and says what failed; on success the last line printed is
# "N passed, 0 failed". Needs only POSIX tools and jq (to read JSON).
set -u

if [ $# -ne 2 ]; then
	echo "usage: $0 PATH/TO/hoptrace PATH/TO/mk_bundle" >&2
	exit 2
fi
abs() {
	case $1 in
	/*) echo "$1" ;;
	*) echo "$(pwd)/$1" ;;
	esac
}
HT=$(abs "$1")
MK=$(abs "$2")
for x in "$HT" "$MK"; do
	if [ ! -x "$x" ]; then
		echo "verify_cli_test: '$x' is not an executable" >&2
		exit 2
	fi
done
if ! command -v jq >/dev/null 2>&1; then
	echo "verify_cli_test: jq is needed to check JSON output" >&2
	exit 2
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/hoptrace-verify.XXXXXX") || exit 2
trap 'rm -rf "$WORK"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
cd "$WORK" || exit 2

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

# run STATUS ARGS...: runs hoptrace ARGS, expecting exit STATUS; output in
# ./stdout and ./stderr.
run() {
	want=$1
	shift
	last="hoptrace $*"
	"$HT" "$@" >stdout 2>stderr
	got=$?
	[ "$got" -eq "$want" ] || fail "exit status $got, expected $want"
	ok
}

stderr_has() {
	grep -Fq -- "$1" stderr || fail "stderr does not contain '$1'"
	ok
}

stdout_has() {
	grep -Fq -- "$1" stdout || fail "stdout does not contain '$1'"
	ok
}

# jq_is FILTER WANT: the JSON on ./stdout gives WANT under FILTER.
jq_is() {
	got=$(jq -r "$1" stdout) || fail "stdout is not JSON, or not with $1"
	[ "$got" = "$2" ] || fail "$1: got '$got', expected '$2'"
	ok
}

"$MK" . || fail "mk_bundle failed"

# ---- The good bundle: the path as a tree ----
# shellcheck disable=SC2086 # --anchor anchor.pub is two words on purpose
run 0 verify good.bundle --anchor anchor.pub
stdout_has "trace       5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e"
stdout_has "initiator   TRACEBACK-HQ"
stdout_has "call        12025550143 -> 13125550188 at 2026-05-28T20:16:40.000Z"
stdout_has "hop 0  CARRIER-T  found  (asked by TRACEBACK-HQ"
stdout_has "attestation B: handed over by CARRIER-B"
stdout_has "  hop 1  CARRIER-B  found  (asked by CARRIER-T"
stdout_has "    hop 2  CARRIER-C  found  (asked by CARRIER-B"
stdout_has "      hop 3  CARRIER-D  found  (asked by CARRIER-C"
stdout_has "call recorded 2026-05-28T20:16:40.053Z, attestation A, origid d0d1d2d3d4d5d6d7d8d9dadbdcdddedf: originated here (customer cust-7f3a9b)"
stdout_has "      hop 3  CARRIER-E  refused: policy_refused"
stdout_has "      dead end at CARRIER-X: upstream_not_participant (stated by CARRIER-C at hop 2"
[ "$(tail -n 1 stdout)" = "evidence verified: 6 answers, origin CARRIER-D reached" ] ||
	fail "last line: $(tail -n 1 stdout)"
ok
[ ! -s stderr ] || fail "stderr not empty"
ok
# Options may come first; several anchors are fine.
run 0 verify --anchor other.pub --anchor anchor.pub good.bundle

# ---- JSON: the same tree ----
run 0 verify good.bundle --anchor anchor.pub --json
jq_is .verified true
jq_is .request.initiator TRACEBACK-HQ
jq_is .request.label "robocall campaign 2026-05 (tax scam)"
jq_is .request.hop_limit 16
jq_is .calling 12025550143
jq_is .answers 6
jq_is .origin_found true
jq_is .open_branches 0
jq_is '.origins[0].provider' CARRIER-D
jq_is '.origins[0].customer_ref' cust-7f3a9b
jq_is '.tree | length' 1
jq_is '.tree[0].provider' CARRIER-T
jq_is '.tree[0].calls[0].upstream' CARRIER-B
jq_is '.tree[0].calls[0].attestation' B
jq_is '.tree[0].children[0].children[0].provider' CARRIER-C
jq_is '.tree[0].children[0].children[0].children | map(.provider + ":" + .status) | join(",")' \
	"CARRIER-D:found,CARRIER-E:refused,CARRIER-C:dead_end"
jq_is '.tree[0].children[0].children[0].children[2].upstream' CARRIER-X
jq_is '.tree[0].children[0].children[0].children[2].reason' upstream_not_participant
jq_is '.tree[0].children[0].children[0].children[0].calls[0].record_time' 2026-05-28T20:16:40.053Z
jq_is '.tree[0].children[0].children[0].children[0].calls[0].originated_here' true

# ---- Graphviz: carriers, "handed call to" edges, dead ends dashed ----
run 0 verify good.bundle --anchor anchor.pub --dot tree.dot
[ "$(head -n 1 tree.dot)" = "digraph hoptrace {" ] || fail "tree.dot: $(head -n 1 tree.dot)"
ok
[ "$(tail -n 1 tree.dot)" = "}" ] || fail "tree.dot does not end with }"
ok
grep -Fq '"CARRIER-B" -> "CARRIER-T" [style=solid, label="handed call to"];' tree.dot ||
	fail "tree.dot: no edge B -> T"
ok
grep -Fq '"CARRIER-X" -> "CARRIER-C" [style=dashed, label="handed call to (dead end: upstream_not_participant)"];' tree.dot ||
	fail "tree.dot: no dashed dead end X -> C"
ok
grep -Fq 'originated here (customer cust-7f3a9b)", peripheries=2' tree.dot ||
	fail "tree.dot: origin not marked"
ok
[ "$(grep -c -- ' -> ' tree.dot)" = 5 ] || fail "tree.dot: $(grep -c -- ' -> ' tree.dot) edges, expected 5"
ok
# Quotes are balanced on every line (labels escaped).
grep -v '^[{}]$' tree.dot | grep -v '^digraph' | sed 's/\\"//g' | awk -F'"' 'NF % 2 == 0 { exit 1 }' ||
	fail "tree.dot: unbalanced quotes"
ok
# A customer reference with a quote and a backslash stays one string.
run 0 verify quote.bundle --anchor anchor.pub --dot quote.dot
grep -Fq 'originated here (customer cust \"7f\\3a9b\")' quote.dot || fail "quote.dot: not escaped"
ok
sed 's/\\\\//g; s/\\"//g' quote.dot | grep -v '^[{}]$' | grep -v '^digraph' |
	awk -F'"' 'NF % 2 == 0 { exit 1 }' || fail "quote.dot: unbalanced quotes"
ok
# --dot replaces an older picture.
run 0 verify open.bundle --anchor anchor.pub --dot tree.dot
grep -Fq '"CARRIER-E" -> "CARRIER-C" [style=dotted, label="handed call to (no answer)"];' tree.dot ||
	fail "tree.dot: open branch not dotted"
ok

# ---- Open branches, nothing found ----
run 0 verify open.bundle --anchor anchor.pub
stdout_has "      hop 3  CARRIER-E  no answer (branch open)"
[ "$(tail -n 1 stdout)" = "evidence verified: 5 answers, origin CARRIER-D reached, 1 open branch" ] ||
	fail "last line: $(tail -n 1 stdout)"
ok
run 0 verify open.bundle --anchor anchor.pub --json
jq_is .open_branches 1
jq_is '.tree[0].children[0].children[0].open | join(",")' CARRIER-E
run 0 verify empty.bundle --anchor anchor.pub
[ "$(tail -n 1 stdout)" = "evidence verified: 0 answers, no origin reached, 0 open branches" ] ||
	fail "last line: $(tail -n 1 stdout)"
ok

# ---- Tampered bundles: exit 1, naming the failure ----
run 1 verify sig.bundle --anchor anchor.pub
stderr_has "sig.bundle: rejected: answer 4 (CARRIER-D, hop 3): signature does not verify"
[ ! -s stdout ] || fail "a rejected bundle printed a path"
ok
run 1 verify orphan.bundle --anchor anchor.pub
stderr_has "rejected: answer 1 (CARRIER-C, hop 2): asked by CARRIER-B, but there is no FOUND answer from CARRIER-B at hop 1"
run 1 verify opening.bundle --anchor anchor.pub
stderr_has "rejected: opening: calling 12026550143 and called 13125550188 do not match the request's commitment"
run 1 verify truncated.bundle --anchor anchor.pub
stderr_has "rejected: bundle does not decode"
run 1 verify sig.bundle --anchor anchor.pub --json
jq_is .verified false
jq_is .error bad_signature
jq_is .failed_answer 4
jq_is .reason "answer 4 (CARRIER-D, hop 3): signature does not verify"
run 1 verify opening.bundle --anchor anchor.pub --json
jq_is .failed_answer null
# No picture of rejected evidence.
rm -f bad.dot
run 1 verify sig.bundle --anchor anchor.pub --dot bad.dot
[ ! -e bad.dot ] || fail "bad.dot written for a rejected bundle"
ok
# Not a bundle at all.
run 1 verify anchor.pub --anchor anchor.pub
stderr_has "rejected:"

# ---- Trust: wrong anchor, revocation ----
run 1 verify good.bundle --anchor other.pub
stderr_has "rejected: initiator certificate (TRACEBACK-HQ, serial 100): not issued by a given anchor"
run 1 verify good.bundle --anchor anchor.pub --crl revoked-d.crl
stderr_has "rejected: answer 4 (CARRIER-D, hop 3): certificate (serial 104): revoked"

# ---- Files and usage ----
run 3 verify missing.bundle --anchor anchor.pub
stderr_has "missing.bundle: No such file or directory"
run 3 verify good.bundle --anchor missing.pub
run 3 verify good.bundle --anchor anchor.pub --crl missing.crl
run 3 verify good.bundle --anchor anchor.pub --crl good.bundle
stderr_has "revocation list not usable"
run 3 verify good.bundle --anchor anchor.pub --dot no-such-dir/tree.dot
run 2 verify good.bundle
stderr_has "at least one --anchor is required"
run 2 verify --anchor anchor.pub
stderr_has "exactly one FILE is required"
run 2 verify a.bundle b.bundle --anchor anchor.pub
run 2 verify good.bundle --anchor anchor.pub --bogus
run 2 verify good.bundle --anchor anchor.pub --dot
run 0 verify --help
stdout_has "usage: hoptrace verify FILE --anchor CA.pub"

echo "$passed passed, 0 failed"
