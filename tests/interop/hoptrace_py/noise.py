"""The Noise handshake and transport of section 8.4 and 8.5, through dissononce.

Noise_XX_25519_ChaChaPoly_BLAKE2b with the prologue "hoptrace/v1 session". dissononce does
the Noise state machine; this module adds what section 8.4 requires on top: the message
lengths of 8.4.2, weak_key on an all-zero DH (8.4.1), decrypt_failed, and access to the
handshake hash and the split keys.
"""

from dissononce.cipher.chachapoly import ChaChaPolyCipher
from dissononce.dh.keypair import KeyPair
from dissononce.dh.x25519.private import PrivateKey
from dissononce.dh.x25519.public import PublicKey
from dissononce.dh.x25519.x25519 import X25519DH
from dissononce.exceptions.decrypt import DecryptFailedException
from dissononce.extras.dh.dangerous.dh_nogen import NoGenDH
from dissononce.hash.blake2b import Blake2bHash
from dissononce.processing.handshakepatterns.interactive.XX import XXHandshakePattern
from dissononce.processing.impl.cipherstate import CipherState
from dissononce.processing.impl.handshakestate import HandshakeState
from dissononce.processing.impl.symmetricstate import SymmetricState

from . import crypto
from .errors import fail

PROTOCOL_NAME = "Noise_XX_25519_ChaChaPoly_BLAKE2b"
PROLOGUE = b"hoptrace/v1 session"
MAX_MESSAGE = 65535
TAG = 16
MAX_NONCE = 2**64 - 1


class _WeakKey(Exception):
    pass


class _CheckedDH(X25519DH):
    """X25519 that refuses an all-zero output (section 8.4.1: weak_key)."""

    def __init__(self, inner):
        super().__init__()
        self._inner = inner

    def dh(self, keypair, publickey):
        out = crypto.x25519(keypair.private.data, publickey.data)
        if out == bytes(32):
            raise _WeakKey()
        return out

    def generate_keypair(self, privatekey=None):
        return self._inner.generate_keypair(privatekey)


def _keypair(secret):
    return KeyPair(PublicKey(crypto.x25519_public(secret)), PrivateKey(secret))


class Handshake:
    """One side of the XX handshake. `ephemeral` fixes the ephemeral secret (vectors only)."""

    def __init__(self, initiator, static_secret, ephemeral=None):
        base = X25519DH()
        gen = NoGenDH(base, PrivateKey(ephemeral)) if ephemeral is not None else base
        dh = _CheckedDH(gen)
        self.initiator = initiator
        self._hs = HandshakeState(
            SymmetricState(CipherState(ChaChaPolyCipher()), Blake2bHash()), dh)
        self._hs.initialize(XXHandshakePattern(), initiator, PROLOGUE, s=_keypair(static_secret))
        assert self._hs.protocol_name == PROTOCOL_NAME, self._hs.protocol_name
        self._msg = 1  # the next message number
        self.send_cipher = self.recv_cipher = None

    @property
    def remote_static(self):
        rs = self._hs.rs
        return None if rs is None else bytes(rs.data)

    @property
    def handshake_hash(self):
        return bytes(self._hs.symmetricstate.get_handshake_hash())

    @property
    def done(self):
        return self._msg > 3

    def write(self, payload=b""):
        """Write the next message (1 or 3 for the initiator, 2 for the responder)."""
        mine = (1, 3) if self.initiator else (2,)
        assert self._msg in mine, "not this side's turn"
        if self._msg == 1 and payload:
            raise ValueError("message 1 carries no payload")
        buf = bytearray()
        try:
            res = self._hs.write_message(bytes(payload), buf)
        except _WeakKey:
            fail("weak_key", f"all-zero DH writing message {self._msg}")
        if len(buf) > MAX_MESSAGE:
            fail("too_large", "handshake message over 65535 octets")
        self._msg += 1
        self._split(res)
        return bytes(buf)

    def read(self, message):
        """Read the peer's next message; returns its payload."""
        theirs = (2,) if self.initiator else (1, 3)
        assert self._msg in theirs, "not the peer's turn"
        n = len(message)
        if (self._msg == 1 and n != 32) or (self._msg == 2 and n < 96) or (
                self._msg == 3 and n < 64):
            fail("malformed", f"message {self._msg} of {n} octets")
        buf = bytearray()
        try:
            res = self._hs.read_message(bytes(message), buf)
        except _WeakKey:
            fail("weak_key", f"all-zero DH reading message {self._msg}")
        except DecryptFailedException:
            fail("decrypt_failed", f"message {self._msg}")
        self._msg += 1
        self._split(res)
        return bytes(buf)

    def _split(self, res):
        if res is None:
            return
        c1, c2 = res  # k1: initiator to responder (section 8.4.6)
        if self.initiator:
            self.send_cipher, self.recv_cipher = Transport(c1), Transport(c2)
        else:
            self.send_cipher, self.recv_cipher = Transport(c2), Transport(c1)


class Transport:
    """One direction of a session's transport (section 8.5): ENCRYPT(k, n, ad = empty, ...)."""

    def __init__(self, cipherstate):
        self._cs = cipherstate

    @property
    def key(self):
        return bytes(self._cs._key)  # dissononce has no accessor; the vectors need the key

    @property
    def nonce(self):
        return self._cs._nonce

    def encrypt(self, plaintext):
        if len(plaintext) > MAX_MESSAGE - TAG:
            fail("too_large", "transport payload over 65519 octets")
        if self._cs._nonce >= MAX_NONCE:
            fail("invalid", "nonce exhausted: close the session")
        return bytes(self._cs.encrypt_with_ad(b"", bytes(plaintext)))

    def decrypt(self, message):
        if len(message) < TAG:
            fail("malformed", "transport message shorter than its tag")
        try:
            return bytes(self._cs.decrypt_with_ad(b"", bytes(message)))
        except DecryptFailedException:
            fail("decrypt_failed", "transport message")
