"""Imported CRLs (an offline root's): stored as the ceremony signed them, served as is.

The online node cannot sign the root's CRL, so it must not let it lapse unseen: ``ca
check`` warns ``root_crl_warn_days`` before nextUpdate and fails once past, the metric
``certsvc_root_crl_seconds_to_next_update`` counts down, and ``/readyz`` fails once the
served CRL is past nextUpdate (gateways then refuse every client).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy.orm import Session

from ca_adapters.base import CAAdapter, CheckLine, ImportedCRLs
from certsvc.errors import ConfigError
from certsvc.feed.crl_store import CRLFile, as_file, latest
from certsvc.storage.models import PublishedCRL

RENEW = "run 'certsvc ca root-ceremony' offline and 'certsvc ca import-root --crl'"


def imported_names(source: object) -> tuple[str, ...]:
    """The CAs whose CRLs ``source`` (an adapter's revocation source) imports."""
    return tuple(source.imported_crls()) if isinstance(source, ImportedCRLs) else ()


def imported_of(adapter: CAAdapter) -> tuple[str, ...]:
    return imported_names(adapter.revocation_source())


def served_as_imported(session: Session, ca_name: str) -> CRLFile:
    stored = latest(session, ca_name)
    if stored is None:
        raise ConfigError(f"no {ca_name} CRL imported yet: {RENEW}")
    return as_file(stored)


def store_imported(
    session: Session, ca_name: str, crl: x509.CertificateRevocationList, now: datetime
) -> tuple[CRLFile, bool]:
    """Keep ``crl`` as the served CRL of ``ca_name``; ``False`` when it was already.

    :raises ConfigError: it is not newer (by CRL number) than the one served.
    """
    der = crl.public_bytes(serialization.Encoding.DER)
    number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    stored = latest(session, ca_name)
    if stored is not None and stored.der == der:
        return as_file(stored), False
    if stored is not None and number <= stored.number:
        raise ConfigError(
            f"the {ca_name} CRL #{number} is not newer than the served #{stored.number}"
        )
    next_update = crl.next_update_utc
    if next_update is None:
        raise ConfigError(f"the {ca_name} CRL has no nextUpdate")
    row = PublishedCRL(
        ca_name=ca_name,
        number=number,
        this_update=crl.last_update_utc,
        next_update=next_update,
        built_at=now,
        entries=len(crl),
        der=der,
    )
    session.add(row)
    return CRLFile(ca_name, number, crl.last_update_utc, next_update, der), True


def freshness(
    files: Sequence[CRLFile], imported: Sequence[str], now: datetime, warn_days: int
) -> list[CheckLine]:
    """One ``ca check`` line per imported CRL: ok, WARN within ``warn_days``, FAIL past."""
    lines = []
    for crl_file in (each for each in files if each.ca_name in imported):
        left = crl_file.next_update - now
        what = f"{crl_file.ca_name} CRL #{crl_file.number} (imported)"
        until = f"{crl_file.next_update:%Y-%m-%d %H:%M}"
        if left <= timedelta(0):
            detail = f"{what} expired at {until}: gateways refuse every client; {RENEW}"
            lines.append(CheckLine("root crl", False, detail))
        elif left <= timedelta(days=warn_days):
            detail = f"{what} expires {until}, in {left.days} days: {RENEW}"
            lines.append(CheckLine("root crl", True, detail, warning=True))
        else:
            lines.append(CheckLine("root crl", True, f"{what} valid until {until}"))
    return lines
