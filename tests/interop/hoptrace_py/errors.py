"""Error tokens (spec/protocol.md 10.1) and reason codes (10.2, 10.3)."""

REASONS = {
    "REASON_UNSPECIFIED": 0, "REASON_MALFORMED": 1, "REASON_BAD_SIGNATURE": 2,
    "REASON_UNKNOWN_ANCHOR": 3, "REASON_CERT_NOT_YET_VALID": 4, "REASON_CERT_EXPIRED": 5,
    "REASON_CERT_REVOKED": 6, "REASON_MISSING_ROLE": 7, "REASON_UNSUPPORTED_CRITICAL": 8,
    "REASON_EXPIRED": 9, "REASON_HOP_LIMIT": 10, "REASON_DUPLICATE": 11,
    "REASON_RATE_LIMITED": 12, "REASON_NOT_A_PEER": 13, "REASON_UNSUPPORTED_VERSION": 14,
    "REASON_INTERNAL": 15, "REASON_POLICY_REFUSED": 16, "REASON_UPSTREAM_NOT_PARTICIPANT": 17,
    "REASON_UPSTREAM_UNREACHABLE": 18, "REASON_UPSTREAM_TIMED_OUT": 19,
}
R = type("R", (), {k[len("REASON_"):]: v for k, v in REASONS.items()})

# Section 10.3. "expired" is 5 for a certificate; a TraceRequest's own times give 9 (the caller
# passes reason=9 explicitly there).
TOKEN_REASON = {
    "malformed": 1, "too_large": 1, "wrong_kind": 1, "bad_provider_id": 1, "weak_key": 1,
    "bad_signature": 2, "unknown_anchor": 3, "not_yet_valid": 4, "expired": 5, "revoked": 6,
    "missing_role": 7, "unsupported_critical": 8, "decrypt_failed": 1, "wrong_request": 1,
    "key_mismatch": 2, "not_a_peer": 13, "wrong_peer": 13, "unsupported_version": 14,
    "nomem": 15, "crypto": 15,
}

TOKENS = {
    "ok", "malformed", "too_large", "wrong_kind", "bad_provider_id", "weak_key",
    "unsupported_critical", "bad_signature", "unknown_anchor", "not_yet_valid", "expired",
    "revoked", "missing_role", "stale", "unsupported_version", "decrypt_failed",
    "wrong_request", "key_mismatch", "wrong_peer", "not_a_peer", "key_permissions",
    "wrong_key_type", "nomem", "invalid", "io", "exists", "crypto", "bad_time",
}


class HtError(Exception):
    """A failed check: `token` is the error token; `reason` the reason code a peer is sent;
    `index` the answer index in an evidence bundle (None: the bundle, request or opening);
    `step` the spec step that failed, for messages."""

    def __init__(self, token, detail="", reason=None, step=None, index=None):
        assert token in TOKENS, token
        super().__init__(f"{token}: {detail}" if detail else token)
        self.token = token
        self.detail = detail
        self.reason = TOKEN_REASON.get(token, 15) if reason is None else reason
        self.step = step
        self.index = index


def fail(token, detail="", **kw):
    raise HtError(token, detail, **kw)
