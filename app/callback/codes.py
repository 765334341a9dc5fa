"""A booking's reference and its change code: made, shown and read back as people type them.

The reference ("K7M2-Q9XD") names the booking; the change code (twelve digits) proves the
right to cancel or move it. Both are shown once. Redis keeps the reference as the key's name
and only a keyed hash of the code: without SECRET_KEY a copy of Redis cannot test codes, and
the booking itself is sealed with a key from the same secret, so a slow hash would add nothing.
Online guessing is throttled like return codes (ten tries per client per ten minutes).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from app.chat.return_codes import SEPARATORS, normalize

REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
"""No 0/O, 1/I/L: a reference is read off a screen and typed again, maybe on a phone."""
REFERENCE_LENGTH = 8
CODE_DIGITS = 12


def new_reference() -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


def new_code() -> str:
    return str(secrets.randbelow(10**CODE_DIGITS)).zfill(CODE_DIGITS)


def show_reference(reference: str) -> str:
    return f"{reference[:4]}-{reference[4:]}"


def show_code(code: str) -> str:
    return " ".join(code[i:i + 4] for i in range(0, CODE_DIGITS, 4))


def read_reference(typed: str) -> str | None:
    """A typed reference in its stored form, or None when it cannot be one."""
    letters = "".join(char for char in typed.strip().upper() if char not in SEPARATORS)
    valid = len(letters) == REFERENCE_LENGTH and all(char in REFERENCE_ALPHABET for char in letters)
    return letters if valid else None


def read_code(typed: str) -> str | None:
    """A typed change code's digits, or None when it cannot be one."""
    return normalize(typed, CODE_DIGITS)


class CodeHasher:
    """The keyed hash a change code is kept as, bound to its booking's reference."""

    def __init__(self, secret_key: str) -> None:
        self._key = hmac.new(secret_key.encode(), b"nexus callback change code", hashlib.sha256).digest()

    def hash(self, reference: str, code: str) -> str:
        return hmac.new(self._key, f"{reference}:{code}".encode(), hashlib.sha256).hexdigest()

    def matches(self, reference: str, code: str, stored: str) -> bool:
        return bool(stored) and hmac.compare_digest(self.hash(reference, code), stored)
