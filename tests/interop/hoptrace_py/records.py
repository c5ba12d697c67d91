"""Call records from a CSV file in the format of docs/cdr-csv.md, normalised by spec/numbers.md
and with trunk groups mapped to peers, as a hop matches them (spec/protocol.md 11.6)."""

import csv
import datetime
import io
import re

from . import cert as certmod
from . import numbers

REQUIRED = ("time", "calling", "called", "in_trunk", "out_trunk")
OPTIONAL = ("customer_ref", "attestation", "origid", "call_id")
ATTESTATIONS = {"": 0, "A": 1, "B": 2, "C": 3}
_MS = re.compile(r"[1-9][0-9]{12}")
_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class Record:
    """One call: `upstream` None when it originated here, `downstream` None when it was
    terminated here; numbers are E.164 digits (bytes)."""

    __slots__ = ("line", "time_ms", "calling", "called", "upstream", "downstream",
                 "customer_ref", "attestation", "origid")

    def __init__(self, **kw):
        for k in self.__slots__:
            setattr(self, k, kw.get(k))


class RowError(Exception):
    def __init__(self, reason, message):
        super().__init__(f"{reason}: {message}")
        self.reason = reason


def parse_time(text):
    """RFC 3339 with Z or an offset (digits past milliseconds dropped), or 13-digit epoch ms."""
    if _MS.fullmatch(text):
        return int(text)
    m = _RFC3339.fullmatch(text)
    if not m:
        raise RowError("bad_time", f"time: {text[:40]!r} is not RFC 3339 with an offset, "
                                   "nor 13-digit milliseconds")
    y, mo, d, h, mi, s, frac, off = m.groups()
    try:
        t = datetime.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s),
                              tzinfo=datetime.timezone.utc)
    except ValueError as e:
        raise RowError("bad_time", f"time: {e}")
    ms = int(t.timestamp()) * 1000 + (int((frac[1:] + "000")[:3]) if frac else 0)
    if off not in ("Z", "z"):
        sign = 1 if off[0] == "+" else -1
        ms -= sign * (int(off[1:3]) * 3600 + int(off[4:6]) * 60) * 1000
    return ms


def _trunk(name, trunks, column):
    """None for here (empty or local), else the provider ID (bytes)."""
    if name == "":
        return None
    target = trunks.get(name)
    if target is None:
        raise RowError("unknown_trunk", f"{column}: unknown trunk group {name[:40]!r}")
    if target == "local":
        return None
    if not certmod.valid_provider_id(target.encode()):
        raise RowError("unknown_trunk", f"{column}: trunk group {name[:40]!r} maps to an "
                                        "invalid provider ID")
    return target.encode()


def _number(text, cc, column):
    try:
        return numbers.normalise(text.encode(), cc)
    except numbers.NumberError as e:
        raise RowError("bad_number", f"{column}: not a phone number ({e.name})")


def _row(cells, cols, trunks, cc, line):
    f = {c: cells[i] for c, i in cols.items()}
    t = parse_time(f["time"])
    calling = _number(f["calling"], cc, "calling")
    called = _number(f["called"], cc, "called")
    upstream = _trunk(f["in_trunk"], trunks, "in_trunk")
    downstream = _trunk(f["out_trunk"], trunks, "out_trunk")
    ref = f.get("customer_ref", "")
    if len(ref.encode()) > 64 or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in ref):
        raise RowError("bad_text", "customer_ref: over 64 bytes or a control character")
    att = f.get("attestation", "").upper()
    if att not in ATTESTATIONS:
        raise RowError("bad_attestation", f"attestation: {att[:40]!r} is not A, B, C or empty")
    origid = f.get("origid", "")
    if origid and not _UUID.fullmatch(origid):
        raise RowError("bad_uuid", f"origid: {origid[:40]!r} is not a UUID")
    return Record(line=line, time_ms=t, calling=calling, called=called, upstream=upstream,
                  downstream=downstream,
                  customer_ref=ref.encode() if upstream is None else b"",  # only originated here
                  attestation=ATTESTATIONS[att],
                  origid=bytes.fromhex(origid.replace("-", "")) if origid else b"")


def load(data, trunks, cc):
    """Parse CSV octets. Returns (records sorted by time, [(line, reason, message)])."""
    text = data.decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    cols, out, errors = None, [], []
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            errors.append((reader.line_num, "bad_quote", str(e)))
            if cols is None:
                break
            continue
        line = reader.line_num
        if not cells:
            continue  # an empty line
        if cols is None:
            names = [c.lower() for c in cells]
            bad = [c for c in names if c not in REQUIRED + OPTIONAL]
            missing = [c for c in REQUIRED if c not in names]
            if bad or missing or len(set(names)) != len(names):
                errors.append((line, "bad_header", f"unknown {bad}, missing {missing}"))
                return [], errors
            cols = {c: i for i, c in enumerate(names)}
            continue
        if len(cells) != len(cols):
            errors.append((line, "missing_field" if len(cells) < len(cols) else "extra_field",
                           f"{len(cells)} fields, the header has {len(cols)}"))
            continue
        try:
            out.append(_row(cells, cols, trunks, cc, line))
        except RowError as e:
            errors.append((line, e.reason, str(e)))
    if cols is None and not errors:
        errors.append((1, "bad_header", "no header row"))
    out.sort(key=lambda r: r.time_ms)
    return out, errors
