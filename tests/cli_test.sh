#!/bin/sh
# End-to-end test of the hoptrace CLI, used the way an operator would use it:
# create an anchor and a provider, issue, verify, tamper, revoke.
#
# Usage: cli_test.sh PATH/TO/hoptrace
#
# Runs in a fresh temporary directory that is removed at exit. Stops at the
# first failure and says what failed; on success the last line printed is
# "N passed, 0 failed". Needs only POSIX tools and jq (to read JSON).
set -u

if [ $# -ne 1 ]; then
	echo "usage: $0 PATH/TO/hoptrace" >&2
	exit 2
fi
case $1 in
/*) HT=$1 ;;
*) HT=$(pwd)/$1 ;;
esac
if [ ! -x "$HT" ]; then
	echo "cli_test: '$HT' is not an executable" >&2
	exit 2
fi
if ! command -v jq >/dev/null 2>&1; then
	echo "cli_test: jq is needed to check JSON output" >&2
	exit 2
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/hoptrace-cli.XXXXXX") || exit 2
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
		if [ -s stderr ]; then
			echo "  its stderr:" >&2
			sed 's/^/    /' stderr >&2
		fi
	fi
	echo "$passed passed, 1 failed"
	exit 1
}

ok() {
	passed=$((passed + 1))
}

# run STATUS ARGS...: runs hoptrace ARGS, expecting exit STATUS. Its output
# is left in ./stdout and ./stderr for the checks that follow.
run() {
	want=$1
	shift
	last="hoptrace $*"
	"$HT" "$@" >stdout 2>stderr
	got=$?
	[ "$got" -eq "$want" ] || fail "exit status $got, expected $want"
	ok
}

# run_fails ARGS...: like run, for commands that must fail in some way.
run_fails() {
	last="hoptrace $*"
	if "$HT" "$@" >stdout 2>stderr; then
		fail "succeeded, expected a failure"
	fi
	ok
}

# stderr_has ERE: the last command's stderr matches the extended regex.
stderr_has() {
	grep -Eq -- "$1" stderr || fail "stderr does not match /$1/"
	ok
}

stdout_has() {
	grep -Eq -- "$1" stdout || fail "stdout does not match /$1/"
	ok
}

# json_get KEY: value of KEY in the JSON object on ./stdout (lists joined
# by spaces). Fails if stdout is not a JSON object.
json_get() {
	jq -er --arg k "$1" \
		'.[$k] | if type == "array" then map(tostring) | join(" ") else tostring end' \
		stdout ||
		fail "stdout is not a JSON object with '$1'"
}

# expect_eq WHAT GOT WANT
expect_eq() {
	[ "$2" = "$3" ] || fail "$1: got '$2', expected '$3'"
	ok
}

# perms FILE: the ls -l mode string, e.g. -rw-------.
perms() {
	# shellcheck disable=SC2012 # our own plain file names; POSIX has no stat(1)
	ls -l "$1" | cut -c1-10
}

# flip FILE OFFSET OUT: OUT is a copy of FILE with bit 0 of byte OFFSET flipped.
flip() {
	byte=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' \n')
	[ -n "$byte" ] || fail "$1 has no byte at offset $2"
	cp "$1" "$3"
	# shellcheck disable=SC2059 # the format is the octal escape of one byte
	printf "$(printf '\\%03o' $((byte ^ 1)))" |
		dd of="$3" bs=1 seek="$2" conv=notrunc 2>/dev/null
	n=$(cmp -l "$1" "$3" | wc -l | tr -d ' ')
	[ "$n" = 1 ] || fail "flipping byte $2 of $1 changed $n bytes"
}

# --- keys -------------------------------------------------------------------

run 0 ca init -o ca
expect_eq "ca.key mode" "$(perms ca.key)" "-rw-------"
expect_eq "ca.pub mode" "$(perms ca.pub)" "-rw-r--r--"
run 0 ca init -o ca2
run 0 keygen -o prov
expect_eq "prov.key mode" "$(perms prov.key)" "-rw-------"
expect_eq "prov.pub mode" "$(perms prov.pub)" "-rw-r--r--"

# keygen never replaces keys silently.
cp prov.key prov.key.orig
cp prov.pub prov.pub.orig
run_fails keygen -o prov
stderr_has 'exists'
cmp -s prov.key prov.key.orig || fail "refused keygen changed prov.key"
cmp -s prov.pub prov.pub.orig || fail "refused keygen changed prov.pub"
ok
run_fails ca init -o ca
run 0 keygen -o prov --force
cmp -s prov.key prov.key.orig && fail "keygen --force did not replace prov.key"
ok
expect_eq "prov.key mode after --force" "$(perms prov.key)" "-rw-------"

# --- issue and verify ---------------------------------------------------------

run 0 ca sign --ca ca --id carrier-1 --pub prov.pub --days 30 --role initiator -o c1.cert
run 0 cert verify --anchor ca.pub c1.cert
stdout_has 'OK'
run 0 cert verify --anchor ca.pub --role initiator c1.cert
run 0 cert verify --anchor ca2.pub --anchor ca.pub c1.cert

run 0 cert show --json c1.cert
jq -e 'type == "object"' <stdout >/dev/null || fail "cert show --json: not a JSON object"
ok
for key in provider_id serial roles not_before not_after sign_key noise_key; do
	json_get "$key" >/dev/null
	ok
done
expect_eq "provider_id" "$(json_get provider_id)" "carrier-1"
expect_eq "roles" "$(json_get roles)" "initiator"
# The certified keys are the provider's public keys.
expect_eq "sign_key" "$(json_get sign_key)" "$(sed -n 's/^sign-key //p' prov.pub)"
expect_eq "noise_key" "$(json_get noise_key)" "$(sed -n 's/^noise-key //p' prov.pub)"
serial=$(json_get serial)
case $serial in
'' | *[!0-9]*) fail "serial '$serial' is not a number" ;;
esac
ok
run 0 cert show c1.cert
stdout_has 'carrier-1'

# --- tampering ------------------------------------------------------------------

size=$(wc -c <c1.cert | tr -d ' ')
flip c1.cert $((size - 1)) bad-sig.cert # the last byte is in the signature
run 1 cert verify --anchor ca.pub bad-sig.cert
stderr_has 'tampered'
flip c1.cert $((size / 2)) bad-body.cert
run 1 cert verify --anchor ca.pub bad-body.cert
stderr_has 'tampered|malformed'
flip c1.cert 0 bad-head.cert
run 1 cert verify --anchor ca.pub bad-head.cert
head -c 20 c1.cert >short.cert
run 1 cert verify --anchor ca.pub short.cert
stderr_has 'malformed'

# --- anchors and dates -------------------------------------------------------

run 1 cert verify --anchor ca2.pub c1.cert
stderr_has 'wrong anchor'

run 0 ca sign --ca ca --id later.example --pub prov.pub --days 10 \
	--not-before 2030-01-01T00:00:00Z --serial 42 -o later.cert
run 0 cert show --json later.cert
expect_eq "not_before_unix" "$(json_get not_before_unix)" 1893456000
expect_eq "not_after_unix" "$(json_get not_after_unix)" 1894320000
expect_eq "serial" "$(json_get serial)" 42
expect_eq "roles" "$(json_get roles)" ""
run 1 cert verify --anchor ca.pub --at 2030-01-11T00:00:00Z later.cert
stderr_has 'expired'
run 1 cert verify --anchor ca.pub --at 2031-06-01T12:00:00Z later.cert
stderr_has 'expired'
run 0 cert verify --anchor ca.pub --at 1894319999 later.cert
run 1 cert verify --anchor ca.pub --at 2029-12-31T23:59:59Z later.cert
stderr_has 'not yet valid'
run 0 cert verify --anchor ca.pub --at 2030-01-01T00:00:00Z later.cert

# --- roles -------------------------------------------------------------------

run 1 cert verify --anchor ca.pub --at 2030-01-02T00:00:00Z --role initiator later.cert
stderr_has 'role'
run 0 cert verify --anchor ca.pub --at 2030-01-02T00:00:00Z later.cert

# --- revocation --------------------------------------------------------------

run 0 ca revoke --ca ca --serial "$serial" -o crl
run 0 crl show --json crl
expect_eq "crl number" "$(json_get number)" 1
expect_eq "crl serials" "$(json_get serials)" "$serial"
run 1 cert verify --anchor ca.pub --crl crl c1.cert
stderr_has 'revoked'
run 1 cert verify --json --anchor ca.pub --crl crl c1.cert
expect_eq "verify --json valid" "$(json_get valid)" "false"
expect_eq "verify --json error" "$(json_get error)" "revoked"
# Another serial of the same anchor is not affected.
run 0 cert verify --anchor ca.pub --crl crl --at 2030-01-02T00:00:00Z later.cert

# Extending the list in place: a higher number, the old serials kept.
run 0 ca revoke --ca ca --serial 42 --crl crl -o crl
run 0 crl show --json crl
expect_eq "crl number" "$(json_get number)" 2
jq -e --argjson a "$serial" '.serials == ([$a, 42] | sort)' stdout >/dev/null ||
	fail "crl serials after the second revoke"
ok
run 1 cert verify --anchor ca.pub --crl crl c1.cert
stderr_has 'revoked'
run 1 cert verify --anchor ca.pub --crl crl --at 2030-01-02T00:00:00Z later.cert
stderr_has 'revoked'

# Writing over a list without extending it needs --force.
cp crl crl.orig
run_fails ca revoke --ca ca --serial 7 -o crl
stderr_has 'exists'
cmp -s crl crl.orig || fail "refused ca revoke changed crl"
ok
# Another anchor's list cannot be extended, nor used for this anchor's certs.
run_fails ca revoke --ca ca2 --serial 7 --crl crl -o crl2
run 0 ca revoke --ca ca2 --serial "$serial" -o crl-ca2
run 3 cert verify --anchor ca.pub --crl crl-ca2 c1.cert
stderr_has 'revocation list'
# ...while with both anchors it applies only to ca2's certificates.
run 0 cert verify --anchor ca.pub --anchor ca2.pub --crl crl-ca2 --role initiator c1.cert

# A revocation list is not a certificate.
run 1 cert show crl
stderr_has 'kind'

# --- usage errors (exit 2) ---------------------------------------------------

run 2
run 2 frobnicate
# A command group alone lists its subcommands; with --help on stdout, exit 0.
run 2 trace
stderr_has 'trace export'
run 0 cdr --help
stdout_has 'cdr lookup'
run 2 cert verify c1.cert
run 2 cert verify --anchor ca.pub
run 2 cert verify --anchor ca.pub c1.cert extra.cert
run 2 cert verify --anchor ca.pub --at 12x c1.cert
run 2 cert verify --anchor ca.pub --role bogus c1.cert
run 2 cert show
run 2 crl show
run 2 keygen
run 2 ca init
run 2 ca sign --ca ca --id carrier-2 --pub prov.pub -o c2.cert
run 2 ca sign --ca ca --id -carrier --pub prov.pub --days 1 -o c2.cert
run 2 ca sign --ca ca --id carrier-2 --pub prov.pub --days 0 -o c2.cert
run 2 ca sign --ca ca --id carrier-2 --pub prov.pub --days 1 --serial 0 -o c2.cert
run 2 ca revoke --ca ca -o crl3
if [ -e c2.cert ] || [ -e crl3 ]; then
	fail "a usage error wrote a file"
fi
ok

# --- other errors (exit 3) ---------------------------------------------------

chmod 644 ca.key
run 3 ca sign --ca ca --id carrier-2 --pub prov.pub --days 1 -o c2.cert
stderr_has 'permission|chmod 600'
[ ! -e c2.cert ] || fail "signed with an exposed key"
ok
run 3 ca revoke --ca ca --serial 5 -o crl4
stderr_has 'permission|chmod 600'
chmod 600 ca.key
run 0 ca sign --ca ca --id carrier-2 --pub prov.pub --days 1 -o c2.cert
run 3 cert show missing.cert
run 3 cert verify --anchor missing.pub c1.cert
run 3 ca sign --ca ca --id carrier-3 --pub ca.pub --days 1 -o c3.cert

# --- help and version --------------------------------------------------------

run 0 --help
stdout_has 'cert verify'
run 0 cert verify --help
stdout_has 'anchor'
run 0 version
stdout_has '^hoptrace [0-9]+\.[0-9]+\.[0-9]+'

echo "$passed passed, 0 failed"
