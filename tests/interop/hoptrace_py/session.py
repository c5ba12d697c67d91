"""Peer sessions (section 8): preamble, frames, the handshake with certificates, transport.

The socket part is a simple blocking loop: Session.connect / Session.accept run the whole
handshake, then send() and recv() carry PeerMessages. Frame and handshake logic is separate
from the socket (FrameReader, verify_peer) so that it can be driven from memory too.
"""

import logging
import os
import socket
import struct
import time

from . import cert as certmod
from . import codec, noise
from .errors import HtError, fail

log = logging.getLogger("hoptrace_py.session")

PREAMBLE = b"HOPTRC\x00\x01"
MAX_FRAME = 65535


def check_preamble(p):
    """Section 8.2: the 8 octets the peer sent first."""
    if p[:6] != b"HOPTRC":
        fail("malformed", "not a HopTrace peer")
    version = struct.unpack(">H", p[6:8])[0]
    if version != 1:
        fail("unsupported_version", f"peer speaks protocol version {version}, we speak 1")


def frame(message):
    """Section 8.3."""
    if not 1 <= len(message) <= MAX_FRAME:
        fail("too_large" if message else "invalid", f"frame of {len(message)} octets")
    return struct.pack(">H", len(message)) + message


class FrameReader:
    """Splits one direction of a connection into the preamble and frames."""

    def __init__(self):
        self.buf = bytearray()
        self.preamble = None

    def feed(self, data):
        """Add received octets; returns the complete frames they finish (section 8.3)."""
        self.buf += data
        out = []
        if self.preamble is None:
            if len(self.buf) < 8:
                return out
            self.preamble = bytes(self.buf[:8])
            del self.buf[:8]
            check_preamble(self.preamble)
        while len(self.buf) >= 2:
            n = struct.unpack(">H", self.buf[:2])[0]
            if n == 0:
                fail("malformed", "frame of length 0")
            if len(self.buf) < 2 + n:
                break
            out.append(bytes(self.buf[2:2 + n]))
            del self.buf[:2 + n]
        return out


class Identity:
    """A provider's own keys and certificate."""

    def __init__(self, provider_id, sign_seed, noise_secret, certificate):
        self.provider_id = bytes(provider_id)
        self.sign_seed = bytes(sign_seed)
        self.noise_secret = bytes(noise_secret)
        self.certificate = bytes(certificate)


def handshake_payload(certificate):
    """Section 8.4.2: the encoded HandshakePayload."""
    return codec.encode(codec.HandshakePayload(certificate=certificate))


def verify_peer(payload, remote_static, trust, now, dialled=None, peers=None):
    """Section 8.4.4. The initiator passes `dialled` (a provider ID); the responder passes
    `peers` (the provider IDs it is configured to hold sessions with). Returns the Cert."""
    try:
        hp = codec.decode(codec.HandshakePayload, payload)  # step 1
    except HtError:
        fail("malformed", "handshake payload", step=1)
    c = certmod.verify_cert(bytes(hp.certificate), trust, now)  # step 2, R empty
    if remote_static != c.noise_key:  # step 3
        fail("key_mismatch", step=3)
    if dialled is not None:
        if c.provider_id != bytes(dialled):
            fail("wrong_peer", c.provider_id.decode("ascii", "replace"), step=4)
    elif peers is not None:
        if c.provider_id not in {bytes(p) for p in peers}:
            fail("not_a_peer", c.provider_id.decode("ascii", "replace"), step=4)
    else:
        raise ValueError("verify_peer needs dialled or peers")
    return c


# Section 11.4: bounds of the traceback members; a member that breaks them is malformed.
def check_peer_message(pm):
    which = pm.WhichOneof("msg")
    if which == "trace_forward":
        if not 1 <= len(pm.trace_forward.request) <= 60000:
            fail("malformed", "TraceForward.request size")
    elif which == "trace_answer":
        if len(pm.trace_answer.trace_id) != 16 or not (
                48 <= len(pm.trace_answer.sealed_answer) <= 60048):
            fail("malformed", "TraceAnswer sizes")
    elif which == "trace_complete":
        if len(pm.trace_complete.trace_id) != 16:
            fail("malformed", "TraceComplete.trace_id size")
    elif which == "error":
        if len(pm.error.trace_id) not in (0, 16):
            fail("malformed", "Error.trace_id size")
    return which


def parse_peer_message(plaintext):
    """Section 8.5.1: the PeerMessage, or HtError(malformed). A message with no member known
    to us has WhichOneof("msg") None and is to be ignored."""
    pm = codec.decode(codec.PeerMessage, plaintext)
    check_peer_message(pm)
    return pm


class Session:
    """An established session over a blocking socket."""

    def __init__(self, sock, reader, hs, peer_cert, initiator, pending=()):
        self.sock = sock
        self.reader = reader
        self.hs = hs
        self.peer = peer_cert
        self.peer_id = peer_cert.provider_id
        self.initiator = initiator
        self._frames = list(pending)
        self.handshake_hash = hs.handshake_hash

    # -- handshake --------------------------------------------------------------------------

    @staticmethod
    def _next_frame(sock, reader, pending, deadline):
        while not pending:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("handshake timeout")
            sock.settimeout(left)
            data = sock.recv(65536)
            if not data:
                raise ConnectionError("connection closed")
            pending.extend(reader.feed(data))
        return pending.pop(0)

    @classmethod
    def connect(cls, address, identity, trust, dialled, now=None, timeout=5.0,
                ephemeral=None):
        """Dial `address` (host, port) and run the handshake as the initiator (8.4.3)."""
        deadline = time.monotonic() + timeout
        sock = socket.create_connection(address, timeout=timeout)
        try:
            now = int(time.time()) if now is None else now
            sock.sendall(PREAMBLE)
            reader, pending = FrameReader(), []
            # Wait for the responder's preamble before message 1 (section 8.2, SHOULD).
            while reader.preamble is None:
                sock.settimeout(max(0.001, deadline - time.monotonic()))
                data = sock.recv(65536)
                if not data:
                    raise ConnectionError("connection closed before the preamble")
                pending.extend(reader.feed(data))
            hs = noise.Handshake(True, identity.noise_secret, ephemeral)
            sock.sendall(frame(hs.write()))
            payload = hs.read(cls._next_frame(sock, reader, pending, deadline))
            peer = verify_peer(payload, hs.remote_static, trust, now, dialled=dialled)
            sock.sendall(frame(hs.write(handshake_payload(identity.certificate))))
            sock.settimeout(None)
            return cls(sock, reader, hs, peer, True, pending)
        except BaseException:
            sock.close()
            raise

    @classmethod
    def accept(cls, sock, identity, trust, peers, now=None, timeout=5.0, ephemeral=None):
        """Run the handshake as the responder on an accepted socket."""
        deadline = time.monotonic() + timeout
        try:
            now = int(time.time()) if now is None else now
            sock.sendall(PREAMBLE)
            reader, pending = FrameReader(), []
            hs = noise.Handshake(False, identity.noise_secret, ephemeral)
            hs.read(cls._next_frame(sock, reader, pending, deadline))
            sock.sendall(frame(hs.write(handshake_payload(identity.certificate))))
            payload = hs.read(cls._next_frame(sock, reader, pending, deadline))
            peer = verify_peer(payload, hs.remote_static, trust, now, peers=peers)
            sock.settimeout(None)
            return cls(sock, reader, hs, peer, False, pending)
        except BaseException:
            sock.close()
            raise

    # -- transport --------------------------------------------------------------------------

    def send(self, pm):
        """Send one PeerMessage (a message object or its encoded octets)."""
        plaintext = pm if isinstance(pm, (bytes, bytearray)) else codec.encode(pm)
        self.sock.sendall(frame(self.hs.send_cipher.encrypt(plaintext)))

    def recv_plaintext(self, timeout=None):
        """The next transport plaintext, or None on timeout. Raises ConnectionError when the
        peer closed, HtError (decrypt_failed, malformed) when the session must end."""
        if not self._frames:
            self.sock.settimeout(timeout)
            while not self._frames:
                try:
                    data = self.sock.recv(65536)
                except socket.timeout:
                    return None
                if not data:
                    raise ConnectionError("peer closed the session")
                self._frames.extend(self.reader.feed(data))
        return self.hs.recv_cipher.decrypt(self._frames.pop(0))

    def recv(self, timeout=None, answer_pings=True):
        """The next PeerMessage with a member we know, or None on timeout. Pings are answered
        (section 8.5.2); malformed or memberless messages are logged and skipped (8.5.1)."""
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if end is None else max(0.0, end - time.monotonic())
            plaintext = self.recv_plaintext(left)
            if plaintext is None:
                return None
            try:
                pm = parse_peer_message(plaintext)
            except HtError as e:
                log.warning("peer %s: malformed PeerMessage ignored: %s", self.peer_id, e)
                continue
            which = pm.WhichOneof("msg")
            if which is None:
                continue
            if which == "ping" and answer_pings:
                self.send(codec.PeerMessage(pong=codec.Pong(nonce=pm.ping.nonce)))
                continue
            return pm

    def ping(self, nonce=None):
        if nonce is None:
            nonce = int.from_bytes(os.urandom(8), "big") or 1
        self.send(codec.PeerMessage(ping=codec.Ping(nonce=nonce)))
        return nonce

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
