"""An in-memory ``CALedger``: what certsvc would have recorded, for testing an adapter alone.

The conformance suite records here what the adapter issued and what was revoked, as
certsvc records them in its database, so an adapter that looks things up in the ledger
(the local CA's ``fetch``, GlobalSign's CRL distribution points) sees the same answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from cryptography.hazmat.primitives import serialization

from ca_adapters.base import IssuedCertificate, RevokedEntry
from certsvc.domain.fingerprints import format_serial
from certsvc.domain.policy import RevocationReason


@dataclass
class MemoryLedger:
    """Issued certificates in recording order, and the revocations of each CA."""

    _issued: list[tuple[str, IssuedCertificate]] = field(default_factory=list)
    _revoked: dict[str, list[RevokedEntry]] = field(default_factory=dict)

    def record_issued(self, adapter: str, issued: IssuedCertificate) -> None:
        self._issued.append((adapter, issued))

    def record_revoked(
        self, issued: IssuedCertificate, when: datetime, reason: RevocationReason
    ) -> None:
        entry = RevokedEntry(issued.certificate.serial_number, when, reason)
        self._revoked.setdefault(issued.ca_name, []).append(entry)

    def revoked(self, ca_name: str) -> list[RevokedEntry]:
        """The entries a CRL of ``ca_name`` must list."""
        return list(self._revoked.get(ca_name, []))

    def issued(self) -> list[IssuedCertificate]:
        return [issued for _, issued in self._issued]

    def certificate_pem(self, serial: str) -> bytes | None:
        for _, issued in self._issued:
            if format_serial(issued.certificate.serial_number) == serial:
                return _pem(issued)
        return None

    def latest_certificate_pem(self, adapter: str) -> bytes | None:
        for name, issued in reversed(self._issued):
            if name == adapter:
                return _pem(issued)
        return None


def _pem(issued: IssuedCertificate) -> bytes:
    return issued.certificate.public_bytes(serialization.Encoding.PEM)
