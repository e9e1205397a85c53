"""TOTP (RFC 6238) for console operators: secrets, enrolment URIs, codes, QR codes.

The secret must be readable to check a code, so it is stored sealed with AES-GCM under
a key derived (HKDF) from the server pepper and bound to the operator's name: the
database alone reveals no secret, and a sealed secret copied into another operator's
row does not open. A code counts within ``drift`` 30-second steps of now; the step it
matched is returned so the caller can refuse that step (or an older one) next time.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import io
import os
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import pyotp
import segno
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from certsvc.errors import ConfigError

STEP_SECONDS = 30
DIGITS = 6
_NONCE = 12


def new_secret() -> str:
    """160 random bits in base32 (RFC 4226 recommends at least 128)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, name: str, issuer: str) -> str:
    """``otpauth://totp/<issuer>:<name>?secret=...&issuer=...``: what authenticator apps read."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=name, issuer_name=issuer
    )


def step_of(now: datetime) -> int:
    return int(now.timestamp()) // STEP_SECONDS


def matching_step(secret: str, code: str, now: datetime, drift: int) -> int | None:
    """The time step whose code is ``code`` (spaces ignored), within ``drift`` steps.

    Every candidate step is compared, in constant time, whatever matched first.
    """
    typed = code.replace(" ", "").encode("ascii", "replace")
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = step_of(now)
    found: int | None = None
    for step in range(current - drift, current + drift + 1):
        expected = totp.generate_otp(step).encode()
        if hmac.compare_digest(expected, typed) and found is None:
            found = step
    return found


@dataclass(frozen=True)
class SecretBox:
    """AES-256-GCM under a key derived from the pepper; the owner's name is the AAD."""

    key: bytes

    @classmethod
    def from_pepper(cls, pepper: bytes) -> SecretBox:
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"certsvc operator totp")
        return cls(hkdf.derive(pepper))

    def seal(self, secret: str, owner: str) -> str:
        nonce = os.urandom(_NONCE)
        sealed = AESGCM(self.key).encrypt(nonce, secret.encode(), owner.encode())
        return base64.b64encode(nonce + sealed).decode()

    def open(self, sealed: str, owner: str) -> str:
        """The secret; a wrong pepper or a moved row is a configuration problem, said so."""
        try:
            raw = base64.b64decode(sealed, validate=True)
            opened = AESGCM(self.key).decrypt(raw[:_NONCE], raw[_NONCE:], owner.encode())
        except (InvalidTag, binascii.Error, ValueError) as exc:
            raise ConfigError(
                f"the TOTP secret of operator {owner!r} cannot be opened with this server's "
                "credential key (pepper_file changed?); reset the operator"
            ) from exc
        return opened.decode()


def qr_image(uri: str, kind: Literal["svg", "png"] = "svg") -> bytes:
    """The URI as a QR code (error correction M), drawn by certsvc, no network.

    SVG comes without an XML declaration, so it can be inlined in a page as it is.
    """
    code = segno.make_qr(uri, error="m")
    buffer = io.BytesIO()
    if kind == "svg":
        code.save(buffer, kind="svg", scale=4, border=4, xmldecl=False, title="TOTP enrolment")
    else:
        code.save(buffer, kind="png", scale=6, border=4)
    return buffer.getvalue()


@dataclass(frozen=True)
class Enrolment:
    """What an operator's authenticator takes: the URI (it holds the secret) and its QR."""

    uri: str

    def svg(self) -> str:
        return qr_image(self.uri, "svg").decode()
