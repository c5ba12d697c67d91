#!/bin/sh
# Integration test: the demo's network (demo/demo.net) on real daemons,
# brought up with tracenet.sh.
#   - ht_netgen is deterministic: the same seed gives the same files;
#   - seven daemons start on free loopback ports; every session between
#     interconnected HopTrace carriers comes up; the carrier that does not
#     run HopTrace is no daemon's peer, only a trunk-group target;
#   - each carrier's import reports exactly what ht_netgen generated:
#     imported, rejected (each bad row by its line) and duplicate rows, and
#     the store then holds that many records;
#   - the campaign call to trace is in each carrier's store on its path, at
#     the time ht_netgen says, handed on by the upstream it names, with two
#     legs where the route advanced, and the origin's customer reference;
#   - SIGTERM stops every daemon with status 0 and no socket left behind.
#
# usage: net_test.sh BINDIR [NETWORK]   (NETWORK: default demo/demo.net)
set -u
here=$(cd "$(dirname "$0")" && pwd)
bin=$(cd "$1" && pwd)
desc=${2:-$here/../../demo/demo.net}
# shellcheck source-path=SCRIPTDIR source=tracenet.sh
. "$here/tracenet.sh"
n=0
fail() {
	echo "FAIL: $*" >&2
	echo "$n passed, 1 failed"
	exit 1
}
ok() { n=$((n + 1)); }

net_init "" "$bin" || fail "net_init"
G=$NET_DIR/gen
"$bin/ht_netgen" --seed 7 -o "$G" "$desc" >"$NET_DIR/expect.out" || fail "ht_netgen"
"$bin/ht_netgen" --seed 7 -o "$NET_DIR/gen2" "$desc" >/dev/null || fail "ht_netgen (again)"
diff -r "$G" "$NET_DIR/gen2" >/dev/null || fail "ht_netgen: the same seed made different files"
cmp -s "$NET_DIR/expect.out" "$G/expect.txt" || fail "ht_netgen: stdout is not expect.txt"
"$bin/ht_netgen" --seed 8 -o "$NET_DIR/gen3" "$desc" >/dev/null || fail "ht_netgen (seed 8)"
if cmp -s "$G/TERM-TEL.csv" "$NET_DIR/gen3/TERM-TEL.csv"; then
	fail "ht_netgen: another seed made the same records"
fi
ok

# Bad descriptions are refused with file:line.
printf 'carrier A\ncarrier B\nlink A C\n' >"$NET_DIR/bad.net"
if "$bin/ht_netgen" -o "$NET_DIR/gen4" "$NET_DIR/bad.net" 2>"$NET_DIR/bad.err"; then
	fail "ht_netgen accepted a link to an unknown carrier"
fi
grep -q 'bad.net:3: link: unknown carrier C' "$NET_DIR/bad.err" ||
	fail "ht_netgen's error: $(cat "$NET_DIR/bad.err")"
ok

net_load "$G/network.txt" || fail "net_load"
daemons=$(net_ids --daemons | wc -l)
if [ "$(net_ids | wc -l)" -lt 7 ] || [ "$daemons" -eq "$(net_ids | wc -l)" ]; then
	fail "the demo network needs 7+ carriers, one of them without HopTrace"
fi
net_start || fail "net_start"
net_wait_established 20 || fail "sessions"
ok

# Every configured peer is established, seen from both sides; the
# non-participant is nobody's peer.
offnet=$(awk '$1 == "carrier" && / offnet/ {print $2}' "$G/network.txt")
[ -n "$offnet" ] || fail "no carrier without HopTrace in network.txt"
links=0
for id in $(net_ids --daemons); do
	want=$(wc -l <"$NET_DIR/c/$id/peers")
	got=$(net_ht "$id" peers --json | jq '[.peers[] | select(.state == "established")] | length')
	[ "$got" = "$want" ] || fail "$id: $got of $want sessions established"
	net_ht "$id" peers --json | jq -e --arg o "$offnet" \
		'[.peers[] | select(.provider_id == $o)] | length == 0' >/dev/null ||
		fail "$id lists $offnet, which runs no daemon, as a peer"
	links=$((links + want))
done
[ "$links" -ge 14 ] || fail "only $((links / 2)) interconnects between HopTrace carriers"
ok

# Imports: exactly what ht_netgen generated.
for id in $(net_ids --daemons); do
	line=$(grep "^import $id " "$G/expect.txt") || fail "expect.txt has no import line for $id"
	exp() { echo "$line" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
	net_import "$id" "$G/$id.csv"
	rc=$?
	want_rc=0
	[ "$(exp rejected)" -gt 0 ] && want_rc=1
	[ $rc -eq $want_rc ] || fail "$id: cdr import exited $rc: $(cat "$NET_DIR/c/$id/import.err")"
	j=$NET_DIR/c/$id/import.json
	for k in imported rejected duplicates; do
		[ "$(jq ".$k" "$j")" = "$(exp $k)" ] ||
			fail "$id: $k $(jq ".$k" "$j"), ht_netgen made $(exp $k)"
	done
	[ "$(exp imported)" -gt 1000 ] || fail "$id: only $(exp imported) records"
	bad=$(grep -c "^$G/$id.csv:[0-9]*: [a-z_]*: " "$NET_DIR/c/$id/import.err")
	[ "$bad" = "$(exp rejected)" ] || fail "$id: $bad bad rows reported by line"
	[ "$(net_ht "$id" cdr stats --json | jq .records)" = "$(exp imported)" ] ||
		fail "$id: the store does not hold $(exp imported) records"
	ok
done

# The traced call, hop by hop, in each store on its path.
tr=$(grep '^trace ' "$G/expect.txt") || fail "expect.txt has no trace line"
field() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
calling=$(field calling "$tr")
called=$(field called "$tr")
[ "$(field hops "$tr")" -ge 6 ] || fail "the campaign path has fewer than 6 hops"
origin=$(field origin "$tr")
advanced=0
while read -r _ h id rest; do
	t=$(field time_ms "$rest")
	legs=$(field legs "$rest")
	net_ht "$id" cdr lookup --json --calling "$calling" --called "$called" --time "$t" \
		--tolerance 5 >"$NET_DIR/hop$h.json" || fail "hop $h: $id has no record of the call"
	j=$NET_DIR/hop$h.json
	[ "$(jq '.records | length' "$j")" = "$legs" ] || fail "hop $h: $id: $(cat "$j")"
	jq -e --argjson t "$t" '[.records[] | select(.time_ms == $t)] | length == 1' "$j" \
		>/dev/null || fail "hop $h: $id: no record at $t: $(cat "$j")"
	up=$(field upstream "$rest")
	if [ -n "$up" ]; then
		jq -e --arg u "$up" 'all(.records[]; .upstream == $u)' "$j" >/dev/null ||
			fail "hop $h: $id: upstream is not $up: $(cat "$j")"
	else
		[ "$id" = "$origin" ] || fail "hop $h: $id is not the origin $origin"
		jq -e --arg c "$(field customer "$rest")" \
			'.records[0].upstream == null and .records[0].customer_ref == $c' "$j" \
			>/dev/null || fail "origin $id: $(cat "$j")"
	fi
	[ "$legs" = 2 ] && advanced=1
	ok
done <<EOF
$(grep '^hop ' "$G/expect.txt")
EOF
[ $advanced = 1 ] || fail "no route advance on the traced call's path"

# SIGTERM: every daemon exits 0 and removes its socket.
net_stop || fail "net_stop"
for id in $(net_ids --daemons); do
	[ ! -e "$(net_sock "$id")" ] || fail "$id left its socket"
done
ok
echo "$n passed, 0 failed"
