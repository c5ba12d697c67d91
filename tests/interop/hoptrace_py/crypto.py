"""Primitives: Ed25519 (section 3.2, 3.3), X25519 (3.4), BLAKE2b (5.5), via PyNaCl and hashlib.

Section 3.3's verification rules are checked here one by one, from the text, before PyNaCl's
verify is asked for step 4, so that the rules stand even if the library were laxer.
"""

import hashlib

import nacl.bindings as nb
import nacl.exceptions
import nacl.signing

L = 2**252 + 27742317777372353535851937790883648493
P = 2**255 - 19

# Section 3.3, step 2: y values (sign bit ignored) of the points of small order.
_SMALL_ORDER_Y = {
    0, 1,
    int.from_bytes(bytes.fromhex(
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"), "little"),
    int.from_bytes(bytes.fromhex(
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"), "little"),
    P - 1, P, P + 1,
}


def blake2b_256(data, key=b""):
    return hashlib.blake2b(data, digest_size=32, key=key).digest()


def ed25519_public(seed):
    return bytes(nacl.signing.SigningKey(seed).verify_key)


def ed25519_sign(seed, message):
    return nacl.signing.SigningKey(seed).sign(message).signature


def _y(point):
    return int.from_bytes(point[:31] + bytes([point[31] & 0x7F]), "little")


def ed25519_point_ok(a):
    """Section 3.3 step 3: canonical, not of small order (decoding is left to the library)."""
    y = _y(a)
    return len(a) == 32 and y < P and y not in _SMALL_ORDER_Y


def ed25519_key_certifiable(a):
    """Section 6.4 step 10: canonical, not small order, in the prime-order subgroup."""
    if len(a) != 32 or not ed25519_point_ok(a):
        return False
    return bool(nb.crypto_core_ed25519_is_valid_point(a))


def ed25519_verify(public, message, signature):
    """Section 3.3: True if and only if the signature verifies."""
    if len(signature) != 64 or len(public) != 32:
        return False
    r, s = signature[:32], signature[32:]
    if int.from_bytes(s, "little") >= L:  # step 1
        return False
    if _y(r) in _SMALL_ORDER_Y:  # step 2
        return False
    if not ed25519_point_ok(public):  # step 3 (the library decodes the point)
        return False
    try:  # step 4, cofactorless, R compared as octets
        nacl.signing.VerifyKey(public).verify(message, signature)
        return True
    except (nacl.exceptions.BadSignatureError, ValueError, nacl.exceptions.CryptoError):
        return False


def x25519(scalar, point):
    """RFC 7748 X25519, clamping the scalar; returns 32 octets (all zero for small order)."""
    try:
        return nb.crypto_scalarmult(scalar, point)
    except nacl.exceptions.RuntimeError:
        return bytes(32)  # libsodium refuses an all-zero output


def x25519_public(secret):
    return nb.crypto_scalarmult_base(secret)


def x25519_small_order(point):
    """Sections 6.4 step 10 and 11.3.2 step 7: X25519(01 00..00, point) is all zero."""
    return x25519(b"\x01" + bytes(31), point) == bytes(32)
