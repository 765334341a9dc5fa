"""Time-based one-time codes (RFC 6238) for staff logins: secrets sealed at rest, QR codes drawn locally."""

from __future__ import annotations

import base64
import hmac
import io
import time

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.errors import BadInput

ISSUER = "Nexus Uppsala"
STEPS_ACCEPTED = (-1, 0, 1)
"""A code from the step before or after now is still accepted: phone clocks drift."""


def fernet(secret_key: str) -> Fernet:
    """The key that seals TOTP secrets, derived from SECRET_KEY (never stored)."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"nexus staff totp secret").derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


class Sealer:
    """Encrypts and decrypts TOTP secrets with a key derived from SECRET_KEY."""

    def __init__(self, secret_key: str) -> None:
        self._fernet = fernet(secret_key)

    def seal(self, totp_secret: str) -> str:
        return self._fernet.encrypt(totp_secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            # SECRET_KEY changed: the account needs an admin reset to enrol again.
            raise BadInput("the one-time code secret cannot be read with this SECRET_KEY") from None


def new_secret() -> str:
    return pyotp.random_base32()


def uri(totp_secret: str, username: str) -> str:
    """The otpauth:// URI an authenticator app reads (from the QR code or typed in)."""
    return pyotp.TOTP(totp_secret).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_svg(totp_secret: str, username: str) -> str:
    """The URI as an inline SVG QR code, made here: the secret never goes to another service."""
    out = io.BytesIO()
    segno.make(uri(totp_secret, username), error="m").save(
        out, kind="svg", scale=5, border=2, xmldecl=False, svgns=True, title="QR", nl=False)
    return out.getvalue().decode()


def matching_step(totp_secret: str, code: str, now: float | None = None) -> int | None:
    """The time step whose code `code` is (within the accepted drift), else None."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(totp_secret)
    current = totp.timecode(time.time() if now is None else now)
    for offset in STEPS_ACCEPTED:
        step = current + offset
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None
