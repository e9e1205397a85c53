"""Tenants and their subscribers: who may hold a certificate, and where mail goes."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from certsvc import audit
from certsvc.audit import Actor
from certsvc.clock import Clock
from certsvc.domain import identifiers
from certsvc.domain.certificates import CertState
from certsvc.errors import Conflict, InputError, NotFound
from certsvc.gate import ChangeGate
from certsvc.notify.outbox import enqueue
from certsvc.storage.db import SessionFactory, transaction
from certsvc.storage.models import Certificate, Credential, Subscriber, Tenant

ROLES = ("officer", "staff")
LOCALES = ("ja", "en")


@dataclass(frozen=True)
class NewSubscriber:
    """A subscriber as the helpdesk registers it."""

    company_number: str
    user_id: str
    email: str
    display_name: str = ""
    needs_certificate: bool = True
    role: str = "staff"
    locale: str = "ja"


@dataclass(frozen=True)
class TenantView:
    """A tenant as the API shows it."""

    company_number: str
    name: str
    admin_name: str
    admin_email: str
    created_at: str
    subscribers: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SubscriberView:
    """A subscriber as the API shows it, with the state of its pickup credentials."""

    company_number: str
    user_id: str
    display_name: str
    email: str
    role: str
    locale: str
    needs_certificate: bool
    created_at: str
    credentials_registered: bool
    locked_until: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def get_tenant(session: Session, company_number: str) -> Tenant:
    tenant = session.scalar(select(Tenant).where(Tenant.company_number == company_number))
    if tenant is None:
        raise NotFound("tenant", company_number)
    return tenant


def get_subscriber(session: Session, company_number: str, user_id: str) -> Subscriber:
    subscriber = session.scalar(
        select(Subscriber)
        .join(Tenant)
        .where(Tenant.company_number == company_number, Subscriber.user_id == user_id)
    )
    if subscriber is None:
        raise NotFound("subscriber", f"{company_number}/{user_id}")
    return subscriber


def add_tenant(
    session: Session,
    company_number: str,
    name: str,
    admin_email: str,
    by: Actor,
    at: datetime,
    admin_name: str = "",
) -> Tenant:
    """Register a customer company; its company number must be new."""
    identifiers.company_number(company_number)
    identifiers.display_name(name)
    identifiers.display_name(admin_name, "admin_name")
    identifiers.email(admin_email, "admin_email")
    if not name.strip():
        raise InputError("tenant name must not be empty", "name")
    if session.scalar(select(Tenant.id).where(Tenant.company_number == company_number)):
        raise Conflict(f"tenant {company_number} already exists")
    tenant = Tenant(
        company_number=company_number,
        name=name,
        admin_email=admin_email,
        admin_name=admin_name,
        created_at=at,
    )
    session.add(tenant)
    after = {"name": name, "admin_email": admin_email, "admin_name": admin_name}
    audit.record(session, by, "tenant.add", at, company_number=company_number, after=after)
    return tenant


def add_subscriber(session: Session, new: NewSubscriber, by: Actor, at: datetime) -> Subscriber:
    """Register a user of a tenant (optionally one who needs no certificate)."""
    identifiers.user_id(new.user_id)
    identifiers.email(new.email)
    identifiers.display_name(new.display_name)
    if new.role not in ROLES:
        raise InputError(f"role must be one of {', '.join(ROLES)}", "role")
    if new.locale not in LOCALES:
        raise InputError(f"locale must be one of {', '.join(LOCALES)}", "locale")
    tenant = get_tenant(session, new.company_number)
    taken = session.scalar(
        select(Subscriber.id).where(
            Subscriber.tenant_id == tenant.id, Subscriber.user_id == new.user_id
        )
    )
    if taken:
        raise Conflict(f"subscriber {new.company_number}/{new.user_id} already exists")
    subscriber = Subscriber(
        tenant=tenant,
        user_id=new.user_id,
        display_name=new.display_name,
        email=new.email,
        role=new.role,
        locale=new.locale,
        needs_certificate=new.needs_certificate,
        created_at=at,
    )
    session.add(subscriber)
    after = {
        "user_id": new.user_id,
        "email": new.email,
        "needs_certificate": new.needs_certificate,
    }
    audit.record(session, by, "subscriber.add", at, company_number=new.company_number, after=after)
    return subscriber


class Directory:
    """Tenant and subscriber operations, each one transaction (for the CLI and the API)."""

    def __init__(self, sessions: SessionFactory, clock: Clock, gate: ChangeGate) -> None:
        self.sessions = sessions
        self.clock = clock
        self.gate = gate

    def add_tenant(
        self, company_number: str, name: str, admin_email: str, by: Actor, admin_name: str = ""
    ) -> None:
        self.gate.admit(by, "tenant.add")
        with transaction(self.sessions) as session:
            now = self.clock.now()
            add_tenant(session, company_number, name, admin_email, by, now, admin_name)

    def add_subscriber(self, new: NewSubscriber, by: Actor) -> None:
        self.gate.admit(by, "subscriber.add")
        with transaction(self.sessions) as session:
            add_subscriber(session, new, by, self.clock.now())

    def show_tenant(self, company_number: str) -> TenantView:
        with self.sessions() as session:
            return _tenant_view(session, get_tenant(session, company_number))

    def change_administrator(
        self, company_number: str, name: str, email: str, by: Actor
    ) -> TenantView:
        """Name a new representative administrator; the old and new address are both told."""
        identifiers.display_name(name)
        identifiers.email(email)
        self.gate.admit(by, "tenant.change_administrator")
        now = self.clock.now()
        with transaction(self.sessions) as session:
            tenant = get_tenant(session, company_number)
            before = {"admin_name": tenant.admin_name, "admin_email": tenant.admin_email}
            tenant.admin_name, tenant.admin_email = name, email
            after = {"admin_name": name, "admin_email": email}
            audit.record(
                session,
                by,
                "tenant.change_administrator",
                now,
                company_number=company_number,
                before=before,
                after=after,
            )
            _inform_administrators(session, tenant, before, now)
            return _tenant_view(session, tenant)

    def list_subscribers(
        self, company_number: str, limit: int = 100_000, offset: int = 0
    ) -> list[SubscriberView]:
        """A tenant's subscribers in the order they were registered (stable for paging)."""
        with self.sessions() as session:
            tenant = get_tenant(session, company_number)
            rows = session.scalars(
                select(Subscriber)
                .where(Subscriber.tenant_id == tenant.id)
                .order_by(Subscriber.id)
                .limit(limit)
                .offset(offset)
            ).all()
            return [_subscriber_view(session, row) for row in rows]

    def count_subscribers(self, company_number: str) -> int:
        with self.sessions() as session:
            tenant = get_tenant(session, company_number)
            found = select(func.count(Subscriber.id)).where(Subscriber.tenant_id == tenant.id)
            return session.scalar(found) or 0

    def list_tenants(
        self, limit: int = 100_000, offset: int = 0, only: str | None = None
    ) -> tuple[list[TenantView], int]:
        """Tenants by company number (``only``: that one, for a tenant's own admin), and
        how many there are in all."""
        with self.sessions() as session:
            query = select(Tenant)
            if only is not None:
                query = query.where(Tenant.company_number == only)
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = session.scalars(
                query.order_by(Tenant.company_number).limit(limit).offset(offset)
            ).all()
            return [_tenant_view(session, row) for row in rows], total

    def show_subscriber(self, company_number: str, user_id: str) -> SubscriberView:
        with self.sessions() as session:
            return _subscriber_view(session, get_subscriber(session, company_number, user_id))

    def change_email(
        self, company_number: str, user_id: str, email: str, by: Actor
    ) -> SubscriberView:
        identifiers.email(email)
        self.gate.admit(by, "subscriber.change_email")
        with transaction(self.sessions) as session:
            subscriber = get_subscriber(session, company_number, user_id)
            held = _held_serial(session, subscriber)
            if held is not None and subscriber.email != email:
                raise Conflict(
                    f"subscriber {user_id} holds certificate {held}, which carries the e-mail "
                    f"address: change it with the certificate (certsvc cert reissue {held} "
                    "--reason user-change --new-email ..., or POST .../reissue with new_email)",
                    held,
                )
            change_email(session, subscriber, email, by, self.clock.now())
            return _subscriber_view(session, subscriber)

    def mark_no_certificate(self, company_number: str, user_id: str, by: Actor) -> SubscriberView:
        """The user needs no certificate (self-registration); refused while one is held."""
        self.gate.admit(by, "subscriber.mark_no_certificate")
        with transaction(self.sessions) as session:
            subscriber = get_subscriber(session, company_number, user_id)
            held = _held_serial(session, subscriber)
            if held is not None:
                raise Conflict(f"subscriber {user_id} holds certificate {held}: revoke it first")
            before = {"needs_certificate": subscriber.needs_certificate}
            subscriber.needs_certificate = False
            audit.record(
                session,
                by,
                "subscriber.mark_no_certificate",
                self.clock.now(),
                company_number=company_number,
                before=before,
                after={"needs_certificate": False, "user_id": user_id},
            )
            return _subscriber_view(session, subscriber)


def change_email(
    session: Session, subscriber: Subscriber, email: str, by: Actor, now: datetime
) -> None:
    """Change where a subscriber's mail goes (audited); the same address is no change."""
    if subscriber.email == email:
        return
    before = {"email": subscriber.email}
    subscriber.email = email
    audit.record(
        session,
        by,
        "subscriber.change_email",
        now,
        company_number=subscriber.tenant.company_number,
        before=before,
        after={"email": email, "user_id": subscriber.user_id},
    )


def take_over(
    session: Session,
    subscriber: Subscriber,
    holder: tuple[str, str | None],
    by: Actor,
    now: datetime,
) -> None:
    """A new person takes over the user ID: the new address and (if given) display name."""
    email, name = holder
    change_email(session, subscriber, email, by, now)
    if name is None or name == subscriber.display_name:
        return
    before = {"display_name": subscriber.display_name}
    subscriber.display_name = identifiers.display_name(name, "new_name")
    audit.record(
        session,
        by,
        "subscriber.change_name",
        now,
        company_number=subscriber.tenant.company_number,
        before=before,
        after={"display_name": name, "user_id": subscriber.user_id},
    )


def _held_serial(session: Session, subscriber: Subscriber) -> str | None:
    """A certificate the subscriber holds (or is being issued), if any."""
    return session.scalar(
        select(Certificate.serial).where(
            Certificate.subscriber_id == subscriber.id,
            Certificate.state.in_((CertState.PENDING, CertState.ISSUED)),
        )
    )


def _inform_administrators(
    session: Session, tenant: Tenant, before: dict[str, str], now: datetime
) -> None:
    payload = {
        "company_number": tenant.company_number,
        "company_name": tenant.name,
        "old_name": before["admin_name"],
        "old_email": before["admin_email"],
        "new_name": tenant.admin_name,
        "new_email": tenant.admin_email,
        "locale": "ja",
    }
    recipients = {before["admin_email"]: "old", tenant.admin_email: "new"}
    change = uuid.uuid4()  # one mail per address for this change
    for address, role in recipients.items():
        enqueue(
            session,
            channel="mail",
            kind="tenant.admin_changed",
            dedupe_key=f"tenant.admin_changed:{change}:{address}",
            recipient=address,
            payload={**payload, "recipient_role": role},
            at=now,
        )


def _tenant_view(session: Session, tenant: Tenant) -> TenantView:
    count = session.scalar(
        select(func.count(Subscriber.id)).where(Subscriber.tenant_id == tenant.id)
    )
    return TenantView(
        tenant.company_number,
        tenant.name,
        tenant.admin_name,
        tenant.admin_email,
        tenant.created_at.isoformat(),
        count or 0,
    )


def _subscriber_view(session: Session, subscriber: Subscriber) -> SubscriberView:
    credential = session.scalar(select(Credential).where(Credential.subscriber_id == subscriber.id))
    locked = credential.locked_until if credential is not None else None
    return SubscriberView(
        subscriber.tenant.company_number,
        subscriber.user_id,
        subscriber.display_name,
        subscriber.email,
        subscriber.role,
        subscriber.locale,
        subscriber.needs_certificate,
        subscriber.created_at.isoformat(),
        credential is not None,
        locked.isoformat() if locked is not None else None,
    )
