#!/bin/sh
# CDR import end to end: the CLI streams a CSV with 1% bad rows to a real
# hoptraced, many chunks in flight; every good row is imported, every bad
# one reported by line; a second import stores nothing twice; stats,
# lookup and audit answer. Then the protocol by hand, pipelined on one
# connection: replies in request order across deferred import chunks and
# other commands, and a failed import's later chunks refused unread up to
# its last one.
#
# usage: cdr_test.sh BINDIR
set -u
bin=$(cd "$1" && pwd)
HT=$bin/hoptrace
HD=$bin/hoptraced
W=$(mktemp -d "${TMPDIR:-/tmp}/hoptrace-cdr.XXXXXX")
pid=""
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT
cd "$W"
n=0
fail() {
	echo "FAIL: $*" >&2
	[ -f d.log ] && tail -20 d.log >&2
	echo "$n passed, 1 failed"
	exit 1
}
ok() { n=$((n + 1)); }

"$HT" ca init -o ca >/dev/null && "$HT" keygen -o A >/dev/null &&
	"$HT" ca sign --ca ca --id TERM-CO --pub A.pub --days 30 -o A.cert >/dev/null ||
	fail "identity"
cat >A.conf <<CONF
[identity]
provider_id = TERM-CO
key = A.key
certificate = A.cert
[trust]
anchor = ca.pub
[control]
socket = $W/A.sock
[state]
directory = $W/state
[store]
country_code = 1
[trunks]
tg-transit = TRANSIT-1
tg-orig = ORIG-TEL
tg-subs = local
CONF
"$HD" -c A.conf 2>d.log &
pid=$!
i=0
until "$HT" status -s "$W/A.sock" >/dev/null 2>&1; do
	[ $i -lt 100 ] || fail "daemon did not start"
	sleep 0.05
	i=$((i + 1))
done

# 100,000 rows (about 6 MB: 24 chunks, more than the CLI keeps in flight);
# every 100th has an unknown trunk group (1%).
awk 'BEGIN {
	print "time,calling,called,in_trunk,out_trunk,customer_ref,attestation"
	for (i = 0; i < 100000; i++) {
		if (i % 100 == 99) {
			printf "%.0f,+1202%07d,+1303%07d,tg-typo,tg-subs,,\n", 1767225600000 + i * 100, i, i
			continue
		}
		if (i % 2)
			printf "%.0f,+1202%07d,+1303%07d,tg-transit,tg-subs,,B\n", 1767225600000 + i * 100, i, i
		else
			printf "%.0f,(202) %03d-%04d,303%07d,tg-subs,tg-orig,cust-%d,A\n", 1767225600000 + i * 100, 200 + int(i / 10000), i % 10000, i, i
	}
}' >calls.csv

"$HT" cdr import -s "$W/A.sock" calls.csv >out.txt 2>err.txt
[ $? -eq 1 ] || fail "import with bad rows should exit 1"
ok
[ "$(grep -c 'calls.csv:[0-9]*: unknown_trunk:' err.txt)" -eq 1000 ] ||
	fail "not every bad row reported: $(grep -c unknown_trunk err.txt)"
# Every bad row by its line, in order: 101, 201, ..., 100001.
grep -o '^calls.csv:[0-9]*:' err.txt | cut -d: -f2 >lines.txt
awk 'BEGIN { for (l = 101; l <= 100001; l += 100) print l }' >want.txt
cmp -s lines.txt want.txt || fail "bad rows not reported by their line: $(head -3 err.txt)"
grep -q '^imported *99000$' out.txt && grep -q '^rejected *1000$' out.txt &&
	grep -q '^duplicates *0$' out.txt || fail "summary: $(cat out.txt)"
ok
"$HT" cdr import --json -s "$W/A.sock" calls.csv >again.json 2>/dev/null
jq -e '.imported == 0 and .duplicates == 99000 and .rejected == 1000' again.json >/dev/null ||
	fail "second import: $(cat again.json)"
jq -e --argjson b "$(wc -c <calls.csv)" '.bytes == $b and (.errors | length) == 1000' again.json \
	>/dev/null || fail "second import: $(jq -c '{bytes, n: (.errors | length)}' again.json)"
ok
"$HT" cdr stats --json -s "$W/A.sock" >stats.json || fail "cdr stats"
jq -e '.records == 99000' stats.json >/dev/null || fail "records: $(cat stats.json)"
jq -e '[.peers[] | select(.provider_id == "TRANSIT-1")][0].as_upstream == 49000' stats.json \
	>/dev/null || fail "per-peer counts: $(cat stats.json)"
jq -e '[.peers[] | select(.provider_id == "ORIG-TEL")][0].as_downstream == 50000' stats.json \
	>/dev/null || fail "per-peer counts: $(cat stats.json)"
ok

# Row 42 (even): from a subscriber to ORIG-TEL, in national form in the file.
t=$((1767225600000 + 42 * 100))
"$HT" cdr lookup --json -s "$W/A.sock" --calling '+1 202 200 0042' --called 3030000042 \
	--time "$t" --tolerance 2 >hit.json || fail "lookup of an existing call"
jq -e '.records | length == 1' hit.json >/dev/null || fail "lookup: $(cat hit.json)"
jq -e '.records[0].downstream == "ORIG-TEL" and .records[0].customer_ref == "cust-42"' hit.json \
	>/dev/null || fail "lookup record: $(cat hit.json)"
ok
if "$HT" cdr lookup -s "$W/A.sock" --calling 12022000042 --called 13030000042 \
	--time $((t + 60000)) --tolerance 2 >/dev/null 2>&1; then
	fail "lookup outside the window found something"
fi
ok
"$HT" audit --json -s "$W/A.sock" >audit.json || fail "audit"
jq -e '.entries | length == 0' audit.json >/dev/null || fail "audit: $(cat audit.json)"
ok

# The protocol by hand (spec/control.md, sections 4.1 and 6.4): every
# request written before any reply is read. Prints one line per reply:
# the command answered, the result, and for imports the counters.
cat >pipe.py <<'PY'
import socket, struct, sys

def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])

def field(num, wire, payload):
    key = varint(num << 3 | wire)
    if wire == 2:
        return key + varint(len(payload)) + payload
    return key + varint(payload)

def request(cmd, body=b""):
    msg = field(1, 0, 1) + field(cmd, 2, body)
    return struct.pack(">I", len(msg)) + msg

def chunk(data, last=False):
    body = field(1, 2, data) + (field(2, 0, 1) if last else b"")
    return request(11, body)

def parse(buf):
    out, i = {}, 0
    while i < len(buf):
        key, shift = 0, 0
        while True:
            b = buf[i]; i += 1
            key |= (b & 0x7F) << shift; shift += 7
            if not b & 0x80:
                break
        num, wire = key >> 3, key & 7
        if wire == 0:
            v, shift = 0, 0
            while True:
                b = buf[i]; i += 1
                v |= (b & 0x7F) << shift; shift += 7
                if not b & 0x80:
                    break
        else:
            n, shift = 0, 0
            while True:
                b = buf[i]; i += 1
                n |= (b & 0x7F) << shift; shift += 7
                if not b & 0x80:
                    break
            v = buf[i:i + n]; i += n
        out.setdefault(num, []).append(v)
    return out

s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.settimeout(30)
t0 = 1767225600000 + 10**9
def row(i, trunk="tg-transit"):
    return b"%d,+1202%07d,+1404%07d,%s,tg-subs\n" % (t0 + i, i, i, trunk.encode())
head = b"time,calling,called,in_trunk,out_trunk\n"
rows = b"".join(row(i, "tg-typo" if i == 7 else "tg-transit") for i in range(2000))
cut = len(head) + len(rows) // 2 + 5  # in the middle of a row
stream = head + rows
if sys.argv[2] == "order":
    reqs = [request(8),
            chunk(stream[:cut]), chunk(stream[cut:-100]), request(9),
            chunk(stream[-100:], True), request(9),
            chunk(head + row(5000), True), request(12)]
    acked = [cut, len(stream) - 100, len(stream), len(head + row(5000))]
else:  # a header that cannot be used, then chunks of the same stream, then a new import
    bad = b"time,calling,nonsense\n" + rows
    reqs = [request(8), chunk(bad[:5000]), chunk(bad[5000:10000]), request(9),
            chunk(bad[10000:], True), chunk(head + row(6000), True)]
    acked = [5000, 10000, len(bad), len(head + row(6000))]
s.sendall(b"".join(reqs))
buf = b""
for _ in reqs:
    while len(buf) < 4 or len(buf) < 4 + struct.unpack(">I", buf[:4])[0]:
        more = s.recv(65536)
        if not more:
            sys.exit("connection closed early")
        buf += more
    n = struct.unpack(">I", buf[:4])[0]
    m, buf = parse(buf[4:4 + n]), buf[4 + n:]
    result = m.get(2, [0])[0]
    cmd = max(k for k in m if k >= 8 or k == 1)
    line = "%d %d" % (cmd, result)
    if 11 in m:
        p = parse(m[11][0])
        if p.get(4, [0])[0] != acked.pop(0):  # bytes_acked: up to this chunk, exactly
            sys.exit("bytes_acked %d: %r" % (p.get(4, [0])[0], p))
        line += " imported=%d rejected=%d dup=%d bytes=%d errors=%d done=%d" % (
            p.get(1, [0])[0], p.get(2, [0])[0], p.get(3, [0])[0], p.get(4, [0])[0],
            len(p.get(5, [])), p.get(7, [0])[0])
    if 3 in m:
        line += " detail=" + m[3][0].decode()
    print(line)
PY
python3 pipe.py "$W/A.sock" order >order.txt 2>&1 || fail "pipelined requests: $(cat order.txt)"
# hello; three chunks (the first ends mid-row; a status after the second);
# a status; a new import of one row; stats. 1999 good rows, line 9 bad.
{
	sed -n 1p order.txt | grep -qx '8 0' &&
		sed -n 2p order.txt | grep -q '^11 0 imported=[0-9]* rejected=1 dup=0 bytes=[0-9]* errors=1 done=0$' &&
		sed -n 3p order.txt | grep -q '^11 0 .* rejected=1 .* errors=0 done=0$' &&
		sed -n 4p order.txt | grep -q '^9 0$' &&
		sed -n 5p order.txt | grep -q '^11 0 imported=1999 rejected=1 dup=0 bytes=[0-9]* errors=0 done=1$' &&
		sed -n 6p order.txt | grep -q '^9 0$' &&
		sed -n 7p order.txt | grep -q '^11 0 imported=1 rejected=0 dup=0 bytes=[0-9]* errors=0 done=1$' &&
		sed -n 8p order.txt | grep -q '^12 0$'
} || fail "pipelined replies out of order or wrong: $(cat order.txt)"
ok
python3 pipe.py "$W/A.sock" badheader >bad.txt 2>&1 || fail "pipelined bad header: $(cat bad.txt)"
# The header is refused (result 1: CONTROL_RESULT_ERROR); the rest of that
# stream is refused unread, the status between answered in its place; the
# next stream imports.
{
	sed -n 2p bad.txt | grep -q '^11 1 .*detail=import stopped: the header row is unusable$' &&
		sed -n 3p bad.txt | grep -q '^11 1 .*done=0 detail=import stopped at an earlier chunk' &&
		sed -n 4p bad.txt | grep -q '^9 0$' &&
		sed -n 5p bad.txt | grep -q '^11 1 .*done=1 detail=import stopped at an earlier chunk' &&
		sed -n 6p bad.txt | grep -q '^11 0 imported=1 rejected=0 dup=0 bytes=[0-9]* errors=0 done=1$'
} || fail "a failed import's stream: $(cat bad.txt)"
ok
"$HT" cdr stats --json -s "$W/A.sock" >stats2.json || fail "cdr stats"
jq -e '.records == 99000 + 1999 + 1 + 1' stats2.json >/dev/null || fail "records: $(cat stats2.json)"
ok
kill -TERM "$pid"
wait "$pid" || fail "daemon did not stop cleanly"
pid=""
echo "$n passed, 0 failed"
