#!/bin/sh
# The local multi-carrier demo. Until peer sessions and traceback land, it
# shows what exists: a trust anchor certifies three carriers, every
# certificate verifies, one is shown, and tampering, a foreign anchor and
# revocation are each refused with a reason.
#
# usage: scripts/demo.sh BINDIR
set -eu
bin=$(cd "${1:-build/bin}" && pwd)
ht="$bin/hoptrace"
work=$(mktemp -d "${TMPDIR:-/tmp}/hoptrace-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

say() { printf '\n== %s\n' "$*"; }
# Runs a command that must fail, showing its message and exit code.
refused() {
	if "$@" 2>err.txt; then
		echo "demo: expected a refusal from: $*" >&2
		exit 1
	else
		rc=$?
	fi
	sed 's/^/   /' err.txt
	echo "   (exit $rc)"
}

say "A trust anchor (kept offline by the consortium)"
"$ht" ca init -o anchor

say "Three carriers make their keys; the anchor certifies them"
for c in TERM-CO TRANSIT-1 ORIG-TEL; do
	"$ht" keygen -o "$c"
done
"$ht" ca sign --ca anchor --id TERM-CO --pub TERM-CO.pub --days 365 --role initiator -o TERM-CO.cert
"$ht" ca sign --ca anchor --id TRANSIT-1 --pub TRANSIT-1.pub --days 365 -o TRANSIT-1.cert
"$ht" ca sign --ca anchor --id ORIG-TEL --pub ORIG-TEL.pub --days 365 -o ORIG-TEL.cert

say "Every carrier's certificate verifies against the anchor"
for c in TERM-CO TRANSIT-1 ORIG-TEL; do
	"$ht" cert verify --anchor anchor.pub "$c.cert"
done
"$ht" cert verify --anchor anchor.pub --role initiator TERM-CO.cert

say "TERM-CO's certificate"
"$ht" cert show TERM-CO.cert
"$ht" cert show --json TERM-CO.cert | jq -c '{provider_id, serial, roles, not_after}'

say "Refused: TRANSIT-1 may not start tracebacks (no initiator role)"
refused "$ht" cert verify --anchor anchor.pub --role initiator TRANSIT-1.cert

say "Refused: one byte of ORIG-TEL's certificate changed"
cp ORIG-TEL.cert forged.cert
size=$(wc -c <forged.cert)
printf 'X' | dd of=forged.cert bs=1 seek=$((size - 10)) conv=notrunc 2>/dev/null
refused "$ht" cert verify --anchor anchor.pub forged.cert

say "Refused: a certificate from some other anchor"
"$ht" ca init -o rogue
"$ht" ca sign --ca rogue --id TERM-CO --pub ORIG-TEL.pub --days 365 --role initiator -o rogue.cert
refused "$ht" cert verify --anchor anchor.pub rogue.cert

say "The anchor revokes TRANSIT-1; its certificate is refused from then on"
serial=$("$ht" cert show --json TRANSIT-1.cert | jq -r .serial)
"$ht" ca revoke --ca anchor --serial "$serial" -o anchor.crl
"$ht" crl show anchor.crl
refused "$ht" cert verify --anchor anchor.pub --crl anchor.crl TRANSIT-1.cert
"$ht" cert verify --anchor anchor.pub --crl anchor.crl TERM-CO.cert

say "Demo complete (peer sessions and traceback arrive with the next issues)"
