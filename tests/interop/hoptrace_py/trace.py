"""Traceback (spec/protocol.md section 11): the blinded call, TraceRequest, HopAnswer, sealing,
the traceback peer messages and the evidence bundle."""

import hashlib
import hmac
import os

import nacl.bindings as nb
import nacl.exceptions
import nacl.public

from . import cert as certmod
from . import codec, crypto, envelope, numbers
from .errors import HtError, R, fail

# --- 11.2 the blinded call -----------------------------------------------------------------

COMMIT_DOMAIN = b"hoptrace/v1 call"
HINT_DOMAIN = b"hoptrace/v1 number-hint"
CUSTOMER_REF_DOMAIN = b"hoptrace/v1 customer-ref"


def commitment_input(calling, called):
    return COMMIT_DOMAIN + b"\0" + bytes(calling) + b"\0" + bytes(called)


def commitment(salt, calling, called):
    """Section 11.2.1: BLAKE2b-256 keyed by the salt."""
    return crypto.blake2b_256(commitment_input(calling, called), key=salt)


def hint_input(calling, called):
    return HINT_DOMAIN + b"\0" + bytes(calling) + b"\0" + bytes(called)


def hint_digest(calling, called):
    return crypto.blake2b_256(hint_input(calling, called))


def hint_full(calling, called):
    d = hint_digest(calling, called)
    return 256 * d[0] + d[1]


def mask(bits):
    return 0 if bits == 0 else (0xFFFF << (16 - bits)) & 0xFFFF


def hint(calling, called, bits):
    """Section 11.2.2."""
    return hint_full(calling, called) & mask(bits)


def opaque_customer_ref(sign_seed, stored_reference):
    """Section 11.7.3, the RECOMMENDED construction: (K, full digest, the 32-character ref)."""
    k = crypto.blake2b_256(CUSTOMER_REF_DOMAIN, key=sign_seed)
    digest = crypto.blake2b_256(bytes(stored_reference), key=k)
    return k, digest, digest[:16].hex()


# --- 11.3 TraceRequest -------------------------------------------------------------------------

REQUEST_FIELDS = set(range(1, 16))
ANSWER_FIELDS = {1, 2, 3, 4, 8, 9, 10, 11, 12, 13, 14, 15}
BUNDLE_FIELDS = {1, 2, 3, 4, 5, 6, 15}
MAX_LIFETIME_MS = 3_600_000
MAX_TOLERANCE_MS = 300_000
MAX_SKEW_MS = 300_000
MAX_HOP_LIMIT = 32
MAX_CALLS = 16
MAX_BUNDLE = 4_194_304
MAX_BUNDLE_ANSWERS = 1024


def valid_label(label):
    """Section 11.3.1: at most 128 octets of UTF-8 text without control characters."""
    if len(label) > 128:
        return False
    try:
        text = bytes(label).decode("utf-8")  # strict: no overlong forms, no surrogates
    except UnicodeDecodeError:
        return False
    return not any(ord(c) < 0x20 or ord(c) == 0x7F or 0x80 <= ord(c) <= 0x9F for c in text)


def build_request(sign_seed, initiator_cert, trace_id, initiator_id, created_ms, expires_ms,
                  call_time_ms, tolerance_ms, hop_limit, salt, call_commitment, answer_key,
                  hint=0, hint_bits=0, label=b"", critical=()):
    """Section 11.3.4: the signed request envelope (canonical encoding)."""
    body = codec.encode(codec.TraceRequest(
        trace_id=trace_id, initiator_id=initiator_id, initiator_cert=initiator_cert,
        created_ms=created_ms, expires_ms=expires_ms, call_time_ms=call_time_ms,
        tolerance_ms=tolerance_ms, hop_limit=hop_limit, salt=salt,
        call_commitment=call_commitment, answer_key=answer_key, hint=hint,
        hint_bits=hint_bits, label=label, critical=list(critical)))
    env = envelope.sign(envelope.TRACE_REQUEST, body, sign_seed)
    parse_request(env)  # "checks every bound of section 11.3.2 before it sends anything"
    return env


def new_request(identity, calling, called, call_time_ms, now_ms, lifetime_ms=60_000,
                tolerance_ms=5000, hop_limit=16, hint_bits=12, label=b""):
    """A fresh request with random trace ID, salt and answer key pair.
    Returns (envelope octets, answer secret key)."""
    if not numbers.is_e164(calling) or not numbers.is_e164(called):
        fail("invalid", "numbers must be E.164 digits")
    answer_secret = os.urandom(32)
    salt = os.urandom(32)
    env = build_request(
        identity.sign_seed, identity.certificate, os.urandom(16), identity.provider_id,
        now_ms, now_ms + lifetime_ms, call_time_ms, tolerance_ms, hop_limit, salt,
        commitment(salt, calling, called), crypto.x25519_public(answer_secret),
        hint(calling, called, hint_bits), hint_bits, label)
    return env, answer_secret


class Request:
    """A request that passed steps 1 to 15 of section 11.3.2."""

    def __init__(self, env, msg, cert):
        self.env = env
        self.raw = env.raw
        self.msg = msg
        self.cert = cert
        self.message_id = env.message_id
        self.trace_id = bytes(msg.trace_id)
        self.initiator_id = bytes(msg.initiator_id)
        self.answer_key = bytes(msg.answer_key)
        for f in ("created_ms", "expires_ms", "call_time_ms", "tolerance_ms", "hop_limit",
                  "hint", "hint_bits"):
            setattr(self, f, getattr(msg, f))
        self.salt = bytes(msg.salt)
        self.call_commitment = bytes(msg.call_commitment)
        self.label = bytes(msg.label)

    def verify(self, trust, now_ms):
        """Section 11.3.3, steps 16 to 19."""
        self.cert.check(trust, now_ms // 1000, (certmod.ROLE_INITIATOR,))  # step 16
        self.verify_signature()  # step 17
        if now_ms > self.expires_ms:
            fail("expired", "request expired", reason=R.EXPIRED, step=18)
        if self.created_ms > now_ms + MAX_SKEW_MS:
            fail("expired", "request made in the future", reason=R.EXPIRED, step=19)
        return self

    def verify_signature(self):
        if not self.env.verify(self.cert.sign_key):
            fail("bad_signature", "request signature", step=17)


def _request_error(token, detail, step):
    e = HtError(token, detail, step=step)
    e.answer_key_usable = step > 7
    return e


def parse_request(data):
    """Section 11.3.2, steps 1 to 15. Errors carry `answer_key_usable` (steps 1 to 7 passed)."""
    try:
        env = envelope.parse(data, envelope.TRACE_REQUEST)  # steps 1 to 4
        msg = envelope.decode_body(codec.TraceRequest, env.body)  # step 5
    except HtError as e:
        raise _request_error(e.token, e.detail, e.step)
    step = 6
    try:
        if len(msg.answer_key) != 32:
            fail("malformed", "answer_key not 32 octets")
        step = 7
        if crypto.x25519_small_order(bytes(msg.answer_key)):
            fail("weak_key", "answer_key of small order")
        step = 8
        for c in msg.critical:
            if c not in REQUEST_FIELDS:
                fail("unsupported_critical", f"critical field {c}")
        step = 9
        if len(msg.trace_id) != 16 or not certmod.valid_provider_id(msg.initiator_id):
            fail("malformed", "trace_id or initiator_id")
        step = 10
        try:
            c = certmod.parse_cert(bytes(msg.initiator_cert))
        except HtError as e:
            fail("malformed", f"initiator_cert: {e.token}")
        step = 11
        if c.provider_id != bytes(msg.initiator_id):
            fail("malformed", "initiator_id is not the certificate's")
        step = 12
        if not (msg.created_ms < msg.expires_ms <= msg.created_ms + MAX_LIFETIME_MS
                and msg.tolerance_ms <= MAX_TOLERANCE_MS and 1 <= msg.hop_limit <= MAX_HOP_LIMIT):
            fail("malformed", "times, tolerance or hop limit out of bounds")
        step = 13
        if len(msg.salt) != 32 or len(msg.call_commitment) != 32:
            fail("malformed", "salt or commitment not 32 octets")
        step = 14
        if msg.hint_bits > 16 or msg.hint >= 65536 or msg.hint & ~mask(msg.hint_bits) & 0xFFFF:
            fail("malformed", "hint")
        step = 15
        if not valid_label(msg.label):
            fail("malformed", "label")
    except HtError as e:
        raise _request_error(e.token, e.detail, step)
    return Request(env, msg, c)


def request_reason(data, trust, now_ms):
    """(reason code, answer_key_usable) of a received request (sections 11.3.2, 11.3.3)."""
    try:
        parse_request(data).verify(trust, now_ms)
        return 0, True
    except HtError as e:
        return e.reason, getattr(e, "answer_key_usable", True)


def hop_check(req, trust, now_ms, hop, asker, seen, initiators=()):
    """Section 11.5, steps 6 to 11 (step 9, capacity, taken to pass): the reason code of the
    refusal, or 0 when the hop answers. `seen` is the hop's seen table (a set of trace IDs);
    the trace ID is added to it when step 10 passes."""
    try:
        req.verify(trust, now_ms)  # step 6
    except HtError as e:
        return e.reason
    if hop >= req.hop_limit:  # step 7
        return R.HOP_LIMIT
    if hop == 0 and bytes(asker) != req.initiator_id:  # step 8
        return R.POLICY_REFUSED
    if req.trace_id in seen:  # step 10
        return R.DUPLICATE
    seen.add(req.trace_id)
    if initiators and req.initiator_id not in {bytes(i) for i in initiators}:  # step 11
        return R.POLICY_REFUSED
    return 0


def record_matches(req, window_ms, record_time_ms, calling, called):
    """Section 11.6 steps 2 and 4 for one record (numbers already normalised)."""
    if not max(0, window_ms - req.tolerance_ms) <= record_time_ms <= window_ms + req.tolerance_ms:
        return False
    return hmac.compare_digest(commitment(req.salt, calling, called), req.call_commitment)


def window_time(req, hop, forward_window_ms):
    """Section 11.6 step 2."""
    return forward_window_ms if hop > 0 and forward_window_ms else req.call_time_ms


def deadline(now_ms, budget_ms, expires_ms):
    """Section 11.10."""
    if 0 < budget_ms <= expires_ms - now_ms:
        return now_ms + budget_ms
    return expires_ms


def budget(deadline_ms, t_ms):
    """Section 11.10: the budget for an upstream; below 100 means DEAD_END reason 19."""
    return (deadline_ms - t_ms) * 7 // 8 - 50


# --- 11.7 HopAnswer ----------------------------------------------------------------------------

FOUND, NOT_FOUND, REFUSED, DEAD_END = 1, 2, 3, 4
STATUS_NAMES = {FOUND: "found", NOT_FOUND: "not_found", REFUSED: "refused", DEAD_END: "dead_end"}


def matched_call(upstream=b"", originated_here=False, customer_ref=b"", record_time_ms=0,
                 attestation=0, origid=b""):
    return codec.MatchedCall(upstream=upstream, originated_here=originated_here,
                             customer_ref=customer_ref, record_time_ms=record_time_ms,
                             attestation=attestation, origid=origid)


def build_answer(sign_seed, certificate, request_hash, provider_id, asked_by, status, reason,
                 answered_ms, hop, calls=(), upstream=b"", window_time_ms=0, critical=()):
    """Section 11.7: the signed answer envelope (canonical encoding)."""
    body = codec.encode(codec.HopAnswer(
        request_hash=request_hash, provider_id=provider_id, asked_by=asked_by, status=status,
        reason=reason, answered_ms=answered_ms, hop=hop, calls=list(calls), upstream=upstream,
        certificate=certificate, window_time_ms=window_time_ms, critical=list(critical)))
    return envelope.sign(envelope.HOP_ANSWER, body, sign_seed)


class Answer:
    """An answer that passed steps 1 to 11 of section 11.7.4."""

    def __init__(self, env, msg, cert):
        self.env = env
        self.raw = env.raw
        self.msg = msg
        self.cert = cert
        self.request_hash = bytes(msg.request_hash)
        self.provider_id = bytes(msg.provider_id)
        self.asked_by = bytes(msg.asked_by)
        self.status = msg.status
        self.reason = msg.reason
        self.answered_ms = msg.answered_ms
        self.hop = msg.hop
        self.calls = list(msg.calls)
        self.upstream = bytes(msg.upstream)
        self.window_time_ms = msg.window_time_ms

    def verify(self, trust, request_id):
        """Section 11.7.4, steps 12 to 14."""
        self.cert.check(trust, self.answered_ms // 1000)  # step 12
        if not self.env.verify(self.cert.sign_key):
            fail("bad_signature", "answer signature", step=13)
        if self.request_hash != bytes(request_id):
            fail("wrong_request", step=14)
        return self

    def check_time(self, req):
        """Section 11.7.4, step 15: dated within the request's lifetime, widened by the skew."""
        if not req.created_ms - MAX_SKEW_MS <= self.answered_ms <= req.expires_ms + MAX_SKEW_MS:
            fail("bad_time", f"answered_ms {self.answered_ms}", step=15)
        return self


def _call_ok(c):
    if c.upstream and not certmod.valid_provider_id(c.upstream):
        return False
    if len(c.customer_ref) > 64 or any(b < 0x20 or b > 0x7E for b in c.customer_ref):
        return False
    return len(c.origid) in (0, 16) and 0 <= c.attestation <= 3


def _status_ok(a):
    n, st = len(a.calls), a.status
    if st == FOUND:
        ok = 1 <= n <= MAX_CALLS and a.reason == 0 and not a.upstream
    elif st == NOT_FOUND:
        ok = n == 0 and a.reason == 0 and not a.upstream
    elif st == REFUSED:
        ok = n == 0 and a.reason != 0 and not a.upstream
    elif st == DEAD_END:
        ok = n == 0 and a.reason != 0 and bool(a.upstream)
    else:
        return False
    for c in a.calls:
        if bool(c.upstream) == bool(c.originated_here):
            return False
        if c.customer_ref and not c.originated_here:
            return False
    return ok


def parse_answer(data):
    """Section 11.7.4, steps 1 to 11."""
    env = envelope.parse(data, envelope.HOP_ANSWER)  # steps 1 to 4
    msg = envelope.decode_body(codec.HopAnswer, env.body)  # step 5
    for c in msg.critical:  # step 6
        if c not in ANSWER_FIELDS:
            fail("unsupported_critical", f"critical field {c}", step=6)
    if (len(msg.request_hash) != 32 or not certmod.valid_provider_id(msg.provider_id)
            or not certmod.valid_provider_id(msg.asked_by)
            or (msg.upstream and not certmod.valid_provider_id(msg.upstream))
            or len(msg.calls) > MAX_CALLS):
        fail("malformed", "request_hash, provider IDs or number of calls", step=7)
    if not all(_call_ok(c) for c in msg.calls):
        fail("malformed", "a call", step=8)
    if msg.hop >= 32 or not _status_ok(msg):
        fail("malformed", "hop, status or the fields of the status", step=9)
    try:
        c = certmod.parse_cert(bytes(msg.certificate))
    except HtError as e:
        fail("malformed", f"certificate: {e.token}", step=10)
    if c.provider_id != bytes(msg.provider_id):
        fail("malformed", "provider_id is not the certificate's", step=11)
    return Answer(env, msg, c)


def answer_token(data, trust, req):
    """Section 11.7.4, steps 1 to 15, against the parsed request `req`."""
    try:
        parse_answer(data).verify(trust, req.message_id).check_time(req)
        return "ok"
    except HtError as e:
        return e.token


# --- 11.8 sealing ------------------------------------------------------------------------------

SEAL_OVERHEAD = 48


def seal_nonce(epk, pk):
    return hashlib.blake2b(bytes(epk) + bytes(pk), digest_size=24).digest()


def seal_steps(message, pk, esk):
    """Section 11.8 with a given ephemeral secret (vectors only; a real seal draws a new one):
    every intermediate value, from PyNaCl primitives."""
    epk = crypto.x25519_public(esk)
    nonce = seal_nonce(epk, pk)
    s = crypto.x25519(esk, pk)
    if s == bytes(32):
        fail("weak_key", "answer key of small order")
    k = nb.crypto_box_beforenm(pk, esk)  # X25519 then HSalsa20(s, 0)
    tc = nb.crypto_box_afternm(bytes(message), nonce, k)
    return {"epk": epk, "nonce": nonce, "s": s, "k": k, "tag": tc[:16], "ciphertext": tc[16:],
            "sealed": epk + tc}


def seal_with_ephemeral(message, pk, esk):
    return seal_steps(message, pk, esk)["sealed"]


def seal(message, pk):
    """crypto_box_seal with a fresh ephemeral key (PyNaCl's SealedBox)."""
    if crypto.x25519_small_order(pk):
        fail("weak_key", "answer key of small order")
    return nacl.public.SealedBox(nacl.public.PublicKey(bytes(pk))).encrypt(bytes(message))


def open_sealed(box, sk):
    """Open a sealed answer; HtError(decrypt_failed) when it does not open."""
    if len(box) < SEAL_OVERHEAD:
        fail("decrypt_failed", "sealed answer shorter than 48 octets")
    try:
        return nacl.public.SealedBox(nacl.public.PrivateKey(bytes(sk))).decrypt(bytes(box))
    except (nacl.exceptions.CryptoError, nacl.exceptions.RuntimeError, ValueError):
        fail("decrypt_failed", "sealed answer does not open")


# --- 11.4 peer messages ------------------------------------------------------------------------

def trace_forward(request_env, hop, window_time_ms, budget_ms):
    return codec.PeerMessage(trace_forward=codec.TraceForward(
        request=request_env, hop=hop, window_time_ms=window_time_ms, budget_ms=budget_ms))


def trace_answer(trace_id, sealed):
    return codec.PeerMessage(trace_answer=codec.TraceAnswer(trace_id=trace_id,
                                                            sealed_answer=sealed))


def trace_complete(trace_id):
    return codec.PeerMessage(trace_complete=codec.TraceComplete(trace_id=trace_id))


def error(reason, detail="", trace_id=b""):
    return codec.PeerMessage(error=codec.Error(reason=reason, detail=detail, trace_id=trace_id))


# --- 11.16 evidence bundle ---------------------------------------------------------------------

def encode_bundle(request_env, calling, called, answers, exported_ms, version=1):
    return codec.encode(codec.EvidenceBundle(
        version=version, request=request_env, calling=calling, called=called,
        answers=list(answers), exported_ms=exported_ms))


class Verified:
    """The result of a bundle that verifies (section 11.16.3)."""

    def __init__(self, request, answers, parents, nodes, origin_found, open_branches):
        self.request = request
        self.answers = answers
        self.parents = parents  # bundle index -> parent bundle index or None
        self.nodes = nodes  # [{answer, provider_id, hop, status, parent}], parent a node index
        self.origin_found = origin_found
        self.open_branches = open_branches


def _at(index, fn, *args):
    try:
        return fn(*args)
    except HtError as e:
        e.index = index
        raise


def verify_bundle(data, trust):
    """Section 11.16.2, B1 to B13, then the tree of 11.16.3. Raises HtError with `index` set
    to the failing answer (None: the bundle, the request or the opening)."""
    if len(data) > MAX_BUNDLE:
        fail("too_large", "bundle over 4 MiB", step="B1")
    try:
        b = codec.decode(codec.EvidenceBundle, data)
    except HtError as e:
        fail("malformed", f"bundle: {e.detail}", step="B2")
    if b.version != 1:
        fail("unsupported_version", f"bundle version {b.version}", step="B3")
    for c in b.critical:
        if c not in BUNDLE_FIELDS:
            fail("unsupported_critical", f"critical field {c}", step="B4")
    if len(b.answers) > MAX_BUNDLE_ANSWERS:
        fail("too_large", f"{len(b.answers)} answers", step="B5")
    if b.exported_ms == 0:
        fail("malformed", "no exported_ms (a bundle cut short)", step="B5a")
    req = parse_request(bytes(b.request))  # B6
    req.cert.check(trust, req.created_ms // 1000, (certmod.ROLE_INITIATOR,))  # B7
    req.verify_signature()  # B8
    calling, called = bytes(b.calling), bytes(b.called)
    if not numbers.is_e164(calling) or not numbers.is_e164(called):
        fail("malformed", "opening is not E.164 digits", step="B9")
    if commitment(req.salt, calling, called) != req.call_commitment:
        fail("bad_signature", "opening does not match the commitment", step="B10")
    if req.hint_bits > 0 and hint(calling, called, req.hint_bits) != req.hint:
        fail("bad_signature", "opening does not match the hint", step="B11")
    answers = []
    for i, raw in enumerate(b.answers):  # B12
        a = _at(i, parse_answer, bytes(raw))
        _at(i, a.verify, trust, req.message_id)
        _at(i, a.check_time, req)
        answers.append(a)
    parents = {}
    for i in range(len(answers)):  # B13
        parents[i] = _at(i, _chain, answers, i, req.initiator_id)
    return _tree(req, answers, parents)


def _first_found(answers, provider_id, hop):
    for j, p in enumerate(answers):
        if p.status == FOUND and p.provider_id == provider_id and p.hop == hop:
            return j
    return None


def _names(p, upstream):
    return [c for c in p.calls if not c.originated_here and bytes(c.upstream) == upstream]


def _chain(answers, i, initiator):
    """C1 to C4 for answer i: its parent's index, or None."""
    a = answers[i]
    for e in answers[:i]:  # C1
        if (e.provider_id, e.hop, e.status) == (a.provider_id, a.hop, a.status) and (
                (a.status != REFUSED or e.asked_by == a.asked_by)
                and (a.status != DEAD_END or e.upstream == a.upstream)):
            fail("malformed", "the same statement twice", step="C1")
    if a.status == DEAD_END:  # C2
        j = _first_found(answers, a.provider_id, a.hop)
        if j is not None and answers[j].asked_by == a.asked_by and _names(answers[j], a.upstream):
            return j
        if (a.hop == 0 and a.provider_id == initiator and a.asked_by == initiator
                and a.upstream != initiator):
            others_ok = all(
                (o.status == DEAD_END and o.provider_id == initiator)
                or o.provider_id == a.upstream
                for k, o in enumerate(answers) if k != i and o.hop == 0)
            if others_ok:
                return None
        fail("malformed", "dead end without a parent", step="C2")
    if a.hop == 0:  # C3
        if a.asked_by != initiator:
            fail("malformed", "hop 0 not asked by the initiator", step="C3")
        return None
    j = _first_found(answers, a.asked_by, a.hop - 1)  # C4
    if j is None:
        fail("malformed", "no FOUND answer from the asker at the hop below", step="C4")
    calls = _names(answers[j], a.provider_id)
    if not calls:
        fail("malformed", "the asker's answer does not name this provider", step="C4")
    if not any(c.record_time_ms == a.window_time_ms for c in calls):
        fail("malformed", "window time is not the asker's record time", step="C4")
    return j


def _tree(req, answers, parents):
    order = sorted(range(len(answers)), key=lambda i: (answers[i].hop, i))
    pos = {i: n for n, i in enumerate(order)}
    nodes = [{"answer": i, "provider_id": answers[i].provider_id.decode(),
              "hop": answers[i].hop, "status": STATUS_NAMES[answers[i].status],
              "parent": -1 if parents[i] is None else pos[parents[i]]} for i in order]
    origin = any(c.originated_here for a in answers if a.status == FOUND for c in a.calls)
    open_branches = 0
    for j, p in enumerate(answers):
        if p.status != FOUND:
            continue
        ups = []
        for c in p.calls:
            u = bytes(c.upstream)
            if not c.originated_here and u not in ups:
                ups.append(u)
        for u in ups:
            closed = any(
                parents[k] == j and ((a.status == DEAD_END and a.upstream == u)
                                     or (a.hop == p.hop + 1 and a.provider_id == u))
                for k, a in enumerate(answers))
            if not closed:
                open_branches += 1
    return Verified(req, answers, parents, nodes, origin, open_branches)
