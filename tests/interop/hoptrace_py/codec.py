"""Protobuf access: classes generated from proto/ by protoc at run time, and a strict decoder.

Encoding uses the generated classes (SerializeToString gives the canonical encoding of spec
section 2.7 for these schemas; check_vectors.py checks that against every vector). Decoding
applies the rules D1 to D8 of section 2.6 itself, because the protobuf library is laxer: it
treats a known field with the wrong wire type as unknown, skips groups, and merges repeated
embedded messages. The decoder walks the records, checks them against the schema's
descriptors, and fills a message of the generated class with the values the rules give.
"""

import glob
import importlib
import os
import subprocess
import sys

from .errors import HtError

_mods = {}
_classes = {}
_by_full_name = {}


def init(proto_dir, build_dir, protoc="protoc"):
    """Generate *_pb2.py from proto_dir/hoptrace/v1/*.proto into build_dir and import them."""
    if _mods:
        return
    protos = sorted(glob.glob(os.path.join(proto_dir, "hoptrace", "v1", "*.proto")))
    if not protos:
        raise RuntimeError(f"no .proto files under {proto_dir}/hoptrace/v1")
    out = os.path.join(build_dir, "pb")
    os.makedirs(out, exist_ok=True)
    subprocess.run([protoc, f"-I{proto_dir}", f"--python_out={out}"] + protos, check=True)
    if out not in sys.path:
        sys.path.insert(0, out)
    for p in protos:
        name = os.path.basename(p)[: -len(".proto")] + "_pb2"
        mod = importlib.import_module(f"hoptrace.v1.{name}")
        _mods[name] = mod
        for mname in mod.DESCRIPTOR.message_types_by_name:
            cls = getattr(mod, mname)
            _classes[mname] = cls
            _by_full_name[cls.DESCRIPTOR.full_name] = cls


def __getattr__(name):
    """codec.Certificate, codec.TraceRequest, ...: the generated message classes."""
    if name in _classes:
        return _classes[name]
    raise AttributeError(name)


def by_full_name(name):
    """The generated class of a message by its full name, e.g. hoptrace.v1.Ping."""
    return _by_full_name[name]


def encode(msg):
    return msg.SerializeToString(deterministic=True)


# --- strict decoding (section 2.6) ---------------------------------------------------------

_T_UINT64, _T_UINT32, _T_BOOL, _T_ENUM = 4, 13, 8, 14
_T_BYTES, _T_STRING, _T_MESSAGE = 12, 9, 11
_INT_TYPES = (_T_UINT64, _T_UINT32, _T_BOOL, _T_ENUM)
_LABEL_REPEATED = 3
_M64 = (1 << 64) - 1


def _malformed(detail):
    return HtError("malformed", detail)


def _varint(data, pos, max_len):
    """D4: at most max_len octets; bits past the 64th discarded. Returns (value, new pos)."""
    value = 0
    for i in range(max_len):
        if pos + i >= len(data):
            raise _malformed("varint cut short")
        b = data[pos + i]
        value |= (b & 0x7F) << (7 * i)
        if not b & 0x80:
            return value & _M64, pos + i + 1
    raise _malformed(f"varint longer than {max_len} octets")


def _records(data):
    """D1 to D3: yields (field number, wire type, value) with value an int (wire type 0),
    or the octets (wire types 1, 2, 5)."""
    pos, n = 0, len(data)
    while pos < n:
        tag, pos = _varint(data, pos, 5)  # D2
        field, wt = tag >> 3, tag & 7
        if field == 0:
            raise _malformed("field number 0")
        if wt == 0:
            value, pos = _varint(data, pos, 10)
        elif wt == 1 or wt == 5:
            size = 8 if wt == 1 else 4
            if pos + size > n:
                raise _malformed("fixed-size value cut short")
            value, pos = data[pos:pos + size], pos + size
        elif wt == 2:
            length, pos = _varint(data, pos, 5)  # D4: a length has at most 5 octets
            if length > n - pos:
                raise _malformed("length runs past the end")
            value, pos = data[pos:pos + length], pos + length
        else:  # D3: groups (3, 4) and 6, 7
            raise _malformed(f"wire type {wt}")
        yield field, wt, value


def _scalar(fd, v):
    """D4: 32-bit fields take the low 32 bits; an enum reads them as signed."""
    if fd.type == _T_UINT32:
        return v & 0xFFFFFFFF
    if fd.type == _T_ENUM:
        v &= 0xFFFFFFFF
        return v - (1 << 32) if v & 0x80000000 else v
    if fd.type == _T_BOOL:
        return v != 0
    return v


def _packed(data):
    out, pos = [], 0
    while pos < len(data):
        try:
            v, pos = _varint(data, pos, 10)
        except HtError:
            raise _malformed("packed field is not a whole number of varints")
        out.append(v)
    return out


def decode(cls, data):
    """Decode `data` as message class `cls` by rules D1 to D8; raise HtError(malformed)."""
    data = bytes(data)
    msg = cls()
    _fill(msg, data)
    return msg


def _fill(msg, data):
    desc = msg.DESCRIPTOR
    singular = {}   # field name -> last value (D6)
    repeated = {}   # field name -> list
    oneof_last = {}  # oneof name -> last member name
    for field, wt, value in _records(data):
        fd = desc.fields_by_number.get(field)
        if fd is None:
            continue  # D7
        rep = fd.label == _LABEL_REPEATED
        if fd.type in _INT_TYPES:
            if wt == 0:
                vals = [value]
            elif wt == 2 and rep:  # D5: packed form of a repeated integer field
                vals = _packed(value)
            else:
                raise _malformed(f"field {field}: wire type {wt}")
            vals = [_scalar(fd, v) for v in vals]
        elif fd.type in (_T_BYTES, _T_STRING, _T_MESSAGE):
            if wt != 2:
                raise _malformed(f"field {field}: wire type {wt}")
            if fd.type == _T_MESSAGE:
                sub = _by_full_name[fd.message_type.full_name]()
                _fill(sub, value)  # a malformed embedded message makes this one malformed
                vals = [sub]
            elif fd.type == _T_STRING:
                # The library would refuse invalid UTF-8; section 8.5.3 lets a receiver accept
                # any octets in a string, which are for logs only.
                vals = [value.decode("utf-8", "replace")]
            else:
                vals = [value]
        else:
            raise _malformed(f"field {field}: type not in the schemas")  # not used in v1
        if rep:
            repeated.setdefault(fd.name, []).extend(vals)
        else:
            singular[fd.name] = vals[-1]
            if fd.containing_oneof is not None:
                oneof_last[fd.containing_oneof.name] = fd.name
    for name, value in singular.items():
        fd = desc.fields_by_name[name]
        if fd.containing_oneof is not None and oneof_last[fd.containing_oneof.name] != name:
            continue  # D6: the member whose record comes last
        if fd.type == _T_MESSAGE:
            sub = getattr(msg, name)
            sub.SetInParent()  # D8: a present member with every field at its default
            sub.CopyFrom(value)
        else:
            setattr(msg, name, value)
    for name, values in repeated.items():
        fd = desc.fields_by_name[name]
        field = getattr(msg, name)
        if fd.type == _T_MESSAGE:
            for v in values:
                field.add().CopyFrom(v)
        else:
            field.extend(values)


def varint_bytes(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)
