"""Encryption at rest for what visitors entrust to us (intakes, callback bookings): Fernet keys.

A setting such as INTAKE_KEYS or CALLBACK_KEYS is a comma-separated list of Fernet keys; the
first seals, every one opens (MultiFernet). To rotate, put a new key first, and drop an old one
once nothing sealed with it is kept (both kinds of record live days, not years). Development,
with the setting empty, derives a key per purpose from SECRET_KEY and never stores it.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def sealing_keys(configured: str, secret_key: str, purpose: str) -> MultiFernet:
    """The configured keys when set; in development, one derived from SECRET_KEY for `purpose`."""
    if configured:
        return MultiFernet([Fernet(key.strip().encode()) for key in configured.split(",") if key.strip()])
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=f"nexus {purpose}".encode()).derive(secret_key.encode())
    return MultiFernet([Fernet(base64.urlsafe_b64encode(derived))])
