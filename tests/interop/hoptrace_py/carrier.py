"""A carrier: sessions with its configured peers (spec/protocol.md 8), the hop procedure of
section 11 on its own call records, and the initiator of section 11.12.

Threads: one accepts connections, one per dial or accepted handshake, one reader per session,
and one ticker (keepalives, dead peers, dialling, deadlines). All state, and every send, is
under one lock, so that what a hop sends about a trace leaves in the order it was decided
(its TraceComplete last, section 11.11).
"""

import configparser
import json
import logging
import os
import random
import socket
import threading
import time

from . import cert as certmod
from . import codec, crypto, envelope, keys, numbers, records
from . import session as sessmod
from . import trace as tr
from .errors import REASONS, HtError, R

log = logging.getLogger("hoptrace_py.carrier")

REASON_NAMES = {v: k[len("REASON_"):].lower() for k, v in REASONS.items()}
MAX_TRACES = 4096  # traces in progress (11.14)
MAX_SEEN = 65536  # seen table (11.13)
MAX_RELAYED = 1024  # answers passed on per upstream and trace (11.11)
ZERO_ID = bytes(16)


def now_ms():
    return int(time.time() * 1000)


def reason_name(code):
    return REASON_NAMES.get(code, str(code))


class ConfigError(Exception):
    pass


def _addr(text, what):
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{what}: '{text}' is not HOST:PORT")
    return host, int(port)


class Config:
    """The carrier's configuration: an INI file (tests/interop/README.md)."""

    def __init__(self, path):
        cp = configparser.ConfigParser(interpolation=None, delimiters=("=",),
                                       comment_prefixes=("#", ";"), strict=True)
        cp.optionxform = str  # trunk group names keep their case
        try:
            with open(path) as f:
                cp.read_file(f)
        except (OSError, configparser.Error) as e:
            raise ConfigError(f"{path}: {e}")

        def get(section, key, default=None):
            if cp.has_option(section, key):
                return cp.get(section, key).strip()
            if default is None:
                raise ConfigError(f"{path}: [{section}] {key} is required")
            return default

        def num(section, key, default):
            v = get(section, key, str(default))
            if not v.isdigit():
                raise ConfigError(f"{path}: [{section}] {key} is not a number")
            return int(v)

        self.provider_id = get("identity", "provider_id").encode()
        if not certmod.valid_provider_id(self.provider_id):
            raise ConfigError(f"{path}: invalid provider_id")
        self.key = get("identity", "key")
        self.certificate = get("identity", "certificate")
        self.anchors = get("trust", "anchor").split()
        self.listen = _addr(get("listen", "address"), "[listen] address") \
            if cp.has_option("listen", "address") and get("listen", "address") else None
        self.peers = {}
        for s in cp.sections():
            if s.startswith("peer "):
                pid = s[5:].strip().encode()
                if not certmod.valid_provider_id(pid) or pid == self.provider_id:
                    raise ConfigError(f"{path}: [{s}]: invalid peer")
                a = get(s, "address", "")
                self.peers[pid] = _addr(a, f"[{s}] address") if a else None
        self.trunks = dict(cp.items("trunks")) if cp.has_section("trunks") else {}
        cc = get("store", "country_code", "")
        if cc not in ("", "1"):
            raise ConfigError(f"{path}: [store] country_code must be 1 or empty")
        self.country_code = cc or None
        self.records = get("store", "records", "").split()
        self.state = get("state", "directory", "")
        self.keepalive_ms = num("policy", "keepalive_ms", 10000)
        self.dead_peer_ms = num("policy", "dead_peer_ms", 30000)
        self.handshake_timeout_ms = num("policy", "handshake_timeout_ms", 5000)
        self.backoff_min_ms = num("policy", "backoff_min_ms", 250)
        self.backoff_max_ms = num("policy", "backoff_max_ms", 30000)
        self.requests_per_second = num("policy", "requests_per_second", 50)
        self.burst = num("policy", "burst", 100)
        self.initiators = [i.encode() for i in get("policy", "initiators", "").split()]
        self.disclose_customer = get("policy", "disclose_customer", "opaque")
        if self.disclose_customer not in ("opaque", "reference", "none"):
            raise ConfigError(f"{path}: [policy] disclose_customer: opaque, reference or none")
        if self.dead_peer_ms <= self.keepalive_ms:
            raise ConfigError(f"{path}: dead_peer_ms must be greater than keepalive_ms (8.7)")
        self.lifetime_ms = num("trace", "lifetime_s", 60) * 1000
        self.hop_limit = num("trace", "hop_limit", 16)
        self.tolerance_ms = num("trace", "tolerance_ms", 5000)
        self.hint_bits = num("trace", "hint_bits", 12)


class _Local:
    """The asker of the initiator's own hop 0 (section 11.12)."""

    def __init__(self, provider_id):
        self.peer_id = provider_id
        self.closed = False


class Conn:
    """An established session and what the carrier tracks about it."""

    def __init__(self, s, dialler):
        self.s = s
        self.peer_id = s.peer_id
        self.dialler = dialler  # provider ID of the side that dialled (8.7.5)
        self.last_rx = self.last_ping = time.monotonic()
        self.closed = False
        self.tokens = None  # rate limiter (11.14), set by the carrier
        self.tokens_at = time.monotonic()

    def send(self, pm):
        if self.closed:
            return False
        try:
            self.s.send(pm)
            return True
        except (OSError, HtError) as e:
            log.warning("send to %s failed: %s", self.peer_id.decode(), e)
            self.shutdown()
            return False

    def shutdown(self):
        self.closed = True
        try:
            self.s.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class Peer:
    def __init__(self, pid, address):
        self.id = pid
        self.address = address
        self.conn = None
        self.dialling = False
        self.next_dial = 0.0
        self.backoff = 0  # the k of 8.7.4: waits in a row


class HopTrace:
    """A trace this carrier answered and forwarded, until its branch completes (11.9-11.11)."""

    def __init__(self, req, raw, asker, hop, w, deadline_ms, found):
        self.req, self.raw, self.asker, self.hop, self.w = req, raw, asker, hop, w
        self.deadline_ms = deadline_ms
        self.found = found  # the calls of its FOUND answer
        self.branches = {}  # upstream ID -> "open" / "done"
        self.branch_conn = {}
        self.relayed = {}


class InitTrace:
    """A trace this carrier started (11.12)."""

    def __init__(self, req, raw, secret, calling, called, to, deadline_ms):
        self.req, self.raw, self.secret = req, raw, secret
        self.calling, self.called, self.to = calling, called, to
        self.trace_id = req.trace_id
        self.started_ms = now_ms()
        self.deadline_ms = deadline_ms  # when it gives up
        self.to_open = False
        self.entries = []  # every answer that arrived: dict
        self.kept = []  # Answer objects that are evidence, in arrival order
        self.status = "running"
        self.finished_ms = 0
        self.done = threading.Event()


class Carrier:
    def __init__(self, config, tamper=()):
        self.cfg = config
        self.tamper = set(tamper)
        self.id = config.provider_id
        kf = keys.load(config.key, "provider-secret")
        with open(config.certificate, "rb") as f:
            self.cert_raw = f.read(certmod.MAX_CERT + 1)
        self.trust = certmod.Trust()
        for a in config.anchors:
            self.trust.add_anchor(keys.load(a, "anchor-public").sign_key)
        c = certmod.verify_cert(self.cert_raw, self.trust, int(time.time()))
        if c.provider_id != self.id or c.sign_key != kf.sign_key or c.noise_key != kf.noise_key:
            raise ConfigError("the certificate is not for this provider ID and key")
        self.cert = c
        self.identity = sessmod.Identity(self.id, kf.sign_seed, kf.noise_secret, self.cert_raw)
        self.records, self.record_errors = [], []
        for path in config.records:
            with open(path, "rb") as f:
                recs, errs = records.load(f.read(), config.trunks, config.country_code)
            self.records += recs
            self.record_errors += [(path,) + e for e in errs]
        self.records.sort(key=lambda r: r.time_ms)
        self.full_hints = [tr.hint_full(r.calling, r.called) for r in self.records]
        self.peers = {pid: Peer(pid, a) for pid, a in config.peers.items()}
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self.hop_traces = {}  # trace ID -> HopTrace
        self.init_traces = {}  # trace ID -> InitTrace
        self.seen = {}  # trace ID -> expires_ms (11.13)
        self.local = _Local(self.id)
        self.listener = None
        self.threads = []
        self.audit_path = os.path.join(config.state, "audit.jsonl") if config.state else None

    # -- running -------------------------------------------------------------------------------

    def start(self):
        if self.cfg.state:
            os.makedirs(self.cfg.state, exist_ok=True)
        if self.cfg.listen:
            ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            ls.bind(self.cfg.listen)
            ls.listen(16)
            ls.settimeout(0.2)
            self.listener = ls
            self._thread(self._accept_loop, "accept")
        self._thread(self._ticker, "ticker")
        log.info("%s: started, %d records, %d peers", self.id.decode(), len(self.records),
                 len(self.peers))

    def stop(self):
        self.stopping.set()
        if self.listener:
            self.listener.close()  # no new connections
        with self.lock:
            for p in self.peers.values():
                if p.conn:
                    p.conn.shutdown()
        for t in list(self.threads):
            t.join(timeout=2)

    def _thread(self, fn, name, *args):
        t = threading.Thread(target=fn, args=args, name=name, daemon=True)
        self.threads = [x for x in self.threads if x.is_alive()] + [t]
        t.start()
        return t

    def established(self, pid):
        with self.lock:
            p = self.peers.get(pid)
            return bool(p and p.conn and not p.conn.closed)

    def wait_established(self, pids, timeout):
        end = time.monotonic() + timeout
        while not all(self.established(p) for p in pids):
            if time.monotonic() > end:
                return False
            time.sleep(0.05)
        return True

    # -- sessions (section 8) ------------------------------------------------------------------

    def _accept_loop(self):
        while not self.stopping.is_set():
            try:
                sock, addr = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self._thread(self._accept_one, "handshake", sock, addr)

    def _accept_one(self, sock, addr):
        try:
            s = sessmod.Session.accept(sock, self.identity, self.trust, list(self.peers),
                                       timeout=self.cfg.handshake_timeout_ms / 1000)
        except (HtError, OSError, ConnectionError, TimeoutError) as e:
            log.info("handshake from %s:%d refused: %s", addr[0], addr[1], e)
            return
        self._established(s, s.peer_id)

    def _dial(self, peer):
        try:
            s = sessmod.Session.connect(peer.address, self.identity, self.trust, peer.id,
                                        timeout=self.cfg.handshake_timeout_ms / 1000)
        except (HtError, OSError, ConnectionError, TimeoutError) as e:
            log.debug("dial %s failed: %s", peer.id.decode(), e)
            with self.lock:
                peer.dialling = False
                self._backoff(peer)
            return
        with self.lock:
            peer.dialling = False
        self._established(s, self.id)

    def _backoff(self, peer):
        """Section 8.7.4: b(k) doubles up to the maximum; the wait is b/2 plus up to b/2."""
        peer.backoff += 1
        b = min(self.cfg.backoff_min_ms << (peer.backoff - 1), self.cfg.backoff_max_ms)
        peer.next_dial = time.monotonic() + (b // 2 + random.randint(0, b // 2)) / 1000

    def _established(self, s, dialler):
        conn = Conn(s, dialler)
        conn.tokens = self.cfg.burst
        with self.lock:
            peer = self.peers[s.peer_id]
            old = peer.conn
            if self.stopping.is_set():
                s.close()
                return
            if old is not None and not old.closed:
                # Section 8.7.5: different diallers, keep the one dialled by the lower ID;
                # the same dialler, keep the newer.
                if old.dialler != dialler and min(old.dialler, dialler) == old.dialler:
                    log.info("%s: simultaneous open, keeping the session dialled by %s",
                             peer.id.decode(), old.dialler.decode())
                    conn.shutdown()
                    s.close()
                    return
                log.info("%s: simultaneous open, keeping the session dialled by %s",
                         peer.id.decode(), dialler.decode())
                old.shutdown()
                self._closed(old)
            peer.conn = conn
            peer.backoff = 0
            log.info("session with %s established (dialled by %s)", peer.id.decode(),
                     dialler.decode())
        self._thread(self._reader, "reader", conn)

    def _reader(self, conn):
        try:
            while True:
                plaintext = conn.s.recv_plaintext(None)
                conn.last_rx = time.monotonic()
                try:
                    pm = sessmod.parse_peer_message(plaintext)
                except HtError as e:
                    log.warning("%s: malformed PeerMessage ignored: %s", conn.peer_id.decode(), e)
                    continue
                which = pm.WhichOneof("msg")
                if which is None:
                    continue  # no member we know (8.5.1)
                with self.lock:
                    if conn.closed:
                        break
                    self._dispatch(conn, which, pm)
        except (ConnectionError, OSError, HtError) as e:
            if not conn.closed:
                log.info("session with %s ended: %s", conn.peer_id.decode(), e)
        finally:
            with self.lock:
                conn.shutdown()
                self._closed(conn)
            conn.s.close()

    def _closed(self, conn):
        """A session ended: its traces (11.11) and the peer's dialling (8.7.4)."""
        peer = self.peers.get(conn.peer_id)
        if peer is None or getattr(conn, "_cleaned", False):
            return
        conn._cleaned = True
        if peer.conn is conn:
            peer.conn = None
            if peer.next_dial < time.monotonic():
                self._backoff(peer)
        for tid, ht in list(self.hop_traces.items()):
            if ht.asker is conn:
                log.info("trace %s: the asker's session ended, trace dropped", tid.hex())
                del self.hop_traces[tid]
                continue
            for u, c in ht.branch_conn.items():
                if c is conn and ht.branches[u] == "open":
                    self._dead_end(ht, u, R.UPSTREAM_UNREACHABLE)
            self._maybe_complete(ht)
        for it in self.init_traces.values():
            if it.to_open and it.to == conn.peer_id:
                self._init_dead_end(it, R.UPSTREAM_UNREACHABLE)

    def _ticker(self):
        while not self.stopping.wait(0.05):
            mono, now = time.monotonic(), now_ms()
            with self.lock:
                for p in self.peers.values():
                    c = p.conn
                    if c and not c.closed:
                        if (mono - c.last_rx) * 1000 > self.cfg.dead_peer_ms:
                            log.info("%s: dead peer, closing", p.id.decode())
                            c.shutdown()
                        elif (mono - c.last_ping) * 1000 >= self.cfg.keepalive_ms:
                            c.last_ping = mono
                            c.send(codec.PeerMessage(ping=codec.Ping(
                                nonce=random.getrandbits(64) or 1)))
                    elif p.address and not p.dialling and mono >= p.next_dial and not c:
                        p.dialling = True
                        self._thread(self._dial, "dial", p)
                for ht in list(self.hop_traces.values()):
                    if now >= ht.deadline_ms:
                        for u, st in list(ht.branches.items()):
                            if st == "open":
                                self._dead_end(ht, u, R.UPSTREAM_TIMED_OUT)
                        self._maybe_complete(ht)
                for it in self.init_traces.values():
                    if it.status == "running" and now >= it.deadline_ms:
                        if it.to_open:
                            self._init_dead_end(it, R.UPSTREAM_TIMED_OUT)
                        self._init_finish(it, "timed_out")
                for tid, exp in list(self.seen.items()):
                    if exp < now:
                        del self.seen[tid]

    # -- peer messages -------------------------------------------------------------------------

    def _dispatch(self, conn, which, pm):
        if which == "ping":
            conn.send(codec.PeerMessage(pong=codec.Pong(nonce=pm.ping.nonce)))
        elif which == "pong":
            pass
        elif which == "error":
            e = pm.error
            log.info("Error from %s: reason %s, trace %s: %r", conn.peer_id.decode(),
                     reason_name(e.reason), bytes(e.trace_id).hex() or "-", e.detail[:255])
            self._branch_event(conn, bytes(e.trace_id), "error", None)
        elif which == "trace_forward":
            self._handle_forward(conn, pm.trace_forward)
        elif which == "trace_answer":
            self._branch_event(conn, bytes(pm.trace_answer.trace_id), "answer",
                               bytes(pm.trace_answer.sealed_answer))
        elif which == "trace_complete":
            self._branch_event(conn, bytes(pm.trace_complete.trace_id), "complete", None)

    def _branch_event(self, conn, tid, kind, box):
        """Section 11.11: what an upstream sends about a branch this carrier opened."""
        u = conn.peer_id
        ht = self.hop_traces.get(tid)
        if ht is not None and ht.branches.get(u) == "open":
            if kind == "answer":
                n = ht.relayed.get(u, 0)
                if n >= MAX_RELAYED:
                    return
                ht.relayed[u] = n + 1
                if "relay-flip" in self.tamper:
                    box = box[:-1] + bytes([box[-1] ^ 0x01])  # for the negative tests
                    log.warning("trace %s: TAMPERING with a relayed answer of %s", tid.hex(),
                                u.decode())
                self._to_asker(ht, tid, box)
            elif kind == "complete":
                ht.branches[u] = "done"
                self._maybe_complete(ht)
            else:
                self._dead_end(ht, u, R.UPSTREAM_UNREACHABLE)
                self._maybe_complete(ht)
            return
        it = self.init_traces.get(tid)
        if it is not None and it.to_open and it.to == u:
            if kind == "answer":
                self._init_collect(it, box)
            elif kind == "complete":
                it.to_open = False
                self._init_finish(it, "complete")
            else:
                self._init_dead_end(it, R.UPSTREAM_UNREACHABLE)
                self._init_finish(it, "complete")
            return
        if kind != "error" or tid:
            log.info("%s from %s for trace %s on no open branch: dropped", kind,
                     u.decode(), tid.hex())

    # -- the hop (11.5 to 11.11) ---------------------------------------------------------------

    def _take_token(self, conn):
        mono = time.monotonic()
        conn.tokens = min(self.cfg.burst, conn.tokens + (mono - conn.tokens_at)
                          * self.cfg.requests_per_second)
        conn.tokens_at = mono
        if conn.tokens >= 1:
            conn.tokens -= 1
            return True
        return False

    def _send_error(self, asker, reason, tid, detail):
        log.info("Error %s to %s: %s", reason_name(reason), asker.peer_id.decode(), detail)
        if asker is self.local:
            return
        asker.send(tr.error(reason, detail, tid))

    def _audit(self, tid, asker_id, initiator, status, disclosed=""):
        if not self.audit_path:
            return
        with open(self.audit_path, "a") as f:
            f.write(json.dumps({"time_ms": now_ms(), "trace_id": tid.hex(),
                                "asking_peer": asker_id.decode(), "initiator": initiator.decode(),
                                "status": status, "disclosed": disclosed}) + "\n")

    def _answer(self, ctx, status, reason=0, calls=(), upstream=b""):
        """Sign one answer (11.7) for the request of ctx; returns the envelope."""
        env = tr.build_answer(self.identity.sign_seed, self.cert_raw, ctx["message_id"], self.id,
                              ctx["asker_id"], status, reason, now_ms(), ctx["hop"],
                              calls=calls, upstream=upstream, window_time_ms=ctx["w"])
        if "own-badsig" in self.tamper and status == tr.FOUND:
            # For the negative tests: the signature no longer matches the body.
            e = codec.decode(codec.SignedEnvelope, env)
            sig = bytes(e.signature)
            env = codec.encode(codec.SignedEnvelope(kind=e.kind, body=e.body,
                                                    signature=sig[:-1] + bytes([sig[-1] ^ 1])))
            log.warning("TAMPERING with the signature of an own answer")
        return env

    def _send_answer(self, asker, ctx, env):
        box = tr.seal(env, ctx["answer_key"])
        if asker is self.local:
            self._init_collect(self.init_traces[ctx["trace_id"]], box)
        else:
            asker.send(tr.trace_answer(ctx["trace_id"], box))

    def _complete_to(self, asker, tid):
        if asker is self.local:
            it = self.init_traces.get(tid)
            if it is not None:
                self._init_finish(it, "complete")
        else:
            asker.send(tr.trace_complete(tid))

    def _refuse(self, asker, ctx, reason):
        """Section 11.5, "refuse with R": a signed refusal, then TraceComplete."""
        if ctx["hop"] >= 32:  # 11.5: an answer cannot carry such an index: the refusal's reason
            return self._send_error(asker, reason, ctx["trace_id"], "hop index over 31")
        log.info("trace %s: refused %s to %s", ctx["trace_id"].hex(), reason_name(reason),
                 ctx["asker_id"].decode())
        self._audit(ctx["trace_id"], ctx["asker_id"], ctx["initiator_id"],
                    "refused:" + reason_name(reason))
        self._send_answer(asker, ctx, self._answer(ctx, tr.REFUSED, reason))
        self._complete_to(asker, ctx["trace_id"])

    def _handle_forward(self, asker, tf):
        hop, raw = tf.hop, bytes(tf.request)
        token = asker is self.local or self._take_token(asker)  # step 2
        try:
            req, perr = tr.parse_request(raw), None
        except HtError as e:
            if not getattr(e, "answer_key_usable", False):  # step 3
                return self._send_error(asker, e.reason, _trace_id_of(raw),
                                        f"request refused: {e}")
            req, perr = None, e
        # Steps 1 to 7 passed: the envelope and body decode, the answer key is usable.
        env = envelope.parse(raw, envelope.TRACE_REQUEST)
        body = codec.decode(codec.TraceRequest, env.body)
        tid = bytes(body.trace_id) if len(body.trace_id) == 16 else ZERO_ID
        w = tf.window_time_ms if hop > 0 and tf.window_time_ms else body.call_time_ms
        ctx = {"trace_id": tid, "message_id": env.message_id, "answer_key": bytes(body.answer_key),
               "asker_id": asker.peer_id, "hop": hop, "w": w,
               "initiator_id": bytes(body.initiator_id)}
        if not token:  # step 4
            return self._refuse(asker, ctx, R.RATE_LIMITED)
        if perr is not None:  # step 5
            return self._refuse(asker, ctx, perr.reason)
        now = now_ms()
        try:  # step 6
            req.verify(self.trust, now)
        except HtError as e:
            return self._refuse(asker, ctx, e.reason)
        if hop >= req.hop_limit:  # step 7
            return self._refuse(asker, ctx, R.HOP_LIMIT)
        if hop == 0 and asker.peer_id != req.initiator_id:  # step 8
            return self._refuse(asker, ctx, R.POLICY_REFUSED)
        if len(self.hop_traces) >= MAX_TRACES:  # step 9
            return self._refuse(asker, ctx, R.RATE_LIMITED)
        if tid in self.seen:  # step 10
            return self._refuse(asker, ctx, R.DUPLICATE)
        if len(self.seen) >= MAX_SEEN:
            return self._refuse(asker, ctx, R.RATE_LIMITED)
        self.seen[tid] = req.expires_ms
        if self.cfg.initiators and req.initiator_id not in self.cfg.initiators:  # step 11
            return self._refuse(asker, ctx, R.POLICY_REFUSED)
        if hop >= 32:
            return self._send_error(asker, R.HOP_LIMIT, tid, "hop index over 31")
        # Step 12: match (11.6) and answer (11.7).
        calls = self._match(req, hop, asker.peer_id, w)
        if not calls:
            self._audit(tid, asker.peer_id, req.initiator_id, "not_found")
            self._send_answer(asker, ctx, self._answer(ctx, tr.NOT_FOUND))
            return self._complete_to(asker, tid)
        disclosed = ",".join(sorted({(c.upstream or b"origin:" + c.customer_ref).decode()
                                     for c in calls}))
        self._audit(tid, asker.peer_id, req.initiator_id, "found", disclosed)
        self._send_answer(asker, ctx, self._answer(ctx, tr.FOUND, calls=calls))
        deadline = tr.deadline(now, tf.budget_ms, req.expires_ms)
        ht = HopTrace(req, raw, asker, hop, w, deadline, calls)
        ht.ctx = ctx
        self.hop_traces[tid] = ht
        self._forward(ht)
        self._maybe_complete(ht)

    def _match(self, req, hop, asker_id, w):
        """Section 11.6; the MatchedCalls of the records that match, at most 16."""
        lo, hi = max(0, w - req.tolerance_ms), w + req.tolerance_ms
        m = tr.mask(req.hint_bits)
        out = []
        for r, full in zip(self.records, self.full_hints):
            if r.time_ms < lo or r.time_ms > hi:
                continue
            if (r.downstream != asker_id) if hop > 0 else (r.downstream is not None):
                continue
            if req.hint_bits and full & m != req.hint:
                continue
            if not tr.record_matches(req, w, r.time_ms, r.calling, r.called):
                continue
            if r.upstream is None:
                ref = self._customer_ref(r.customer_ref)
                out.append(tr.matched_call(originated_here=True, customer_ref=ref,
                                           record_time_ms=r.time_ms, attestation=r.attestation,
                                           origid=r.origid))
            else:
                out.append(tr.matched_call(upstream=r.upstream, record_time_ms=r.time_ms,
                                           attestation=r.attestation, origid=r.origid))
            if len(out) == tr.MAX_CALLS:
                log.info("more than 16 records match; listing the first 16")
                break
        return out

    def _customer_ref(self, stored):
        if not stored or self.cfg.disclose_customer == "none":
            return b""
        if self.cfg.disclose_customer == "reference":
            return stored
        return tr.opaque_customer_ref(self.identity.sign_seed, stored)[2].encode()

    def _forward(self, ht):
        """Section 11.9, for each distinct upstream in the order its FOUND answer names them."""
        ups = []
        for c in ht.found:
            u = bytes(c.upstream)
            if not c.originated_here and u not in ups:
                ups.append(u)
        for u in ups:
            peer = self.peers.get(u)
            if peer is None:
                self._dead_end(ht, u, R.UPSTREAM_NOT_PARTICIPANT)
                continue
            conn = peer.conn
            if conn is None or conn.closed:
                self._dead_end(ht, u, R.UPSTREAM_UNREACHABLE)
                continue
            if ht.hop + 1 >= ht.req.hop_limit:
                self._dead_end(ht, u, R.HOP_LIMIT)
                continue
            t = now_ms()
            b = tr.budget(ht.deadline_ms, t)
            if b < 100:
                self._dead_end(ht, u, R.UPSTREAM_TIMED_OUT)
                continue
            window = next(c.record_time_ms for c in ht.found
                          if not c.originated_here and bytes(c.upstream) == u)
            ht.branches[u] = "open"
            ht.branch_conn[u] = conn
            if not conn.send(tr.trace_forward(ht.raw, ht.hop + 1, window, min(b, 2**32 - 1))):
                self._dead_end(ht, u, R.UPSTREAM_UNREACHABLE)
            else:
                log.info("trace %s: forwarded to %s at hop %d, budget %d ms",
                         ht.req.trace_id.hex(), u.decode(), ht.hop + 1, b)

    def _dead_end(self, ht, u, reason):
        ht.branches[u] = "done"
        self._audit(ht.req.trace_id, ht.ctx["asker_id"], ht.req.initiator_id,
                    "dead_end:" + reason_name(reason), u.decode())
        log.info("trace %s: dead end at %s: %s", ht.req.trace_id.hex(), u.decode(),
                 reason_name(reason))
        self._send_answer(ht.asker, ht.ctx, self._answer(ht.ctx, tr.DEAD_END, reason, upstream=u))

    def _to_asker(self, ht, tid, box):
        if ht.asker is self.local:
            self._init_collect(self.init_traces[tid], box)
        else:
            ht.asker.send(tr.trace_answer(tid, box))

    def _maybe_complete(self, ht):
        tid = ht.req.trace_id
        if self.hop_traces.get(tid) is not ht:
            return
        if any(st == "open" for st in ht.branches.values()):
            return
        del self.hop_traces[tid]
        self._complete_to(ht.asker, tid)

    # -- the initiator (11.12) -----------------------------------------------------------------

    def start_trace(self, calling, called, call_time_ms, to=None, tolerance_ms=None, label=b"",
                    initiator_cert=None, created_offset_ms=0, lifetime_ms=None, wait_ms=None,
                    hop_limit=None, hint_bits=None):
        """Start a trace; returns its InitTrace. `calling` and `called` are normalised here.
        `initiator_cert`, `created_offset_ms` and `lifetime_ms` are for negative tests."""
        cc = self.cfg.country_code
        calling = numbers.normalise(calling, cc)
        called = numbers.normalise(called, cc)
        icert = self.cert_raw if initiator_cert is None else initiator_cert
        iid = certmod.parse_cert(icert).provider_id
        created = now_ms() + created_offset_ms
        expires = created + (lifetime_ms or self.cfg.lifetime_ms)
        hb = self.cfg.hint_bits if hint_bits is None else hint_bits
        secret, salt = os.urandom(32), os.urandom(32)
        raw = tr.build_request(
            self.identity.sign_seed, icert, os.urandom(16), iid, created, expires, call_time_ms,
            self.cfg.tolerance_ms if tolerance_ms is None else tolerance_ms,
            hop_limit or self.cfg.hop_limit, salt, tr.commitment(salt, calling, called),
            crypto.x25519_public(secret), tr.hint(calling, called, hb), hb, label)
        req = tr.parse_request(raw)
        deadline = now_ms() + wait_ms if wait_ms else expires + 1000
        it = InitTrace(req, raw, secret, calling, called, to, deadline)
        with self.lock:
            self.init_traces[req.trace_id] = it
            log.info("trace %s started (hop 0: %s)", req.trace_id.hex(),
                     to.decode() if to else "here")
            if to is None:
                self._handle_forward(self.local, codec.TraceForward(request=raw, hop=0))
            else:
                self.seen[req.trace_id] = expires
                peer = self.peers.get(to)
                if peer is None:
                    self._init_dead_end(it, R.UPSTREAM_NOT_PARTICIPANT)
                    self._init_finish(it, "complete")
                elif peer.conn is None or peer.conn.closed:
                    self._init_dead_end(it, R.UPSTREAM_UNREACHABLE)
                    self._init_finish(it, "complete")
                else:
                    b = tr.budget(expires, now_ms())
                    it.to_open = True
                    if not peer.conn.send(tr.trace_forward(raw, 0, 0, max(0, min(b, 2**32 - 1)))):
                        self._init_dead_end(it, R.UPSTREAM_UNREACHABLE)
                        self._init_finish(it, "complete")
        return it

    def _init_dead_end(self, it, reason):
        """The initiator's own DEAD_END at hop 0 (11.12); window: the call time."""
        it.to_open = False
        ctx = {"message_id": it.req.message_id, "asker_id": self.id, "hop": 0,
               "w": it.req.call_time_ms}
        env = self._answer(ctx, tr.DEAD_END, reason, upstream=it.to)
        self._init_collect(it, tr.seal(env, it.req.answer_key))

    def _init_collect(self, it, box):
        """Open, parse and verify one answer (11.12); keep it if it is evidence."""
        e = {"received_ms": now_ms(), "verdict": "ok", "answer": None}
        it.entries.append(e)
        try:
            plain = tr.open_sealed(box, it.secret)
            a = tr.parse_answer(plain)
            e["answer"] = a
            a.verify(self.trust, it.req.message_id).check_time(it.req)
            # The chain (11.16.2 C1 to C4) against the answers kept so far: an answer that
            # would break the bundle is not kept (see /work/interop-spec-notes.md, H13).
            tr._chain(it.kept + [a], len(it.kept), it.req.initiator_id)
        except HtError as err:
            e["verdict"] = ("duplicate" if err.step == "C1" else "unlinked") \
                if str(err.step).startswith("C") else err.token
            log.warning("trace %s: answer rejected: %s", it.trace_id.hex(), err)
            return
        it.kept.append(a)

    def _init_finish(self, it, status):
        if it.status != "running":
            return
        it.status = status
        it.finished_ms = now_ms()
        it.secret = None  # 11.3.4: erase the answer secret when the trace has finished
        log.info("trace %s: %s, %d answers, %d kept", it.trace_id.hex(), status,
                 len(it.entries), len(it.kept))
        it.done.set()

    def bundle(self, it):
        """Section 11.16: the evidence bundle of a trace: the kept answers in arrival order."""
        return tr.encode_bundle(it.raw, it.calling, it.called, [a.raw for a in it.kept],
                                it.finished_ms or now_ms())


def _trace_id_of(raw):
    """Step 3 of 11.5: the trace ID if the body decodes and it is 16 octets, else empty."""
    try:
        env = codec.decode(codec.SignedEnvelope, raw)
        body = codec.decode(codec.TraceRequest, bytes(env.body))
    except HtError:
        return b""
    return bytes(body.trace_id) if len(body.trace_id) == 16 else b""


def answer_json(a):
    """An Answer as JSON (numbers as numbers, IDs as text)."""
    return {
        "provider_id": a.provider_id.decode(), "hop": a.hop, "asked_by": a.asked_by.decode(),
        "status": tr.STATUS_NAMES[a.status],
        "reason": reason_name(a.reason) if a.reason else None, "reason_code": a.reason,
        "upstream": a.upstream.decode() or None, "answered_ms": a.answered_ms,
        "window_time_ms": a.window_time_ms,
        "calls": [{"upstream": bytes(c.upstream).decode() or None,
                   "originated_here": c.originated_here,
                   "customer_ref": bytes(c.customer_ref).decode(),
                   "record_time_ms": c.record_time_ms, "attestation": c.attestation,
                   "origid": bytes(c.origid).hex()} for c in a.calls],
    }


def trace_json(it):
    answers = []
    for i, e in enumerate(it.entries):
        d = answer_json(e["answer"]) if e["answer"] is not None else {}
        d.update({"index": i, "verdict": e["verdict"], "received_ms": e["received_ms"]})
        answers.append(d)
    origin = next((a.provider_id.decode() for a in it.kept if a.status == tr.FOUND
                   and any(c.originated_here for c in a.calls)), None)
    return {"trace_id": it.trace_id.hex(), "status": it.status,
            "initiator": it.req.initiator_id.decode(), "to": it.to.decode() if it.to else None,
            "calling": it.calling.decode(), "called": it.called.decode(),
            "call_time_ms": it.req.call_time_ms, "created_ms": it.req.created_ms,
            "expires_ms": it.req.expires_ms, "answers": answers, "kept": len(it.kept),
            "origin": origin}


def verified_json(v):
    """A verified bundle (11.16.3) as JSON."""
    req = v.request
    return {"verified": True, "trace_id": req.trace_id.hex(),
            "initiator": req.initiator_id.decode(), "answers": len(v.answers),
            "origin_found": v.origin_found, "open_branches": v.open_branches,
            "origins": [a.provider_id.decode() for a in v.answers if a.status == tr.FOUND
                        and any(c.originated_here for c in a.calls)],
            "tree": [dict(n, asked_by=v.answers[n["answer"]].asked_by.decode(),
                          upstream=v.answers[n["answer"]].upstream.decode() or None,
                          reason=reason_name(v.answers[n["answer"]].reason)
                          if v.answers[n["answer"]].reason else None) for n in v.nodes]}
