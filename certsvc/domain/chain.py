"""The rules a CA's trust chain must keep, checked the same way for every adapter.

Pure: the chain and the instant come in, a summary or a ``CAError`` comes out. Both
``certsvc ca check`` and the adapter conformance suite use it.
"""

from __future__ import annotations

from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from certsvc.errors import CAError


def check_chain(chain: list[x509.Certificate], now: datetime) -> str:
    """Issuing CA first, each signed by the next, the last self-signed, all CAs, all valid."""
    if not chain:
        raise CAError("empty trust chain")
    for index, certificate in enumerate(chain):
        name = certificate.subject.rfc4514_string()
        issuer = chain[index + 1] if index + 1 < len(chain) else certificate
        try:
            certificate.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature) as exc:
            raise CAError(f"{name} is not signed by the next certificate ({exc})") from exc
        if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
            raise CAError(f"{name} is not valid now")
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
        if not constraints.value.ca:
            raise CAError(f"{name} is not a CA certificate")
    until = min(certificate.not_valid_after_utc for certificate in chain)
    root = chain[-1].subject.rfc4514_string()
    return f"{len(chain)} certificates up to {root}, valid until {until:%Y-%m-%d}"
