"""How certificates are named to gateways: serials and fingerprints.

A serial is printed as nginx's ``$ssl_client_serial`` and ``openssl x509 -serial`` print
it: upper-case hex, two digits per byte, no dropped leading zero. Input is forgiving
(any case, colons, missing leading zeros); certsvc compares serials as integers.
"""

from __future__ import annotations

import hashlib
import re

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from certsvc.errors import InputError

_SERIAL_INPUT = re.compile(r"^(0x)?[0-9a-fA-F:]{1,64}$")
MAX_SERIAL_BITS = 159  # RFC 5280: at most 20 octets, positive


def format_serial(serial: int) -> str:
    """``0x0a1b`` -> ``'0A1B'``: upper-case hex padded to whole bytes."""
    digits = f"{serial:X}"
    return digits if len(digits) % 2 == 0 else "0" + digits


def parse_serial(text: str) -> int:
    """Parse a serial as a user may type it; refuse anything that is not one."""
    cleaned = text.strip()
    if not _SERIAL_INPUT.fullmatch(cleaned) or not cleaned.replace(":", "").removeprefix("0x"):
        raise InputError(f"not a certificate serial (hex digits expected): {text!r}", "serial")
    value = int(cleaned.replace(":", "").removeprefix("0x"), 16)
    if value <= 0 or value.bit_length() > MAX_SERIAL_BITS:
        raise InputError(f"serial out of range (1 to 20 bytes): {text!r}", "serial")
    return value


def normalise_serial(text: str) -> str:
    """The stored form of a serial typed by a user."""
    return format_serial(parse_serial(text))


def sha256_hex(certificate: x509.Certificate) -> str:
    """Lower-case hex SHA-256 of the DER certificate (HAProxy, Envoy)."""
    return certificate.fingerprint(hashes.SHA256()).hex()


def sha1_hex(certificate: x509.Certificate) -> str:
    """Lower-case hex SHA-1 of the DER certificate (nginx ``$ssl_client_fingerprint``)."""
    return certificate.fingerprint(hashes.SHA1()).hex()


def public_key_sha256(public_key: PublicKeyTypes) -> str:
    """Lower-case hex SHA-256 of a DER SubjectPublicKeyInfo: how a request and the
    certificate the CA issued for it are matched (``reconcile``, the GlobalSign adapter)."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()
