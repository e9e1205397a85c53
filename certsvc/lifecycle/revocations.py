"""Revocations bracketed like issuance, and the CA's own revocations brought home.

A revocation at a remote CA has effects outside certsvc's database, so it is written
down first (a ``pending_revocations`` row), asked of the CA, then recorded together with
the deletion of that row. A crash in between leaves the row; ``settle_revocations``
(run by ``reconcile``) completes it: revoking again at the CA is success, so the CA and
certsvc end in the same state with the reason the caller gave. What the CA revoked on
its own (its portal, a compromise report) reaches certsvc through the CRLs certsvc
mirrors: ``adopt_ca_revocations`` records every listed certificate revoked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from certsvc.audit import Actor
from certsvc.domain.certificates import CertState
from certsvc.domain.fingerprints import format_serial
from certsvc.domain.imports import IMPORTED
from certsvc.domain.policy import RevocationReason
from certsvc.errors import CAUnavailable, CertsvcError, Conflict
from certsvc.feed.crl_store import latest
from certsvc.lifecycle import effects
from certsvc.lifecycle.parts import Parts
from certsvc.lifecycle.views import CertificateView, certificate_view
from certsvc.logging import get_logger
from certsvc.storage import certificates as records
from certsvc.storage.db import transaction
from certsvc.storage.models import Certificate, PendingRevocation

log = get_logger("certsvc.revocations")
CHUNK = 500
"""Serials looked up per query when a CRL is compared with the stored certificates."""


@dataclass(frozen=True)
class Settled:
    """Revocations ``reconcile`` recorded, and those whose settling failed this run."""

    revoked: list[str]
    failed: list[str]


def remember(
    session: Session, certificate_id: int, reason: RevocationReason, by: Actor, now: datetime
) -> None:
    """Write the intent before the CA call (a second intent for the row replaces it)."""
    session.merge(
        PendingRevocation(
            certificate_id=certificate_id,
            reason=reason,
            actor=by.name,
            ticket=by.ticket,
            requested_at=now,
        )
    )


def forget(session: Session, certificate_id: int) -> None:
    session.execute(
        delete(PendingRevocation).where(PendingRevocation.certificate_id == certificate_id)
    )


def revoke(parts: Parts, serial: str, reason: RevocationReason, by: Actor) -> CertificateView:
    """Write the intent, revoke at the CA, record: final, and a second revocation is an error.

    A CA that did not answer leaves the intent for ``reconcile``, which completes it.
    """
    with transaction(parts.sessions) as session:
        row = records.certificate_by_serial(session, serial)
        records.require_issued(row, "revoke")
        row_id, stored = row.id, row.serial or ""
        foreign = row.adapter == IMPORTED  # another CA's: certsvc only stops letting it in
        if parts.adapter.remote and not foreign:
            remember(session, row_id, reason, by, parts.clock.now())
    if foreign:
        return _record(parts, row_id, reason, by)
    try:
        parts.adapter.revoke(int(stored, 16), reason, parts.clock.now())
    except CAUnavailable:
        raise  # the CA may have revoked: the intent stays for reconcile
    except CertsvcError:
        with transaction(parts.sessions) as session:
            forget(session, row_id)
        raise
    return _record(parts, row_id, reason, by)


def _record(parts: Parts, row_id: int, reason: RevocationReason, by: Actor) -> CertificateView:
    """Record a revocation the CA made and drop its intent, in one transaction."""
    with transaction(parts.sessions) as session:
        row = session.get_one(Certificate, row_id)
        forget(session, row_id)
        if row.state is CertState.ISSUED:
            effects.mark_revoked(
                session,
                row,
                reason,
                by,
                parts.clock.now(),
                previous_holder=parts.tells_previous_holder,
            )
            return certificate_view(row, parts.settings.zone)
        conflict = Conflict(f"certificate {row.serial} is {row.state}; cannot revoke", row.serial)
    raise conflict


def settle_revocations(parts: Parts, older_than: timedelta) -> Settled:
    """Complete every revocation whose recording a crash (or a lost answer) cut off."""
    cutoff = parts.clock.now() - older_than
    with parts.sessions() as session:
        intents = session.execute(
            select(
                PendingRevocation.certificate_id,
                PendingRevocation.reason,
                PendingRevocation.actor,
                PendingRevocation.ticket,
                Certificate.serial,
            )
            .join(Certificate, Certificate.id == PendingRevocation.certificate_id)
            .where(PendingRevocation.requested_at <= cutoff)
            .order_by(PendingRevocation.certificate_id)
        ).all()
    revoked: list[str] = []
    failed: list[str] = []
    for row_id, reason, actor, ticket, serial in intents:
        try:
            if _complete(parts, row_id, reason, Actor(actor, ticket)):
                revoked.append(serial or "")
        except CertsvcError as exc:
            log.warning("reconcile.revocation_failed", serial=serial, error=str(exc))
            failed.append(f"{serial}: {exc}")
    return Settled(revoked, failed)


def _complete(parts: Parts, row_id: int, reason: RevocationReason, by: Actor) -> bool:
    with parts.sessions() as session:
        row = session.get_one(Certificate, row_id)
        state, serial = row.state, row.serial or ""
    if state is CertState.ISSUED:
        parts.adapter.revoke(int(serial, 16), reason, parts.clock.now())
    with transaction(parts.sessions) as session:
        row = session.get_one(Certificate, row_id)
        forget(session, row_id)
        if row.state is not CertState.ISSUED:
            return False  # recorded meanwhile (or expired): nothing left to do
        effects.mark_revoked(
            session, row, reason, by, parts.clock.now(), previous_holder=parts.tells_previous_holder
        )
        return True


def adopt_ca_revocations(parts: Parts, by: Actor) -> list[str]:
    """Record revoked every certificate the CA's mirrored CRLs list but certsvc holds issued."""
    if not parts.adapter.remote:
        return []  # certsvc signs the local CA's CRLs from its own records
    adopted: list[str] = []
    with parts.sessions() as session:
        names = session.scalars(
            select(Certificate.ca_name)
            .where(Certificate.state == CertState.ISSUED, Certificate.adapter == parts.adapter.name)
            .distinct()
        ).all()
        listed: dict[str, RevocationReason] = {}
        for name in names:
            stored = latest(session, name) if name else None
            if stored is not None:
                listed |= _entries(stored.der)
    serials = sorted(listed)
    for start in range(0, len(serials), CHUNK):
        chunk = serials[start : start + CHUNK]
        with transaction(parts.sessions) as session:
            rows = session.scalars(
                select(Certificate).where(
                    Certificate.serial.in_(chunk),
                    Certificate.state == CertState.ISSUED,
                    Certificate.adapter == parts.adapter.name,
                )
            ).all()
            for row in rows:
                forget(session, row.id)
                reason = listed[row.serial or ""]
                tell = parts.tells_previous_holder
                effects.mark_revoked(
                    session, row, reason, by, parts.clock.now(), previous_holder=tell
                )
                adopted.append(row.serial or "")
    if adopted:
        log.warning("reconcile.ca_revocations_adopted", serials=adopted)
    return adopted


def _entries(der: bytes) -> dict[str, RevocationReason]:
    """Serial -> reason of every entry of a DER CRL (no reason code: unspecified)."""
    crl = x509.load_der_x509_crl(der)
    entries: dict[str, RevocationReason] = {}
    for entry in crl:
        reason = RevocationReason.unspecified
        try:
            flag = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
            reason = RevocationReason(flag.value)
        except (x509.ExtensionNotFound, ValueError):
            pass
        entries[format_serial(entry.serial_number)] = reason
    return entries
