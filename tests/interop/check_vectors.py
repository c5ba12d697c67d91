#!/usr/bin/python3
"""Check every vector of spec/vectors/ (and the number table of spec/numbers.md) with the
Python implementation in hoptrace_py, which is written from spec/ and proto/ only.

Usage: check_vectors.py --spec SPEC_DIR --proto PROTO_DIR --work WORK_DIR [-v]

Prints one summary line per file, and each mismatch with the vector and why. Exits 1 on any
mismatch, 2 on a usage or setup error.
"""

import argparse
import json
import os
import re
import sys
import traceback

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from hoptrace_py import cert, codec, crypto, envelope, keys, noise  # noqa: E402
from hoptrace_py import numbers, session, trace  # noqa: E402
from hoptrace_py.errors import HtError  # noqa: E402

H = bytes.fromhex
ROLE_NAMES = {"initiator": cert.ROLE_INITIATOR}


class Check:
    """Counts the checks of one file and reports its mismatches."""

    def __init__(self, name, verbose):
        self.name, self.verbose = name, verbose
        self.count = self.failures = 0

    def ok(self, cond, what, detail=""):
        self.count += 1
        if not cond:
            self.failures += 1
            print(f"MISMATCH {self.name}: {what}" + (f": {detail}" if detail else ""))
        elif self.verbose:
            print(f"ok {self.name}: {what}")
        return cond

    def eq(self, what, got, want):
        if isinstance(got, (bytes, bytearray)):
            got = bytes(got).hex()
        if isinstance(want, (bytes, bytearray)):
            want = bytes(want).hex()
        detail = f"got {_short(got)}, want {_short(want)}"
        if isinstance(got, str) and isinstance(want, str) and got != want and len(want) > 140:
            at = next((i for i, (x, y) in enumerate(zip(got, want)) if x != y), min(len(got), len(want)))
            detail += f" (first difference at character {at}: {got[at:at + 16]!r} vs {want[at:at + 16]!r})"
        return self.ok(got == want, what, detail)

    def token(self, what, fn, want, index=None):
        """fn() must raise HtError with token `want` ("ok": must not raise)."""
        try:
            fn()
            got, got_index = "ok", None
        except HtError as e:
            got, got_index = e.token, e.index
        self.eq(what, got, want)
        if index is not None:
            self.eq(what + " (failed answer)", -1 if got_index is None else got_index, index)


def _short(v):
    s = repr(v)
    return s if len(s) <= 140 else s[:140] + "..."


def load(spec, name):
    with open(os.path.join(spec, "vectors", name)) as f:
        return json.load(f)


def signed_parts(c, what, v, kind, body, seed):
    """Reproduce the members every signed-message vector has (section 12)."""
    c.eq(f"{what} kind", v["kind"], kind)
    c.eq(f"{what} domain", v["domain"], envelope.DOMAINS[kind].decode())
    c.eq(f"{what} body_hex", body, H(v["body_hex"]))
    c.eq(f"{what} signing_input_hex", envelope.signing_input(kind, body), H(v["signing_input_hex"]))
    sig = crypto.ed25519_sign(seed, envelope.signing_input(kind, body))
    c.eq(f"{what} signature_hex", sig, H(v["signature_hex"]))
    env = envelope.sign(kind, body, seed)
    c.eq(f"{what} envelope_hex", env, H(v["envelope_hex"]))
    c.eq(f"{what} message_id_hex", envelope.message_id(kind, body), H(v["message_id_hex"]))
    return env


class Ctx:
    """Values shared between files: keys.json seeds, the certificate, the list, trace.json."""

    def __init__(self, spec, work):
        self.spec, self.work = spec, work
        k = load(spec, "keys.json")
        self.anchor_seed = H(k["anchor"]["sign_seed_hex"])
        self.anchor_key = crypto.ed25519_public(self.anchor_seed)
        self.provider_seed = H(k["provider"]["sign_seed_hex"])
        self.provider_noise = H(k["provider"]["noise_secret_hex"])
        self.cert_env = H(load(spec, "certificate.json")["envelope_hex"])
        self.crl_env = H(load(spec, "revocation-list.json")["envelope_hex"])
        self.trace = load(spec, "trace.json")

    def trust(self, with_crl=False):
        t = cert.Trust([self.anchor_key])
        if with_crl:
            t.accept_crl(cert.parse_crl(self.crl_env))
        return t


# --- keys.json -----------------------------------------------------------------------------

def check_keys(c, ctx, v):
    for who, secret_type, public_type in (("anchor", "anchor-secret", "anchor-public"),
                                          ("provider", "provider-secret", "provider-public")):
        d = v[who]
        seed = H(d["sign_seed_hex"])
        c.eq(f"{who} sign_key from seed", crypto.ed25519_public(seed), H(d["sign_key_hex"]))
        if "noise_secret_hex" in d:
            c.eq(f"{who} noise_key from secret", crypto.x25519_public(H(d["noise_secret_hex"])),
                 H(d["noise_key_hex"]))
        sec = keys.parse(d["secret_file"].encode())
        pub = keys.parse(d["public_file"].encode())
        c.eq(f"{who} secret_file type", sec.type, secret_type)
        c.eq(f"{who} public_file type", pub.type, public_type)
        c.eq(f"{who} secret_file sign-seed", sec.sign_seed, seed)
        c.eq(f"{who} secret_file derived sign-key", sec.sign_key, H(d["sign_key_hex"]))
        c.eq(f"{who} public_file sign-key", pub.sign_key, H(d["sign_key_hex"]))
        if "noise_secret_hex" in d:
            c.eq(f"{who} secret_file noise-secret", sec.noise_secret, H(d["noise_secret_hex"]))
            c.eq(f"{who} secret_file derived noise-key", sec.noise_key, H(d["noise_key_hex"]))
            c.eq(f"{who} public_file noise-key", pub.noise_key, H(d["noise_key_hex"]))
        c.eq(f"{who} secret_file text (4.3)", keys.text(secret_type, sec.fields), d["secret_file"])
        c.eq(f"{who} public_file text (4.3)", keys.text(public_type, pub.fields), d["public_file"])
        # Section 4.4 on real files: written as 4.3 says, loaded back; wrong type; mode 0644.
        base = os.path.join(ctx.work, f"keys-{who}")
        for p in (base + ".key", base + ".pub"):
            if os.path.exists(p):
                os.unlink(p)
        keys.write(base + ".key", secret_type, sec.fields)
        keys.write(base + ".pub", public_type, pub.fields)
        c.eq(f"{who} loaded secret file", keys.load(base + ".key", secret_type).sign_seed, seed)
        c.token(f"{who} secret file loaded as public", lambda: keys.load(base + ".key", public_type),
                "wrong_key_type")
        # Section 4.4 checks the mode (step 2) before the type (step 5).
        c.token(f"{who} public file (0644) loaded as secret", lambda: keys.load(base + ".pub", secret_type),
                "key_permissions")
        os.chmod(base + ".pub", 0o600)
        c.token(f"{who} public file (0600) loaded as secret", lambda: keys.load(base + ".pub", secret_type),
                "wrong_key_type")
        os.chmod(base + ".key", 0o644)
        c.token(f"{who} secret file of mode 0644", lambda: keys.load(base + ".key", secret_type),
                "key_permissions")
    # A few of the syntax rules of 4.2 on the provider's secret file.
    good = v["provider"]["secret_file"]
    c.token("CRLF line ends accepted", lambda: keys.parse(good.replace("\n", "\r\n").encode()), "ok")
    c.token("tab instead of the space", lambda: keys.parse(good.replace("sign-seed ", "sign-seed\t").encode()),
            "malformed")
    c.token("trailing space on the header", lambda: keys.parse(
        good.replace("provider-secret\n", "provider-secret \n").encode()), "malformed")
    c.token("secret file with a public field", lambda: keys.parse(
        (good + "sign-key " + v["provider"]["sign_key_hex"] + "\n").encode()), "malformed")
    c.token("over 4096 octets", lambda: keys.parse(good.encode() + b"#" * 4096), "too_large")


# --- certificate.json, revocation-list.json, rejections.json --------------------------------

def check_certificate(c, ctx, v):
    f = v["fields"]
    body = codec.encode(codec.Certificate(
        provider_id=f["provider_id"].encode(), sign_key=H(f["sign_key_hex"]),
        noise_key=H(f["noise_key_hex"]), not_before=f["not_before"], not_after=f["not_after"],
        serial=f["serial"], roles=[ROLE_NAMES[r] for r in f["roles"]], issuer=H(f["issuer_hex"])))
    c.eq("issuer is the anchor of keys.json", H(f["issuer_hex"]), ctx.anchor_key)
    env = signed_parts(c, "certificate", v, envelope.CERTIFICATE, body, ctx.anchor_seed)
    c.eq("issue_cert reproduces the envelope", cert.issue_cert(
        ctx.anchor_seed, f["provider_id"].encode(), H(f["sign_key_hex"]), H(f["noise_key_hex"]),
        f["not_before"], f["not_after"], f["serial"], [ROLE_NAMES[r] for r in f["roles"]]), env)
    c.eq("valid without the revocation list",
         cert.check_token(env, ctx.trust(), v["check_time"], (cert.ROLE_INITIATOR,)), "ok")
    c.eq("revoked with it", cert.check_token(env, ctx.trust(True), v["check_time"]), "revoked")


def check_crl(c, ctx, v):
    f = v["fields"]
    body = codec.encode(codec.RevocationList(issuer=H(f["issuer_hex"]), number=f["number"],
                                             issued_at=f["issued_at"], serials=f["serials"]))
    env = signed_parts(c, "revocation list", v, envelope.REVOCATION_LIST, body, ctx.anchor_seed)
    c.eq("issue_crl from the serials as given (unsorted)",
         cert.issue_crl(ctx.anchor_seed, f["number"], f["issued_at"], f["serials_given"]), env)
    crl = cert.parse_crl(env)
    c.eq("parsed serials", crl.serials, [7, 1001, 4242])
    t = ctx.trust()
    c.token("accepted", lambda: t.accept_crl(crl), "ok")
    c.token("the same number again", lambda: t.accept_crl(crl), "stale")
    c.token("from an untrusted anchor", lambda: cert.Trust([bytes(32)]).accept_crl(crl),
            "unknown_anchor")


def check_rejections(c, ctx, v):
    c.eq("anchor_sign_key_hex", H(v["anchor_sign_key_hex"]), ctx.anchor_key)
    for r in v["vectors"]:
        roles = [ROLE_NAMES[x] for x in r["required_roles"]]
        got = cert.check_token(H(r["certificate_hex"]), ctx.trust(r["with_revocation_list"]),
                               r["check_time"], roles)
        c.eq(f"vector {r['name']}", got, r["expected_error"])


# --- handshake.json ------------------------------------------------------------------------

def check_handshake(c, ctx, v):
    c.eq("protocol_name", v["protocol_name"], noise.PROTOCOL_NAME)
    c.eq("prologue", v["prologue"].encode(), noise.PROLOGUE)
    c.eq("prologue_hex", H(v["prologue_hex"]), noise.PROLOGUE)
    c.eq("anchor", H(v["anchor_sign_key_hex"]), ctx.anchor_key)
    sides = {}
    for who in ("initiator", "responder"):
        d = v[who]
        seed, nsec, esec = H(d["sign_seed_hex"]), H(d["noise_secret_hex"]), H(d["ephemeral_secret_hex"])
        c.eq(f"{who} sign_key", crypto.ed25519_public(seed), H(d["sign_key_hex"]))
        c.eq(f"{who} noise_key", crypto.x25519_public(nsec), H(d["noise_key_hex"]))
        c.eq(f"{who} ephemeral_key", crypto.x25519_public(esec), H(d["ephemeral_key_hex"]))
        c.eq(f"{who} handshake_payload_hex", session.handshake_payload(H(d["certificate_hex"])),
             H(d["handshake_payload_hex"]))
        c.eq(f"{who} preamble_hex", H(d["preamble_hex"]), session.PREAMBLE)
        sides[who] = (nsec, esec, H(d["certificate_hex"]), H(d["handshake_payload_hex"]))
    c.eq("initiator certificate is certificate.json's", sides["initiator"][2], ctx.cert_env)
    for who in ("initiator", "responder"):
        r = v[who]
        c.eq(f"{who} certificate reissued from its fields", cert.issue_cert(
            ctx.anchor_seed, r["provider_id"].encode(), H(r["sign_key_hex"]), H(r["noise_key_hex"]),
            r["not_before"], r["not_after"], r["serial"], [ROLE_NAMES[x] for x in r["roles"]]),
            sides[who][2])

    now = v["check_time"]
    ini = noise.Handshake(True, sides["initiator"][0], sides["initiator"][1])
    res = noise.Handshake(False, sides["responder"][0], sides["responder"][1])
    msgs = {m["message"]: m for m in v["handshake"]}
    stream = {"initiator": bytearray(session.PREAMBLE), "responder": bytearray(session.PREAMBLE)}

    m1 = ini.write()
    c.eq("message 1 length", len(m1), msgs[1]["length"])
    c.eq("message 1 frame_hex", session.frame(m1), H(msgs[1]["frame_hex"]))
    stream["initiator"] += session.frame(m1)
    c.eq("message 1 read: empty payload", res.read(m1), b"")

    m2 = res.write(sides["responder"][3])
    c.eq("message 2 length", len(m2), msgs[2]["length"])
    c.eq("message 2 frame_hex", session.frame(m2), H(msgs[2]["frame_hex"]))
    stream["responder"] += session.frame(m2)
    p2 = ini.read(m2)
    c.eq("message 2 read: the responder's payload", p2, sides["responder"][3])
    c.token("initiator verifies CARRIER-B (8.4.4)", lambda: session.verify_peer(
        p2, ini.remote_static, ctx.trust(), now, dialled=b"CARRIER-B"), "ok")
    c.token("initiator that dialled CARRIER-C refuses message 2", lambda: session.verify_peer(
        p2, ini.remote_static, ctx.trust(), now, dialled=b"CARRIER-C"), "wrong_peer")
    c.token("payload with another static key: key_mismatch", lambda: session.verify_peer(
        p2, crypto.x25519_public(bytes(32)), ctx.trust(), now, dialled=b"CARRIER-B"),
        "key_mismatch")

    m3 = ini.write(sides["initiator"][3])
    c.eq("message 3 length", len(m3), msgs[3]["length"])
    c.eq("message 3 frame_hex", session.frame(m3), H(msgs[3]["frame_hex"]))
    stream["initiator"] += session.frame(m3)
    p3 = res.read(m3)
    c.eq("message 3 read: the initiator's payload", p3, sides["initiator"][3])
    c.token("responder verifies CARRIER-A (8.4.4)", lambda: session.verify_peer(
        p3, res.remote_static, ctx.trust(), now, peers=[b"CARRIER-A"]), "ok")
    c.token("responder holding revocation-list.json refuses message 3", lambda: session.verify_peer(
        p3, res.remote_static, ctx.trust(True), now, peers=[b"CARRIER-A"]), "revoked")
    c.token("responder not configured with CARRIER-A", lambda: session.verify_peer(
        p3, res.remote_static, ctx.trust(), now, peers=[b"CARRIER-B"]), "not_a_peer")

    c.ok(ini.done and res.done, "both sides established")
    c.eq("initiator handshake_hash_hex", ini.handshake_hash, H(v["initiator"]["handshake_hash_hex"]))
    c.eq("responder handshake_hash_hex", res.handshake_hash, H(v["responder"]["handshake_hash_hex"]))
    tk = v["transport_keys"]
    c.eq("k1 (initiator to responder)", ini.send_cipher.key, H(tk["initiator_to_responder_hex"]))
    c.eq("k2 (responder to initiator)", ini.recv_cipher.key, H(tk["responder_to_initiator_hex"]))
    c.eq("responder's send key is k2", res.send_cipher.key, H(tk["responder_to_initiator_hex"]))
    c.eq("responder's receive key is k1", res.recv_cipher.key, H(tk["initiator_to_responder_hex"]))

    side = {"initiator": ini, "responder": res}
    for t in v["transport"]:
        snd, rcv = side[t["sender"]], side["responder" if t["sender"] == "initiator" else "initiator"]
        what = f"transport {list(t['message'])[0]}"
        pm = codec.PeerMessage()
        for member, fields in t["message"].items():
            getattr(pm, member).SetInParent()
            for k, val in fields.items():
                setattr(getattr(pm, member), k, val)
        c.eq(f"{what} plaintext_hex from the message", codec.encode(pm), H(t["plaintext_hex"]))
        c.eq(f"{what} cipher_nonce", snd.send_cipher.nonce, t["cipher_nonce"])
        msg = snd.send_cipher.encrypt(H(t["plaintext_hex"]))
        c.eq(f"{what} frame_hex", session.frame(msg), H(t["frame_hex"]))
        stream[t["sender"]] += session.frame(msg)
        plain = rcv.recv_cipher.decrypt(msg)
        got = session.parse_peer_message(plain)
        member = list(t["message"])[0]
        c.eq(f"{what} decrypted and decoded", (got.WhichOneof("msg"), getattr(got, member).nonce),
             (member, t["message"][member]["nonce"]))
    # The same octets as two streams, cut into odd pieces, give the same frames (8.3).
    for who, data in stream.items():
        reader, frames = session.FrameReader(), []
        for i in range(0, len(data), 7):
            frames += reader.feed(bytes(data[i:i + 7]))
        want = [H(m["frame_hex"])[2:] for m in v["handshake"] if m["sender"] == who]
        want += [H(t["frame_hex"])[2:] for t in v["transport"] if t["sender"] == who]
        c.eq(f"{who} stream split into frames", [f.hex() for f in frames], [w.hex() for w in want])
    c.token("preamble of version 2", lambda: session.check_preamble(b"HOPTRC\x00\x02"),
            "unsupported_version")
    c.token("preamble that is not HOPTRC", lambda: session.check_preamble(b"HTTP/1.1"), "malformed")
    c.token("a frame of length 0", lambda: session.FrameReader().feed(session.PREAMBLE + b"\0\0"),
            "malformed")
    c.token("message 1 of 33 octets", lambda: noise.Handshake(False, bytes(32)).read(bytes(33)),
            "malformed")
    c.token("message 1 with a small-order e: weak_key at ee", lambda: _weak_e(), "weak_key")
    for f in v["failures"]:  # section 8.4.5, from the recorded messages
        c.eq(f"failure {f['name']} reader", f["reader"], "initiator" if f["message"] == 2 else "responder")
        c.token(f"failure {f['name']}", lambda: _failure(sides, msgs, f), f["expected_error"])


def _failure(sides, msgs, f):
    """Replay the handshake up to message f["message"], whose reader gets message_hex instead;
    the reader then writes the next message, if it has one."""
    hs = [noise.Handshake(True, sides["initiator"][0], sides["initiator"][1]),
          noise.Handshake(False, sides["responder"][0], sides["responder"][1])]
    payloads = {1: b"", 2: sides["responder"][3], 3: sides["initiator"][3]}
    m = f["message"]
    for k in range(1, m + 1):
        writer, reader = hs[(k - 1) % 2], hs[k % 2]
        writer.write(payloads[k])
        reader.read(H(f["message_hex"]) if k == m else H(msgs[k]["frame_hex"])[2:])
    if m < 3:
        hs[m % 2].write(payloads[m + 1])


def _weak_e():
    res = noise.Handshake(False, bytes(range(32)))
    res.read(bytes(32))  # e = 0: small order
    res.write(b"")


# --- trace-request.json ----------------------------------------------------------------------

def _request_body(f, cert_env, answer_key):
    return codec.encode(codec.TraceRequest(
        trace_id=H(f["trace_id_hex"]), initiator_id=f["initiator_id"].encode(),
        initiator_cert=cert_env, created_ms=f["created_ms"], expires_ms=f["expires_ms"],
        call_time_ms=f["call_time_ms"], tolerance_ms=f["tolerance_ms"], hop_limit=f["hop_limit"],
        salt=H(f["salt_hex"]), call_commitment=H(f["call_commitment_hex"]), answer_key=answer_key,
        hint=f.get("hint", 0), hint_bits=f.get("hint_bits", 0),
        label=f.get("label", "").encode()))


def check_trace_request(c, ctx, v):
    f = v["fields"]
    ak = crypto.x25519_public(H(f["answer_secret_hex"]))
    c.eq("answer_key_hex from answer_secret_hex", ak, H(f["answer_key_hex"]))
    c.eq("signer_sign_key_hex", crypto.ed25519_public(ctx.provider_seed), H(v["signer_sign_key_hex"]))
    body = _request_body(f, ctx.cert_env, ak)
    env = signed_parts(c, "request", v, envelope.TRACE_REQUEST, body, ctx.provider_seed)
    req = None
    try:
        req = trace.parse_request(env)
    except HtError as e:
        c.ok(False, "parses (11.3.2)", str(e))
    if req:
        c.ok(True, "parses (11.3.2)")
        c.token("verifies at check_time_ms (11.3.3)", lambda: req.verify(ctx.trust(), v["check_time_ms"]),
                "ok")


# --- trace.json ----------------------------------------------------------------------------

def _answer_body(f, cert_env):
    calls = [trace.matched_call(
        upstream=x["upstream"].encode(), originated_here=x["originated_here"],
        customer_ref=x["customer_ref"].encode(), record_time_ms=x["record_time_ms"],
        attestation=x["attestation"], origid=H(x["origid_hex"])) for x in f.get("calls") or []]
    return codec.encode(codec.HopAnswer(
        request_hash=H(f["request_hash_hex"]), provider_id=f["provider_id"].encode(),
        asked_by=f["asked_by"].encode(), status=f["status"], reason=f["reason"],
        answered_ms=f["answered_ms"], hop=f["hop"], calls=calls, upstream=f["upstream"].encode(),
        certificate=cert_env, window_time_ms=f["window_time_ms"]))


def check_trace(c, ctx, v):
    c.eq("anchor", H(v["anchor_sign_key_hex"]), ctx.anchor_key)
    parties = {}
    for name, p in v["parties"].items():
        seed, nsec = H(p["sign_seed_hex"]), H(p["noise_secret_hex"])
        c.eq(f"{name} sign_key", crypto.ed25519_public(seed), H(p["sign_key_hex"]))
        c.eq(f"{name} noise_key", crypto.x25519_public(nsec), H(p["noise_key_hex"]))
        env = cert.issue_cert(ctx.anchor_seed, p["provider_id"].encode(), H(p["sign_key_hex"]),
                              H(p["noise_key_hex"]), p["not_before"], p["not_after"], p["serial"],
                              [ROLE_NAMES[r] for r in (p["roles"] or [])])
        c.eq(f"{name} certificate reissued", env, H(p["certificate_hex"]))
        c.token(f"{name} certificate valid at the check time", lambda: cert.verify_cert(
            H(p["certificate_hex"]), ctx.trust(), v["request"]["check_time_ms"] // 1000), "ok")
        parties[name] = (seed, H(p["certificate_hex"]))
    c.eq("CARRIER-A's certificate is certificate.json's", parties["CARRIER-A"][1], ctx.cert_env)

    b = v["blinded_call"]
    calling, called, salt = b["calling"].encode(), b["called"].encode(), H(b["salt_hex"])
    c.eq("commitment_input_hex", trace.commitment_input(calling, called), H(b["commitment_input_hex"]))
    c.eq("commitment_hex", trace.commitment(salt, calling, called), H(b["commitment_hex"]))
    c.eq("hint_input_hex", trace.hint_input(calling, called), H(b["hint_input_hex"]))
    c.eq("hint_digest_hex", trace.hint_digest(calling, called), H(b["hint_digest_hex"]))
    c.eq("hint_16", trace.hint_full(calling, called), b["hint_16"])
    c.eq("hint", trace.hint(calling, called, b["hint_bits"]), b["hint"])

    r = v["request"]
    f = r["fields"]
    ak = crypto.x25519_public(H(r["answer_secret_hex"]))
    c.eq("answer_key_hex from answer_secret_hex", ak, H(f["answer_key_hex"]))
    c.eq("request salt is the blinded call's", H(f["salt_hex"]), salt)
    c.eq("request commitment is the blinded call's", H(f["call_commitment_hex"]), H(b["commitment_hex"]))
    signer = parties[r["signer"]]
    body = _request_body(f, signer[1], ak)
    req_env = signed_parts(c, "request", r, envelope.TRACE_REQUEST, body, signer[0])
    c.eq("build_request reproduces the envelope", trace.build_request(
        signer[0], signer[1], H(f["trace_id_hex"]), f["initiator_id"].encode(), f["created_ms"],
        f["expires_ms"], f["call_time_ms"], f["tolerance_ms"], f["hop_limit"], salt,
        H(f["call_commitment_hex"]), ak, f["hint"], f["hint_bits"], f["label"].encode()), req_env)
    req = trace.parse_request(req_env)
    c.token("request verifies at check_time_ms", lambda: req.verify(ctx.trust(), r["check_time_ms"]), "ok")
    request_id = req.message_id

    sealed_by_index = []
    for i, a in enumerate(v["answers"]):
        what = f"answer {i} ({a['name']})"
        af = a["fields"]
        seed, cenv = parties[a["signer"]]
        c.eq(f"{what} request_hash is the request's ID", H(af["request_hash_hex"]), request_id)
        c.eq(f"{what} status_name", trace.STATUS_NAMES[af["status"]], af["status_name"])
        body = _answer_body(af, cenv)
        env = signed_parts(c, what, a, envelope.HOP_ANSWER, body, seed)
        c.token(f"{what} passes 11.7.4", lambda: trace.parse_answer(env).verify(ctx.trust(), request_id)
                .check_time(req), "ok")
        s = a["seal"]
        esk = H(s["ephemeral_secret_hex"])
        c.eq(f"{what} seal ephemeral secret is 0xe1 + i", esk, bytes([0xE1 + i]) * 32)
        steps = trace.seal_steps(env, ak, esk)
        c.eq(f"{what} seal ephemeral_key_hex", steps["epk"], H(s["ephemeral_key_hex"]))
        c.eq(f"{what} seal nonce_hex", steps["nonce"], H(s["nonce_hex"]))
        c.eq(f"{what} seal sealed_hex", steps["sealed"], H(s["sealed_hex"]))
        c.eq(f"{what} opens with the answer secret", trace.open_sealed(H(s["sealed_hex"]),
                                                                      H(r["answer_secret_hex"])), env)
        sealed_by_index.append(steps["sealed"])
        if "opaque_customer_ref" in a:
            o = a["opaque_customer_ref"]
            c.eq(f"{what} opaque ref domain", o["domain"].encode(), trace.CUSTOMER_REF_DOMAIN)
            k, digest, ref = trace.opaque_customer_ref(seed, o["stored_reference"].encode())
            c.eq(f"{what} opaque ref key_hex", k, H(o["key_hex"]))
            c.eq(f"{what} opaque ref digest_hex", digest, H(o["digest_hex"]))
            c.eq(f"{what} opaque customer_ref", ref, o["customer_ref"])
            c.eq(f"{what} customer_ref in the call", af["calls"][0]["customer_ref"], ref)
    # A random seal (PyNaCl's SealedBox) opens to the same envelope.
    env0 = H(v["answers"][0]["envelope_hex"])
    c.eq("random seal opens", trace.open_sealed(trace.seal(env0, ak), H(r["answer_secret_hex"])), env0)

    sb = v["sealed_box"]
    idx = [a["name"] for a in v["answers"]].index(sb["answer"])
    c.eq("sealed_box recipient_key_hex", H(sb["recipient_key_hex"]), ak)
    c.eq("sealed_box recipient_secret_hex", H(sb["recipient_secret_hex"]), H(r["answer_secret_hex"]))
    c.eq("sealed_box plaintext_hex", H(sb["plaintext_hex"]), H(v["answers"][idx]["envelope_hex"]))
    steps = trace.seal_steps(H(sb["plaintext_hex"]), H(sb["recipient_key_hex"]),
                             H(sb["ephemeral_secret_hex"]))
    c.eq("sealed_box ephemeral_key_hex", steps["epk"], H(sb["ephemeral_key_hex"]))
    c.eq("sealed_box nonce_input_hex", steps["epk"] + ak, H(sb["nonce_input_hex"]))
    c.eq("sealed_box nonce_hex", steps["nonce"], H(sb["nonce_hex"]))
    c.eq("sealed_box shared_secret_hex", steps["s"], H(sb["shared_secret_hex"]))
    c.eq("sealed_box box_key_hex", steps["k"], H(sb["box_key_hex"]))
    c.eq("sealed_box tag_hex", steps["tag"], H(sb["tag_hex"]))
    c.eq("sealed_box ciphertext_hex", steps["ciphertext"], H(sb["ciphertext_hex"]))
    c.eq("sealed_box sealed_hex", steps["sealed"], H(sb["sealed_hex"]))

    tid = H(f["trace_id_hex"])
    for pmv in v["peer_messages"]:
        m, name = pmv["message"], pmv["name"]
        if name == "trace_forward":
            c.eq("trace_forward request", H(m["request_hex"]), req_env)
            pm = trace.trace_forward(req_env, m["hop"], m["window_time_ms"], m["budget_ms"])
            # Section 11.10's example: A forwards 5 ms after created_ms, deadline expires_ms.
            c.eq("trace_forward budget (11.10)",
                 trace.budget(f["expires_ms"], f["created_ms"] + 5), m["budget_ms"])
        elif name == "trace_answer":
            c.ok(H(m["sealed_answer_hex"]) in sealed_by_index, "trace_answer carries a seal of trace.json")
            c.eq("trace_answer trace_id", H(m["trace_id_hex"]), tid)
            pm = trace.trace_answer(H(m["trace_id_hex"]), H(m["sealed_answer_hex"]))
        elif name == "trace_complete":
            pm = trace.trace_complete(H(m["trace_id_hex"]))
        elif name == "error":
            pm = trace.error(m["reason"], m["detail"], H(m["trace_id_hex"]))
        else:
            c.ok(False, f"peer message {name}", "no checker for this message")
            continue
        c.eq(f"peer message {name} plaintext_hex", codec.encode(pm), H(pmv["plaintext_hex"]))
        back = session.parse_peer_message(H(pmv["plaintext_hex"]))
        c.eq(f"peer message {name} decodes back", back, pm)


# --- trace-rejections.json -----------------------------------------------------------------

def check_trace_rejections(c, ctx, v):
    c.eq("anchor", H(v["anchor_sign_key_hex"]), ctx.anchor_key)
    t = ctx.trace
    req = trace.parse_request(H(t["request"]["envelope_hex"]))
    c.eq("request_id_hex", req.message_id, H(v["request_id_hex"]))
    for r in v["requests"]:
        reason, usable = trace.request_reason(H(r["request_hex"]), ctx.trust(r["with_revocation_list"]),
                                              r["check_time_ms"])
        c.eq(f"request {r['name']} reason", reason, r["expected_reason"])
        c.eq(f"request {r['name']} answer_key_usable", usable, r["answer_key_usable"])
    for h in v["hop_checks"]:
        seen = {req.trace_id} if h["trace_id_seen_before"] else set()
        got = trace.hop_check(req, ctx.trust(), h["check_time_ms"], h["hop"],
                              h["asking_peer"].encode(), seen,
                              [p.encode() for p in h["initiators_policy"]])
        c.eq(f"hop check {h['name']}", got, h["expected_reason"])
    for a in v["answers"]:
        c.eq(f"answer {a['name']}", trace.answer_token(H(a["answer_hex"]), ctx.trust(), req),
             a["expected_error"])
    secret = H(t["request"]["answer_secret_hex"])
    for s in v["sealed"]:
        try:
            opened = trace.open_sealed(H(s["sealed_hex"]), secret)
            got = "ok"
        except HtError as e:
            opened, got = None, e.token
        c.eq(f"sealed {s['name']}", got, s["expected_error"])
        if got == "ok" and opened is not None:
            c.eq(f"sealed {s['name']} opens to answers[1]", opened, H(t["answers"][1]["envelope_hex"]))


# --- evidence-bundle.json ------------------------------------------------------------------

def check_bundles(c, ctx, v):
    c.eq("anchor", H(v["anchor_sign_key_hex"]), ctx.anchor_key)
    t = ctx.trace
    for b in v["bundles"]:
        what = f"bundle {b['name']}"
        f = b["fields"]
        c.eq(f"{what} request_hex is trace.json's request", H(f["request_hex"]),
             H(t["request"]["envelope_hex"]))
        answers = []
        for i, name in zip(f["answer_indexes"], f["answer_names"]):
            c.eq(f"{what} answer {i} name", t["answers"][i]["name"], name)
            answers.append(H(t["answers"][i]["envelope_hex"]))
        data = trace.encode_bundle(H(f["request_hex"]), f["calling"].encode(),
                                   f["called"].encode(), answers, f["exported_ms"], f["version"])
        c.eq(f"{what} bundle_hex", data, H(b["bundle_hex"]))
        exp = b["expected"]
        try:
            res = trace.verify_bundle(H(b["bundle_hex"]), ctx.trust())
        except HtError as e:
            c.eq(f"{what} verifies", e.token, exp["error"])
            continue
        c.eq(f"{what} verifies", "ok", exp["error"])
        c.eq(f"{what} origin_found", res.origin_found, exp["origin_found"])
        c.eq(f"{what} open_branches", res.open_branches, exp["open_branches"])
        c.eq(f"{what} nodes", res.nodes, exp["nodes"])
    for r in v["rejections"]:
        c.token(f"rejection {r['name']}", lambda: trace.verify_bundle(H(r["bundle_hex"]), ctx.trust()),
                r["expected_error"], index=r["failed_answer"])


# --- numbers.md section 7 ------------------------------------------------------------------

_ROW = re.compile(r'^\| (\d+) \| `"(.*)"` \| (1|none) \| (?:`(\d+)`|error `([a-z_]+)`) \|$')


def check_numbers(c, spec):
    with open(os.path.join(spec, "numbers.md")) as f:
        text = f.read()
    section = text.split("## 7. Test vectors", 1)[1].split("\n## ", 1)[0]
    rows = [ln for ln in section.splitlines() if re.match(r"^\| \d+ \|", ln)]
    c.ok(len(rows) > 0, "numbers.md section 7 has rows")
    for ln in rows:
        m = _ROW.match(ln)
        if not c.ok(m is not None, "row parses", ln):
            continue
        n, inp, cc, result, err = m.groups()
        try:
            got = numbers.normalise(inp.encode(), None if cc == "none" else "1").decode()
        except numbers.NumberError as e:
            got = "error " + e.name
        c.eq(f"row {n} {inp!r} cc {cc}", got, result if result else "error " + err)


# --- section 2.6: the decoding rules, on the examples the text gives -----------------------

def check_decoding(c):
    env = H("08011a40" + "00" * 64)  # kind 1, empty body, a 64-octet signature
    c.token("D4: kind as the 5-octet varint 81 80 80 80 10 is 1", lambda: envelope.parse(
        H("0881808080101a40" + "00" * 64), envelope.CERTIFICATE), "ok")
    c.eq("D4: 81 00 decodes as 1", codec.decode(codec.Ping, H("088100")).nonce, 1)
    c.eq("D4: bits past the 64th are discarded",
         codec.decode(codec.Ping, H("08" + "ff" * 9 + "7f")).nonce, 2**64 - 1)
    c.token("D4: a varint of 11 octets", lambda: codec.decode(codec.Ping, H("08" + "80" * 10 + "00")),
            "malformed")
    c.eq("D4: a uint32 takes the low 32 bits",
         codec.decode(codec.TraceForward, H("108180808010")).hop, 1)
    c.eq("D4: an enum reads the low 32 bits as signed",
         codec.decode(codec.Error, H("08ffffffff0f")).reason, -1)
    c.token("D1: an empty input is a valid message", lambda: codec.decode(codec.SignedEnvelope, b""), "ok")
    c.token("D1: a length past the end", lambda: codec.decode(codec.SignedEnvelope, H("1205aa")),
            "malformed")
    c.token("D2: field number 0", lambda: codec.decode(codec.Ping, H("0001")), "malformed")
    c.token("D2: a tag of 6 octets", lambda: codec.decode(codec.Ping, H("888080808000" + "01")),
            "malformed")
    c.token("D3: a group of an unknown field", lambda: codec.decode(codec.Ping, H("9b01" + "9c01")),
            "malformed")
    c.token("D3: wire type 7", lambda: codec.decode(codec.Ping, H("0f")), "malformed")
    c.token("D5: a known field with the wrong wire type", lambda: codec.decode(codec.Ping, H("0a0101")),
            "malformed")
    c.token("D5: a known bytes field as a varint", lambda: codec.decode(codec.SignedEnvelope, H("1001")),
            "malformed")
    c.eq("D5: critical packed and unpacked, mixed", list(codec.decode(
        codec.Certificate, H("7a020102" + "7803" + "7a0104")).critical), [1, 2, 3, 4])
    c.token("D5: a packed list cut inside a varint", lambda: codec.decode(codec.Certificate, H("7a0181")),
            "malformed")
    c.eq("D6: the last of a repeated singular field", codec.decode(codec.Ping, H("08010802")).nonce, 2)
    pm = codec.decode(codec.PeerMessage, H("0a020801" + "12020802"))
    c.eq("D6: the oneof member whose record comes last", (pm.WhichOneof("msg"), pm.pong.nonce), ("pong", 2))
    pm = codec.decode(codec.PeerMessage, H("0a020801" + "0a021001"))
    c.eq("D6: a repeated oneof message member is not merged", (pm.ping.nonce, codec.encode(pm)),
         (0, H("0a00")))
    c.eq("D7: unknown fields are skipped", codec.decode(codec.Ping, H("0801" + "9a0100" + "a80105")).nonce, 1)
    c.eq("D8: 0a 00 is a PeerMessage holding a Ping of nonce 0",
         codec.decode(codec.PeerMessage, H("0a00")).WhichOneof("msg"), "ping")
    c.eq("D8: an empty PeerMessage holds no member",
         codec.decode(codec.PeerMessage, b"").WhichOneof("msg"), None)
    c.token("5.4 step 3: kind 0", lambda: envelope.parse(H("1a40" + "00" * 64), envelope.CERTIFICATE),
            "malformed")
    c.token("5.4 step 3: signature of 63 octets", lambda: envelope.parse(
        H("08011a3f" + "00" * 63), envelope.CERTIFICATE), "malformed")
    c.token("5.4 step 4: kind 2 for a certificate", lambda: envelope.parse(
        H("08021a40" + "00" * 64), envelope.CERTIFICATE), "wrong_kind")
    c.token("4.5: a certificate file with a trailing LF", lambda: cert.parse_cert(env + b"\n"), "malformed")
    c.token("5.6: a certificate envelope of 2049 octets", lambda: cert.parse_cert(
        env + H("9a01") + codec.varint_bytes(2049 - len(env) - 4) +
        bytes(2049 - len(env) - 4)), "too_large")


# --- decoding.json: the decoding rules of section 2.6 as data ----------------------------------

def check_decoding_vectors(c, ctx, v):
    for d in v["vectors"]:
        what = f"{d['rule']} {d['name']}"
        cls = codec.by_full_name(d["message"])
        try:
            msg = codec.decode(cls, H(d["input_hex"]))
            got = "ok"
        except HtError as e:
            msg, got = None, e.token
        c.eq(what, got, d["expected"])
        if msg is not None and d["canonical_hex"] is not None:
            c.eq(what + " canonical encoding", codec.encode(msg), H(d["canonical_hex"]))


CHECKERS = {
    "keys.json": check_keys,
    "certificate.json": check_certificate,
    "revocation-list.json": check_crl,
    "rejections.json": check_rejections,
    "handshake.json": check_handshake,
    "trace-request.json": check_trace_request,
    "trace.json": check_trace,
    "trace-rejections.json": check_trace_rejections,
    "evidence-bundle.json": check_bundles,
    "decoding.json": check_decoding_vectors,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spec", required=True)
    ap.add_argument("--proto", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    try:
        codec.init(args.proto, args.work)
        ctx = Ctx(args.spec, args.work)
    except Exception as e:
        print(f"setup failed: {e}")
        return 2
    files = sorted(n for n in os.listdir(os.path.join(args.spec, "vectors")) if n.endswith(".json"))
    total_fail = 0
    for name in files:
        c = Check(name, args.verbose)
        fn = CHECKERS.get(name)
        if fn is None:
            c.ok(False, "checker", "no checker for this vector file")
        else:
            try:
                fn(c, ctx, load(args.spec, name))
            except Exception as e:
                c.ok(False, "exception", f"{type(e).__name__}: {e}")
                traceback.print_exc()
        total_fail += c.failures
        print(f"{name}: {c.count} checks, {c.failures} mismatches")
    for name in sorted(set(CHECKERS) - set(files)):
        print(f"{name}: MISSING from spec/vectors")
        total_fail += 1
    c = Check("decoding", args.verbose)
    try:
        check_decoding(c)
    except Exception as e:
        c.ok(False, "exception", f"{type(e).__name__}: {e}")
        traceback.print_exc()
    total_fail += c.failures
    print(f"section 2.6 decoding examples: {c.count} checks, {c.failures} mismatches")
    c = Check("numbers.md", args.verbose)
    try:
        check_numbers(c, args.spec)
    except Exception as e:
        c.ok(False, "exception", f"{type(e).__name__}: {e}")
        traceback.print_exc()
    total_fail += c.failures
    print(f"numbers.md section 7: {c.count} checks, {c.failures} mismatches")
    print("interop vectors: " + ("PASS" if total_fail == 0 else f"FAIL ({total_fail} mismatches)"))
    return 1 if total_fail else 0


if __name__ == "__main__":
    sys.exit(main())
