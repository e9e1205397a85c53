"""An in-memory ``CALedger``: what certsvc would have recorded, for testing an adapter alone.

The conformance suite records here what the adapter issued and what was revoked, as
certsvc records them in its database, so an adapter that looks things up in the ledger
(the local CA's ``fetch``, GlobalSign's CRL distribution points) sees the same answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from cryptography.hazmat.primitives import serialization

from ca_adapters.base import CAIdentity, IssuedCertificate, RevokedEntry
from certsvc.domain.fingerprints import format_serial
from certsvc.domain.policy import RevocationReason


@dataclass
class MemoryLedger:
    """Issued certificates in recording order, and the revocations of each CA."""

    _issued: list[tuple[str, IssuedCertificate]] = field(default_factory=list)
    _revoked: dict[str, list[RevokedEntry]] = field(default_factory=dict)
    _cas: dict[str, list[CAIdentity]] = field(default_factory=dict)

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

    def recorded_cas(self, adapter: str) -> Sequence[CAIdentity]:
        return list(self._cas.get(adapter, []))

    def record_cas(self, adapter: str, cas: Sequence[CAIdentity]) -> Sequence[CAIdentity]:
        recorded = self._cas.setdefault(adapter, [])
        taken = {ca.ca_name for ca in recorded}
        if not taken & {ca.ca_name for ca in cas}:
            recorded.extend(cas)
        return list(recorded)

    def last_expiry(self, adapter: str, ca_name: str) -> datetime | None:
        expiries = [
            issued.certificate.not_valid_after_utc
            for name, issued in self._issued
            if name == adapter and issued.ca_name == ca_name
        ]
        return max(expiries, default=None)


def _pem(issued: IssuedCertificate) -> bytes:
    return issued.certificate.public_bytes(serialization.Encoding.PEM)
