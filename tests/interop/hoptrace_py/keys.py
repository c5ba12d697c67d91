"""Key files (spec/protocol.md section 4)."""

import os
import re
import stat

from . import crypto
from .errors import fail

MAX_KEY_FILE = 4096
TYPES = {
    "provider-secret": ("sign-seed", "noise-secret"),
    "provider-public": ("sign-key", "noise-key"),
    "anchor-secret": ("sign-seed",),
    "anchor-public": ("sign-key",),
}
_HEX64 = re.compile(rb"[0-9a-fA-F]{64}")
_COMMENTS = {
    "provider-secret": "# HopTrace provider secret key. Keep it private: mode 0600, never share it.",
    "provider-public": "# HopTrace provider public key.",
    "anchor-secret": "# HopTrace trust anchor secret key. Keep it private: mode 0600, never share it.",
    "anchor-public": "# HopTrace trust anchor public key.",
}


class KeyFile:
    """A parsed key file: `type` and the 32-octet values by field name, public keys derived."""

    def __init__(self, ktype, fields):
        self.type = ktype
        self.fields = fields
        if "sign-seed" in fields:
            fields["sign-key"] = crypto.ed25519_public(fields["sign-seed"])
        if "noise-secret" in fields:
            fields["noise-key"] = crypto.x25519_public(fields["noise-secret"])

    def __getattr__(self, name):
        try:
            return self.fields[name.replace("_", "-")]
        except KeyError:
            raise AttributeError(name)


def parse(data):
    """Section 4.2, steps 1 to 7."""
    if len(data) > MAX_KEY_FILE:
        fail("too_large", "key file over 4096 octets")
    ktype, fields = None, {}
    for line in data.split(b"\n"):  # step 1
        if line.endswith(b"\r"):  # step 2
            line = line[:-1]
        if b"\0" in line:  # step 3
            fail("malformed", "NUL in a key file line")
        if not line or line[:1] == b"#":  # step 4
            continue
        if ktype is None:  # step 5
            if not line.startswith(b"hoptrace-key v1 "):
                fail("malformed", "bad key file header")
            t = line[len(b"hoptrace-key v1 "):].decode("ascii", "replace")
            if t not in TYPES:
                fail("malformed", "unknown key file type")
            ktype = t
            continue
        name, sep, value = line.partition(b" ")  # step 6
        name = name.decode("ascii", "replace")
        if not sep or name not in ("sign-seed", "noise-secret", "sign-key", "noise-key"):
            fail("malformed", "bad field line")
        if name in fields:
            fail("malformed", f"field {name} twice")
        if not _HEX64.fullmatch(value):
            fail("malformed", f"field {name} is not 64 hex digits")
        fields[name] = bytes.fromhex(value.decode())
    if ktype is None:
        fail("malformed", "no header")
    if set(fields) != set(TYPES[ktype]):  # step 7
        fail("malformed", f"fields of {ktype} are {TYPES[ktype]}")
    return KeyFile(ktype, fields)


def load(path, expected_type):
    """Section 4.4, checks 1 to 5."""
    try:
        st = os.stat(path)
    except OSError as e:
        fail("io", str(e))
    if not stat.S_ISREG(st.st_mode):
        fail("io", "not a regular file")
    if expected_type.endswith("-secret"):
        if st.st_mode & 0o077:
            fail("key_permissions", "group or others have access")
        if st.st_uid not in (os.geteuid(), 0):
            fail("key_permissions", "owned by another user")
    if st.st_size > MAX_KEY_FILE:
        fail("too_large")
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_KEY_FILE + 1)
    except OSError as e:
        fail("io", str(e))
    kf = parse(data)
    if kf.type != expected_type:
        fail("wrong_key_type", f"{kf.type}, expected {expected_type}")
    return kf


def text(ktype, values):
    """Section 4.3: the exact text a writer produces. `values` maps field name to 32 octets."""
    lines = [_COMMENTS[ktype], "hoptrace-key v1 " + ktype]
    lines += [f"{name} {values[name].hex()}" for name in TYPES[ktype]]
    return "\n".join(lines) + "\n"


def write(path, ktype, values):
    mode = 0o600 if ktype.endswith("-secret") else 0o644
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text(ktype, values))
