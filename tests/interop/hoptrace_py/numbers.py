"""Normalisation of telephone numbers to E.164 digits (spec/numbers.md)."""

import re


class NumberError(Exception):
    def __init__(self, name):
        super().__init__(name)
        self.name = name


_SEPARATORS = b" -.()"
_E164 = re.compile(rb"[1-9][0-9]{6,14}")


def is_e164(digits):
    """numbers.md section 2: 7 to 15 ASCII digits, the first not 0."""
    return _E164.fullmatch(bytes(digits)) is not None


def normalise(text, cc=None):
    """numbers.md section 3. `text` is octets (str is encoded as UTF-8); `cc` is None or "1".
    Returns the E.164 digits as bytes, or raises NumberError with the error name."""
    if cc not in (None, "1", 1):
        raise ValueError("default country code must be none or 1")  # a configuration error
    nanp = cc in ("1", 1)
    if isinstance(text, str):
        text = text.encode()
    # Step 1: URIs.
    low = text[:5].lower()
    if low.startswith(b"tel:"):
        number = text[4:].split(b";", 1)[0]
        if not number.startswith(b"+"):
            raise NumberError("uri_local")
        text = number
    elif low.startswith(b"sip:") or low.startswith(b"sips:"):
        rest = text[4:] if low.startswith(b"sip:") else text[5:]
        if b"@" not in text:
            raise NumberError("bad_uri")
        number = re.split(rb"[;@]", rest, maxsplit=1)[0]
        if not number.startswith(b"+"):
            raise NumberError("uri_local")
        text = number
    # Step 2: characters.
    if b"(0)" in text:
        raise NumberError("trunk_zero")
    digits = bytearray()
    plus = False
    for c in text:
        if 0x30 <= c <= 0x39:
            digits.append(c)
        elif c in _SEPARATORS:
            continue
        elif c == 0x2B and not plus and not digits:
            plus = True
        else:
            raise NumberError("bad_char")
    if not digits:
        raise NumberError("empty")
    d = bytes(digits)
    # Step 3: the international number.
    if plus:
        n = d
    elif d.startswith(b"00"):
        n = d[2:]
    elif nanp and d.startswith(b"011"):
        n = d[3:]
    elif not nanp:
        raise NumberError("no_country")
    elif len(d) == 10 and d[0] in b"23456789":
        n = b"1" + d
    elif len(d) == 11 and d[:1] == b"1":
        n = d
    else:
        raise NumberError("national")
    # Step 4: checks.
    if len(n) < 7:
        raise NumberError("too_short")
    if len(n) > 15:
        raise NumberError("too_long")
    if n.startswith(b"0"):
        raise NumberError("leading_zero")
    return n
