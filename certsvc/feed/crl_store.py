"""Stored CRLs as served: the newest one of a CA and its file form.

Shared by publishing (``crl``) and mirroring (``crl_mirror``), so neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select
from sqlalchemy.orm import Session

from certsvc.storage.models import PublishedCRL


@dataclass(frozen=True)
class CRLFile:
    """A published CRL as served."""

    ca_name: str
    number: int
    this_update: datetime
    next_update: datetime
    der: bytes

    @property
    def pem(self) -> bytes:
        crl = x509.load_der_x509_crl(self.der)
        return crl.public_bytes(serialization.Encoding.PEM)


def latest(session: Session, ca_name: str) -> PublishedCRL | None:
    """The newest stored CRL of ``ca_name`` (published or mirrored)."""
    return session.scalar(
        select(PublishedCRL)
        .where(PublishedCRL.ca_name == ca_name)
        .order_by(PublishedCRL.number.desc())
        .limit(1)
    )


def as_file(row: PublishedCRL) -> CRLFile:
    return CRLFile(row.ca_name, row.number, row.this_update, row.next_update, row.der)
