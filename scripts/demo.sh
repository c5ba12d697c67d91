#!/bin/sh
# The local multi-carrier demo (`make demo`; demo/README.md): eight carriers,
# seven of them running hoptraced on loopback, one hour of each carrier's
# call records with a robocall campaign in it, and one campaign call traced
# from the terminating carrier back to the customer who placed it; the
# evidence is exported and verified offline. Any failure exits non-zero;
# every daemon is stopped and every file removed on every exit path.
#
# usage: scripts/demo.sh BINDIR     (DEMO_KEEP=1 keeps the work folder)
set -eu
here=$(pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(cd "${1:-build/bin}" && pwd)
for tool in hoptrace hoptraced ht_netgen; do
	if [ ! -x "$bin/$tool" ]; then
		echo "demo: $bin/$tool is missing: build first (make demo does)" >&2
		exit 1
	fi
done
# shellcheck source=tests/integration/tracenet.sh
. "$root/tests/integration/tracenet.sh"

t_start=$(date +%s%N)
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
say() { printf '\n== %s\n' "$*"; }
show() { printf '  $ %s\n' "$*"; }
die() {
	echo "demo: $*" >&2
	exit 1
}

[ -n "${DEMO_KEEP:-}" ] && NET_KEEP=1
net_init "" "$bin" || die "cannot set up the work folder"
trap 'rc=$?; net_cleanup; [ $rc -eq 0 ] || echo "demo: FAILED (exit $rc)" >&2' EXIT
W=$NET_DIR
cd "$W"

printf 'HopTrace demo: a robocall traced back through a carrier network\n'

# ---- the network and its records -------------------------------------------
# One hour of traffic that ended five minutes ago; the campaign is in it.
start=$(($(date +%s) / 60 * 60 - 3900))
net_generate "$root/demo/demo.net" --seed "${DEMO_SEED:-1}" --start "$start" ||
	die "cannot generate the network"
ids=$(net_ids --daemons)
offnet=$(awk '$1 == "carrier" && / offnet/ {print $2}' gen/network.txt)
initiator=$(net_expect terminating)
origin=$(net_expect origin)

say "The network"
cat <<EOF
  Eight carriers. Seven run hoptraced; $offnet, an international carrier,
  does not. A customer of $origin, a small VoIP provider, robocalls
  $initiator's subscribers with spoofed caller IDs, and least-cost routing
  sends the calls the long way round, through six carriers:

                     OFFNET-INTL
                    /           \\   ,-------------------.
  ORIGIN-VOIP -- GATEWAY-1 -- TRANSIT-A -- TRANSIT-B -- REGIONAL -- TERM-TEL
                                             \\                        /
                                              \`---- MOBILE-EAST -----'
EOF

say "1. Identities: a trust anchor certifies each carrier"
show "hoptrace ca init -o anchor                  (the consortium, kept offline)"
show "hoptrace keygen -o ID; hoptrace ca sign --ca anchor --id ID --pub ID.pub --days 30 ..."
for id in $ids; do
	roles=$("$NET_HT" cert show --json "$(_net_d "$id")/$id.cert" | jq -r '.roles | join(",")') ||
		die "cert show $id"
	case ",$roles," in
	*,initiator,*) printf '  %-12s certificate, role initiator: may start tracebacks\n' "$id" ;;
	*) printf '  %-12s certificate\n' "$id" ;;
	esac
done
printf '  %-12s none: not a HopTrace participant\n' "$offnet"

say "2. Daemons on loopback"
net_start || die "a daemon did not start"
printf '  %d hoptraced processes, each with its own key, store and control socket.\n' \
	"$(echo "$ids" | wc -w)"

say "3. One hour of call records, as each carrier's switches exported them"
cat <<'EOF'
  Every switch keeps its own clock (off by up to 2 s) and numbering style
  (+1..., 1..., 10 digits, sip: and tel: URIs); exports carry duplicates and
  broken lines. Each carrier imports its own file into its own daemon:
EOF
show "hoptrace cdr import ID.csv"
printf '  %-12s %8s %9s %9s %11s\n' CARRIER ROWS IMPORTED REJECTED DUPLICATES
net_import_generated || die "an import did not store what the generator made"
for id in $ids; do
	jq -r --arg id "$id" \
		'"  \($id | . + " " * (12 - length)) \(.imported + .rejected + .duplicates | tostring | " " * (8 - length) + .) \(.imported | tostring | " " * (9 - length) + .) \(.rejected | tostring | " " * (9 - length) + .) \(.duplicates | tostring | " " * (11 - length) + .)"' \
		"$(_net_d "$id")/import.json"
done
printf '  Rejected rows are named by line and reason, never silently dropped; %s:\n' \
	"$initiator's"
sed "s|^$W/gen/||; s/^/    /" "$(_net_d "$initiator")/import.err"

say "4. Sessions between interconnected carriers"
net_wait_established 20 || die "sessions did not come up"
sessions=0
for id in $ids; do
	sessions=$((sessions + $(net_ht "$id" peers --json |
		jq '[.peers[] | select(.state == "established")] | length')))
done
printf '  %d interconnects up: Noise XX sessions, certificates checked both ways.\n' \
	$((sessions / 2))
printf '  %s is nobody'"'"'s peer; its calls arrive on trunk groups mapped to its name.\n' \
	"$offnet"
show "hoptrace peers      (at $initiator)"
net_ht "$initiator" peers | sed 's/^./  &/'

# ---- the traceback ---------------------------------------------------------
calling=$(net_expect calling)
called=$(net_expect called)
when=$(net_expect time)
say "5. $initiator traces one campaign call"
cat <<EOF
  A subscriber reports a robocall from $calling to $called,
  which $initiator's switch recorded at $when.
  No number crosses the wire in clear; each carrier answers only about
  calls it handed to the carrier that asks, and signs its answer.
EOF

label="campaign via $origin, reported by a subscriber"
show "hoptrace trace start --calling $calling --called $called --time $when \\"
printf "      --label '%s' --watch\n" "$label"
{
	rc=0
	net_ht "$initiator" trace start --calling "$calling" --called "$called" --time "$when" \
		--label "$label" --watch || rc=$?
	echo $rc >trace.rc
} | tee trace.out | sed -u 's/^./  &/'
[ "$(cat trace.rc)" = 0 ] || die "the trace did not reach the origin (exit $(cat trace.rc))"
id=$(sed -n 's/^trace \([0-9a-f]\{32\}\)$/\1/p' trace.out | head -n 1)
[ -n "$id" ] || die "trace start printed no trace ID"

say "6. The evidence, checked offline"
out=${DEMO_OUT:-$bin/../demo}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cp "$W/anchor.pub" "$out/anchor.pub"
show "hoptrace trace export $id -o evidence.bundle"
net_ht "$initiator" trace export "$id" -o "$out/evidence.bundle" --force --json >export.json ||
	die "trace export failed"
printf '  one file: the signed request, the opening of its call commitment, %s signed\n' \
	"$(jq .answers export.json)"
printf '  answers and the certificates; %s bytes\n' "$(jq .bytes export.json)"
show "hoptrace verify evidence.bundle --anchor anchor.pub --dot evidence.dot"
verified=yes
"$NET_HT" verify "$out/evidence.bundle" --anchor "$out/anchor.pub" --dot "$out/evidence.dot" \
	>verify.out 2>&1 || verified=no
sed 's/^./  &/' verify.out
"$NET_HT" verify "$out/evidence.bundle" --anchor "$out/anchor.pub" --json >"$out/evidence.json" \
	2>/dev/null || verified=no

# ---- summary ---------------------------------------------------------------
path=$(jq -r '[.tree[0] | recurse(.children[]?) | .provider] | reverse | join(" -> ")' \
	"$out/evidence.json" 2>/dev/null) || path=""
truth=$(awk '$1 == "hop" {print $3}' gen/expect.txt | sed '1!G;h;$!d' | paste -sd' ' |
	sed 's/ / -> /g')
customer=$(jq -r '.origins[0].customer_ref // empty' "$out/evidence.json" 2>/dev/null) || customer=""
hops=$(jq -r '.answers' "$out/evidence.json" 2>/dev/null) || hops="?"
# From the evidence: when the last answer was signed, and how far apart the
# carriers' records of the call lie.
answered=$(jq '([.tree[0] | recurse(.children[]?) | .answered_ms] | max) - .request.created_ms' \
	"$out/evidence.json" 2>/dev/null) || answered="?"
spread=$(jq -r '[.tree[0] | recurse(.children[]?) | .calls[]?.record_time_ms] | max - min' \
	"$out/evidence.json" 2>/dev/null | awk '{printf "%.1f", $1 / 1000}') || spread="?"
tol=$(jq -r '.request.tolerance_ms / 1000' "$out/evidence.json" 2>/dev/null) || tol="?"
say "Summary"
printf '  path       %s\n' "${path:-?}"
printf '  origin     %s, customer reference %s\n' "$origin" "${customer:-?}"
printf '             (opaque by default: only %s can tell which customer it is)\n' "$origin"
if [ "$verified" = yes ]; then
	printf '  evidence   VERIFIED offline against the anchor: %s signed answers, their\n' "$hops"
	printf '             certificates, the call commitment and the hop-by-hop chain\n'
else
	printf '  evidence   NOT VERIFIED (see the verify output above)\n'
fi
printf '  speed      the last of %s answers signed %s ms after the request\n' "$hops" "$answered"
printf '  matching   the records of this call lie %s s apart along the path (clocks,\n' "$spread"
printf '             switching, a route advance), yet each hop searched only +/- %s s\n' "$tol"
printf '             around the time the hop below recorded\n'
printf '  demo       %d ms in all\n' "$(ms_since "$t_start")"
printf '  files      %s/evidence.{bundle,dot,json}, anchor.pub\n' "${out#"$here"/}"
if [ "$path" = "$truth" ]; then
	printf '  check      the path is the one the generator sent the call along\n'
else
	printf '  check      MISMATCH: the generator sent the call along %s\n' "$truth"
fi

say "Stopping"
net_stop || die "a daemon did not stop cleanly"
left=$(find "$W" -type s)
[ -z "$left" ] || die "sockets left behind: $left"
printf '  %d daemons stopped with SIGTERM; no process or socket left behind.\n' \
	"$(echo "$ids" | wc -w)"
[ "$verified" = yes ] || die "the evidence did not verify"
[ "$path" = "$truth" ] || die "the traced path is not the call's path"
