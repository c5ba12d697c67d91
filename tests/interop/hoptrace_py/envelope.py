"""Signed envelopes (spec/protocol.md section 5)."""

from . import codec, crypto
from .errors import fail

CERTIFICATE, REVOCATION_LIST, TRACE_REQUEST, HOP_ANSWER = 1, 2, 3, 4
DOMAINS = {
    CERTIFICATE: b"hoptrace/v1 certificate",
    REVOCATION_LIST: b"hoptrace/v1 revocation-list",
    TRACE_REQUEST: b"hoptrace/v1 trace-request",
    HOP_ANSWER: b"hoptrace/v1 hop-answer",
}
MAX_ENVELOPE = 60000
LIMITS = {CERTIFICATE: 2048, REVOCATION_LIST: 60000, TRACE_REQUEST: 60000, HOP_ANSWER: 60000}


def signing_input(kind, body):
    """Section 5.3."""
    return DOMAINS[kind] + b"\0" + body


def message_id(kind, body):
    """Section 5.5: BLAKE2b-256 of the signing input; only for the kinds of 5.2."""
    if kind not in DOMAINS:
        fail("wrong_kind", f"no message ID for kind {kind}")
    return crypto.blake2b_256(signing_input(kind, body))


def sign(kind, body, seed):
    """Section 5.3: the canonical envelope of `body` signed with the Ed25519 seed."""
    sig = crypto.ed25519_sign(seed, signing_input(kind, body))
    env = codec.encode(codec.SignedEnvelope(kind=kind, body=body, signature=sig))
    if len(env) > LIMITS[kind]:
        fail("too_large", f"envelope of {len(env)} octets")
    return env


class Envelope:
    def __init__(self, raw, kind, body, signature):
        self.raw, self.kind, self.body, self.signature = raw, kind, body, signature

    @property
    def message_id(self):
        return message_id(self.kind, self.body)

    def verify(self, public):
        """Step 7 of section 5.4, over the body octets as received."""
        return crypto.ed25519_verify(public, signing_input(self.kind, self.body), self.signature)


def parse(data, kind, limit=None):
    """Section 5.4, steps 1 to 4 (the body is decoded by the caller, step 5)."""
    data = bytes(data)
    limit = LIMITS.get(kind, MAX_ENVELOPE) if limit is None else limit
    if len(data) > limit:
        fail("too_large", f"envelope of {len(data)} octets, limit {limit}", step=1)
    try:
        env = codec.decode(codec.SignedEnvelope, data)
    except Exception as e:
        fail("malformed", f"envelope: {e}", step=2)
    if env.kind == 0 or len(env.signature) != 64:
        fail("malformed", "kind 0 or signature not 64 octets", step=3)
    if env.kind != kind:
        fail("wrong_kind", f"kind {env.kind}, expected {kind}", step=4)
    return Envelope(data, env.kind, bytes(env.body), bytes(env.signature))


def decode_body(cls, body, step=5):
    try:
        return codec.decode(cls, body)
    except Exception as e:
        fail("malformed", f"body: {e}", step=step)
