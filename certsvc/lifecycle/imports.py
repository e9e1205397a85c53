"""Importing certificates another CA issued, so reminders and the gateway feed cover them.

An import is planned first (every certificate read, mapped to its subscriber, checked)
and written only when the whole plan is sound, in one transaction: bad input names every
problem and writes nothing. A certificate already known by its SHA-256 is skipped and
counted, so re-running an import after a partial copy, or twice, changes nothing.

An imported row is ``issued`` by the adapter ``import``: it is on the allowlist, gets
the reminders of its expiry date and expires the day after like any other, but no CA of
certsvc's signs it, so no CRL of certsvc's lists it and certsvc never asks a CA about it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from certsvc import audit
from certsvc.audit import Actor
from certsvc.clock import Clock
from certsvc.config import Settings
from certsvc.directory import NewSubscriber, add_subscriber
from certsvc.domain.certificates import CertState, IssuedRecord
from certsvc.domain.fingerprints import public_key_sha256
from certsvc.domain.imports import (
    IMPORTED,
    FoundCertificate,
    Owner,
    is_ca,
    mapping_keys,
    owner_from_subject,
)
from certsvc.errors import CertsvcError, InputError
from certsvc.feed.version import record_change
from certsvc.gate import ChangeGate
from certsvc.storage import certificates as records
from certsvc.storage.db import SessionFactory, transaction
from certsvc.storage.models import Certificate, Subscriber, Tenant

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Planned:
    """One certificate to import, with the subscriber it goes to."""

    source: str
    record: IssuedRecord
    company_number: str
    user_id: str
    email: str
    public_key_sha256: str
    new_subscriber: bool


@dataclass
class ImportReport:
    """What an import did (or, in a dry run, would do)."""

    imported: list[str] = field(default_factory=list)
    known: int = 0
    expired: int = 0
    ca_certificates: int = 0
    subscribers_created: int = 0
    errors: list[str] = field(default_factory=list)
    dry_run: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "imported": len(self.imported),
            "serials": self.imported,
            "skipped_known": self.known,
            "skipped_expired": self.expired,
            "skipped_ca_certificates": self.ca_certificates,
            "subscribers_created": self.subscribers_created,
            "errors": self.errors,
            "dry_run": self.dry_run,
        }


class CertificateImport:
    """``certsvc import certificates``: plan, then write everything in one transaction."""

    def __init__(self, sessions: SessionFactory, clock: Clock, settings: Settings) -> None:
        self.sessions = sessions
        self.clock = clock
        self.settings = settings
        self.gate = ChangeGate.of(sessions, settings, clock)

    def run(
        self,
        found: Iterable[FoundCertificate],
        mapping: dict[str, Owner],
        by: Actor,
        *,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> ImportReport:
        """Import ``found``; with errors (or ``dry_run``) nothing is written."""
        if not dry_run:
            self.gate.admit(by, "certificate.import")
        report = ImportReport(dry_run=dry_run)
        with self.sessions() as session:
            plan = self._plan(session, found, mapping, report, progress)
        if report.errors:
            return report
        if dry_run:
            report.imported = [p.record.serial for p in plan]
            report.subscribers_created = sum(1 for p in plan if p.new_subscriber)
            return report
        with transaction(self.sessions) as session:
            self._write(session, plan, by, report)
        return report

    def _plan(
        self,
        session: Session,
        found: Iterable[FoundCertificate],
        mapping: dict[str, Owner],
        report: ImportReport,
        progress: Progress | None,
    ) -> list[Planned]:
        plan: list[Planned] = []
        seen: set[str] = set()
        holders: dict[tuple[str, str], str] = {}
        now = self.clock.now()
        for item in found:
            if progress is not None:
                progress(1)
            if is_ca(item.certificate):
                report.ca_certificates += 1
                continue
            record = IssuedRecord.of(item.certificate, "", IMPORTED, self.settings.zone)
            if record.sha256 in seen or _known(session, record.sha256):
                report.known += 1
                seen.add(record.sha256)
                continue
            seen.add(record.sha256)
            if record.invalid_from <= now:
                report.expired += 1
                continue
            try:
                planned = self._place(session, item, record, mapping)
                _check_single(session, planned, holders)
            except CertsvcError as exc:
                report.errors.append(f"{item.source}: {exc}")
                continue
            plan.append(planned)
        return plan

    def _place(
        self,
        session: Session,
        item: FoundCertificate,
        record: IssuedRecord,
        mapping: dict[str, Owner],
    ) -> Planned:
        sha_key, serial_key = mapping_keys(item.certificate)
        owner = mapping.get(sha_key) or mapping.get(serial_key)
        if owner is None:
            owner = owner_from_subject(item.certificate)
        company = owner.company_number or _tenant_by_name(session, owner.tenant_name or "")
        subscriber = session.scalar(
            select(Subscriber)
            .join(Tenant)
            .where(Tenant.company_number == company, Subscriber.user_id == owner.user_id)
        )
        if subscriber is None:
            _tenant_exists(session, company)
            if not owner.email:
                raise InputError(
                    f"subscriber {company}/{owner.user_id} is unknown and the certificate "
                    "carries no e-mail: import the subscribers first (certsvc import subscribers)"
                )
        elif not subscriber.needs_certificate:
            raise InputError(f"subscriber {company}/{owner.user_id} needs no certificate")
        clash = session.scalar(
            select(Certificate.sha256).where(Certificate.serial == record.serial)
        )
        if clash is not None:
            raise InputError(f"serial {record.serial} already belongs to another certificate")
        email = owner.email or (subscriber.email if subscriber is not None else "")
        key = public_key_sha256(item.certificate.public_key())
        return Planned(item.source, record, company, owner.user_id, email, key, subscriber is None)

    def _write(
        self, session: Session, plan: list[Planned], by: Actor, report: ImportReport
    ) -> None:
        now = self.clock.now()
        for planned in plan:
            subscriber_id = _subscriber_id(session, planned, by, now, report)
            record = planned.record
            values = {
                "subscriber_id": subscriber_id,
                "request_key": record.sha256,
                "requested_at": now,
                "public_key_sha256": planned.public_key_sha256,
                "adapter": IMPORTED,
                "email": planned.email,
                **asdict(record),
                "ca_ref": record.serial,
                "state": CertState.ISSUED,
                "issued_at": record.not_before,
                "awaiting_pickup": False,
                "picked_up_at": now,
                "crl_final": False,
            }
            records.insert_certificate(session, values)
            record_change(session, "add", record.serial, record.sha256, now)
            after = {
                "state": CertState.ISSUED.value,
                "expiry_date": str(record.expiry_date),
                "sha256": record.sha256,
                "issuer": record.issuer,
                "source": planned.source,
            }
            audit.record(
                session,
                by,
                "certificate.import",
                now,
                company_number=planned.company_number,
                serial=record.serial,
                after=after,
            )
            report.imported.append(record.serial)


def _subscriber_id(
    session: Session, planned: Planned, by: Actor, now: datetime, report: ImportReport
) -> int:
    found = session.scalar(
        select(Subscriber.id)
        .join(Tenant)
        .where(
            Tenant.company_number == planned.company_number, Subscriber.user_id == planned.user_id
        )
    )
    if found is not None:
        return found
    new = NewSubscriber(planned.company_number, planned.user_id, planned.email)
    subscriber = add_subscriber(session, new, by, now)
    session.flush()
    report.subscribers_created += 1
    return subscriber.id


def _known(session: Session, sha256: str) -> bool:
    return session.scalar(select(Certificate.id).where(Certificate.sha256 == sha256)) is not None


def _tenant_by_name(session: Session, name: str) -> str:
    numbers = session.scalars(select(Tenant.company_number).where(Tenant.name == name)).all()
    if len(numbers) != 1:
        found = "no tenant" if not numbers else f"{len(numbers)} tenants"
        raise InputError(f"{found} named {name!r} (O=); give a mapping file (--mapping)")
    return numbers[0]


def _tenant_exists(session: Session, company_number: str) -> None:
    if session.scalar(select(Tenant.id).where(Tenant.company_number == company_number)) is None:
        raise InputError(f"tenant {company_number} is unknown: add it first (certsvc tenant add)")


def _check_single(session: Session, planned: Planned, holders: dict[tuple[str, str], str]) -> None:
    """A subscriber holds one valid certificate: refuse a second (in the files or stored)."""
    who = (planned.company_number, planned.user_id)
    held = holders.get(who) or session.scalar(
        select(Certificate.serial)
        .join(Subscriber)
        .join(Tenant)
        .where(
            Tenant.company_number == who[0],
            Subscriber.user_id == who[1],
            Certificate.state.in_((CertState.PENDING, CertState.ISSUED)),
        )
    )
    if held is not None:
        raise InputError(
            f"subscriber {who[0]}/{who[1]} already holds certificate {held}; "
            "import one certificate per subscriber"
        )
    holders[who] = planned.record.serial
