"""Tenants and their subscribers: who may hold a certificate, and where mail goes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from certsvc import audit, identifiers
from certsvc.audit import Actor
from certsvc.clock import Clock
from certsvc.db import SessionFactory, transaction
from certsvc.errors import Conflict, InputError, NotFound
from certsvc.models import Subscriber, Tenant

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
    session: Session, company_number: str, name: str, admin_email: str, by: Actor, at: datetime
) -> Tenant:
    """Register a customer company; its company number must be new."""
    identifiers.company_number(company_number)
    identifiers.display_name(name)
    identifiers.email(admin_email, "admin_email")
    if not name.strip():
        raise InputError("tenant name must not be empty", "name")
    if session.scalar(select(Tenant.id).where(Tenant.company_number == company_number)):
        raise Conflict(f"tenant {company_number} already exists")
    tenant = Tenant(
        company_number=company_number, name=name, admin_email=admin_email, created_at=at
    )
    session.add(tenant)
    after = {"name": name, "admin_email": admin_email}
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

    def __init__(self, sessions: SessionFactory, clock: Clock) -> None:
        self.sessions = sessions
        self.clock = clock

    def add_tenant(self, company_number: str, name: str, admin_email: str, by: Actor) -> None:
        with transaction(self.sessions) as session:
            add_tenant(session, company_number, name, admin_email, by, self.clock.now())

    def add_subscriber(self, new: NewSubscriber, by: Actor) -> None:
        with transaction(self.sessions) as session:
            add_subscriber(session, new, by, self.clock.now())
