"""Provider IDs (3.1), certificates (6), revocation lists (7) and the verifier's trust (3.5)."""

import re

from . import codec, crypto, envelope
from .errors import HtError, fail

ROLE_INITIATOR = 1
CERT_FIELDS = {1, 2, 3, 4, 5, 6, 7, 8, 15}
CRL_FIELDS = {1, 2, 3, 4, 15}
MAX_CERT = 2048
MAX_CRL = 60000
_PROVIDER_ID = re.compile(rb"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")


def valid_provider_id(pid):
    """Section 3.1."""
    return isinstance(pid, (bytes, bytearray)) and _PROVIDER_ID.fullmatch(pid) is not None


class Trust:
    """A verifier's anchors and the revocation list it holds for each (sections 3.5, 7.4)."""

    def __init__(self, anchors=()):
        self.anchors = [bytes(a) for a in anchors]
        self.crls = {}  # anchor key -> (number, frozenset of serials)

    def add_anchor(self, key):
        if len(self.anchors) >= 16:  # a verifier MAY limit; the reference holds 16
            fail("too_large", "more than 16 anchors")
        self.anchors.append(bytes(key))

    def accept_crl(self, crl):
        """Section 7.4, steps 9 to 11, for a list parsed by parse_crl."""
        if crl.issuer not in self.anchors:
            fail("unknown_anchor", step=9)
        if not crl.env.verify(crl.issuer):
            fail("bad_signature", step=10)
        held = self.crls.get(crl.issuer)
        if held is not None and crl.number <= held[0]:
            fail("stale", f"list {crl.number}, holding {held[0]}", step=11)
        self.crls[crl.issuer] = (crl.number, frozenset(crl.serials))


class Cert:
    """A certificate that passed steps 1 to 10 of section 6.4."""

    def __init__(self, env, msg):
        self.env = env
        self.raw = env.raw
        self.msg = msg
        self.provider_id = bytes(msg.provider_id)
        self.sign_key = bytes(msg.sign_key)
        self.noise_key = bytes(msg.noise_key)
        self.issuer = bytes(msg.issuer)
        self.serial = msg.serial
        self.not_before = msg.not_before
        self.not_after = msg.not_after
        self.roles = set(msg.roles)

    def check(self, trust, now, roles=()):
        """Section 6.4, steps 11 to 16, at `now` in seconds."""
        if self.issuer not in trust.anchors:
            fail("unknown_anchor", step=11)
        if not self.env.verify(self.issuer):
            fail("bad_signature", step=12)
        if now < self.not_before:
            fail("not_yet_valid", step=13)
        if now >= self.not_after:
            fail("expired", step=14)
        held = trust.crls.get(self.issuer)
        if held is not None and self.serial in held[1]:
            fail("revoked", step=15)
        for r in roles:
            if r not in self.roles:
                fail("missing_role", step=16)
        return self


def parse_cert(data):
    """Section 6.4, steps 1 to 10."""
    env = envelope.parse(data, envelope.CERTIFICATE, MAX_CERT)  # steps 1 to 4
    msg = envelope.decode_body(codec.Certificate, env.body)  # step 5
    for c in msg.critical:  # step 6
        if c not in CERT_FIELDS:
            fail("unsupported_critical", f"critical field {c}", step=6)
    if not valid_provider_id(msg.provider_id):  # step 7
        fail("bad_provider_id", step=7)
    if len(msg.sign_key) != 32 or len(msg.noise_key) != 32 or len(msg.issuer) != 32:
        fail("malformed", "key not 32 octets", step=8)
    if msg.serial == 0 or not msg.not_before < msg.not_after:
        fail("malformed", "serial 0 or empty validity", step=9)
    if not crypto.ed25519_key_certifiable(bytes(msg.sign_key)):
        fail("weak_key", "sign_key", step=10)
    if crypto.x25519_small_order(bytes(msg.noise_key)):
        fail("weak_key", "noise_key", step=10)
    return Cert(env, msg)


def verify_cert(data, trust, now, roles=()):
    """Section 6.4, all steps. Returns the Cert or raises HtError."""
    return parse_cert(data).check(trust, now, roles)


def check_token(data, trust, now, roles=()):
    """The error token of section 6.4 for these octets, or "ok"."""
    try:
        verify_cert(data, trust, now, roles)
        return "ok"
    except HtError as e:
        return e.token


class Crl:
    def __init__(self, env, msg):
        self.env = env
        self.issuer = bytes(msg.issuer)
        self.number = msg.number
        self.issued_at = msg.issued_at
        self.serials = list(msg.serials)


def parse_crl(data):
    """Section 7.3, steps 1 to 8."""
    env = envelope.parse(data, envelope.REVOCATION_LIST, MAX_CRL)
    msg = envelope.decode_body(codec.RevocationList, env.body)
    for c in msg.critical:
        if c not in CRL_FIELDS:
            fail("unsupported_critical", f"critical field {c}", step=6)
    if len(msg.issuer) != 32 or msg.number == 0:
        fail("malformed", "issuer not 32 octets or number 0", step=7)
    prev = 0
    for s in msg.serials:
        if s <= prev:
            fail("malformed", "serials not ascending or 0", step=8)
        prev = s
    return Crl(env, msg)


def issue_cert(anchor_seed, provider_id, sign_key, noise_key, not_before, not_after, serial,
               roles=()):
    """Section 6.3: the certificate envelope, signed by the anchor."""
    if not valid_provider_id(provider_id) or serial == 0 or not not_before < not_after:
        fail("invalid", "certificate fields")
    if not crypto.ed25519_key_certifiable(sign_key) or crypto.x25519_small_order(noise_key):
        fail("weak_key")
    body = codec.encode(codec.Certificate(
        provider_id=provider_id, sign_key=sign_key, noise_key=noise_key, not_before=not_before,
        not_after=not_after, serial=serial, roles=sorted(set(roles)),
        issuer=crypto.ed25519_public(anchor_seed)))
    return envelope.sign(envelope.CERTIFICATE, body, anchor_seed)


def issue_crl(anchor_seed, number, issued_at, serials):
    """Section 7.2."""
    body = codec.encode(codec.RevocationList(
        issuer=crypto.ed25519_public(anchor_seed), number=number, issued_at=issued_at,
        serials=sorted(set(serials))))
    return envelope.sign(envelope.REVOCATION_LIST, body, anchor_seed)
