"""Return codes: 16 random digits a visitor writes down, stored only as a slow, peppered hash.

A code is `secrets.randbelow(10**16)` (about 53 bits), shown once as four groups of four
digits ("1234 5678 9012 3456": it looks like a phone number in someone's contacts, and is
easy to read aloud). What Redis keeps is `scrypt(digits, salt=pepper, n=2**14, r=8, p=1)`,
where the pepper is derived from SECRET_KEY: a copy of Redis without the secret cannot be
searched for codes at all, and even with it every one of the 10**16 candidates costs a
16 MiB, tens-of-milliseconds hash. Guessing online is throttled separately (see
`app/visitor/returning.py`). A code never appears in a URL, a log line or in Redis as text.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import unicodedata

DIGITS = 16
GROUP = 4
# scrypt's cost: 128 * N * r bytes = 16 MiB of memory per hash, tens of milliseconds.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
HASH_BYTES = 16
SEPARATORS = frozenset(" -\u00a0\u2009\u202f\u2010\u2011\u2012\u2013\u2212")
"""What people put between groups when they copy a code: spaces (also non-breaking) and dashes."""


def new_code() -> str:
    """A fresh code, digits only."""
    return str(secrets.randbelow(10**DIGITS)).zfill(DIGITS)


def display(code: str) -> str:
    """The code as the visitor is shown it once: four groups of four digits."""
    return " ".join(code[i:i + GROUP] for i in range(0, DIGITS, GROUP))


def normalize(text: str, length: int = DIGITS) -> str | None:
    """The digits of a typed code of `length` digits, or None when it cannot be one.

    Spaces and dashes are ignored, and digits of any script count (a visitor may type
    Arabic-Indic or full-width digits on their phone's keyboard).
    """
    digits = []
    for char in text.strip():
        if char in SEPARATORS:
            continue
        value = unicodedata.decimal(char, None)
        if value is None:
            return None
        digits.append(str(value))
    return "".join(digits) if len(digits) == length else None


class CodeHasher:
    """Turns a code into the name under which its conversation is found."""

    def __init__(self, secret_key: str) -> None:
        self._pepper = hmac.new(secret_key.encode(), b"nexus return code pepper", hashlib.sha256).digest()

    def hash_now(self, code: str) -> str:
        return hashlib.scrypt(code.encode(), salt=self._pepper, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                              dklen=HASH_BYTES).hex()

    async def hash(self, code: str) -> str:
        """The lookup hash, computed in a worker thread so the event loop keeps serving."""
        return await asyncio.to_thread(self.hash_now, code)
