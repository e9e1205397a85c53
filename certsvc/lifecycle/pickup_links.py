"""Writing a pickup link: the row (only the token's digest is kept), its audit event and
the mail that carries the secret link, in the caller's transaction.

Both the issuing transaction (a certificate that waits for pickup) and ``Pickups`` (a
new link, or an issuance deferred to pickup) write links here, so a link and what it
is for commit or vanish together.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from certsvc import audit
from certsvc.audit import Actor
from certsvc.config import Settings
from certsvc.domain.certificates import CertState, ReissueReason, RevokeOld
from certsvc.domain.public_address import pickup_link_base
from certsvc.notify.outbox import enqueue
from certsvc.storage.certificates import SubscriberRef, subscriber_ref_of
from certsvc.storage.models import Certificate, Pickup


@dataclass(frozen=True)
class Deferred:
    """An issuance that waits for the subscriber's key (``predecessor`` for renew/reissue)."""

    action: str
    predecessor: str | None = None
    reason: ReissueReason | None = None
    revoke_old: RevokeOld | None = None
    new_email: str | None = None
    new_name: str | None = None
    """Set on the subscriber when the pickup is created (not kept with the link)."""


@dataclass(frozen=True)
class PickupTicket:
    """A created pickup; ``link`` carries the secret token and goes only into the mail."""

    link: str
    expires_at: datetime
    action: str
    id: int = 0
    """The pickup's row id: what the API answers, lists and cancels by (never the token)."""


@dataclass(frozen=True)
class LinkTarget:
    """What a link is for: a certificate issued already, or an issuance deferred."""

    certificate: tuple[int, str] | None = None  # (row id, serial)
    deferred: Deferred | None = None

    @property
    def serial(self) -> str | None:
        if self.certificate is not None:
            return self.certificate[1]
        return self.deferred.predecessor if self.deferred else None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_link(
    session: Session,
    settings: Settings,
    subscriber: SubscriberRef,
    target: LinkTarget,
    by: Actor,
    now: datetime,
    *,
    mail: bool = True,
    orderer: Actor | None = None,
) -> PickupTicket:
    """Write a single-use link for ``target`` and queue its mail to the subscriber
    (``mail=False``: the caller's own mail carries the link, e.g. a reminder).

    ``orderer`` (default ``by``) is who ordered a deferred issuance: the issuance at pickup
    is theirs, under their ticket, even when ``by`` (the scheduler) wrote a fresh link."""
    ordered_by = orderer or by
    token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(days=settings.pickup.valid_days)
    deferred = target.deferred
    action = deferred.action if deferred else "collect"
    row = Pickup(
        token_sha256=digest(token),
        subscriber_id=subscriber.id,
        certificate_id=target.certificate[0] if target.certificate else None,
        action=action,
        predecessor_serial=deferred.predecessor if deferred else None,
        reason=deferred.reason if deferred else None,
        revoke_old=deferred.revoke_old if deferred else None,
        new_email=deferred.new_email if deferred else None,
        actor=ordered_by.name,
        ticket=ordered_by.ticket,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()  # a refused row fails here, inside the caller's transaction
    link = f"{pickup_link_base(settings)}/{token}"
    audit.record(
        session,
        by,
        "pickup.create",
        now,
        company_number=subscriber.company_number,
        serial=target.serial,
        after={
            "user_id": subscriber.user_id,
            "action": action,
            "expires_at": expires_at.isoformat(),
            "revoke_old": deferred.revoke_old.value if deferred and deferred.revoke_old else None,
        },
    )
    if mail:
        _mail(session, settings, subscriber, target, (link, expires_at), now)
    return PickupTicket(link, expires_at, action, row.id)


def _mail(
    session: Session,
    settings: Settings,
    subscriber: SubscriberRef,
    target: LinkTarget,
    link: tuple[str, datetime],
    now: datetime,
) -> None:
    url, expires_at = link
    enqueue(
        session,
        channel="mail",
        kind="pickup.ready",
        dedupe_key=f"pickup.ready:{digest(url)}",
        recipient=subscriber.email,
        payload={
            "company_number": subscriber.company_number,
            "company_name": subscriber.tenant_name,
            "user_id": subscriber.user_id,
            "display_name": subscriber.display_name,
            "locale": subscriber.locale,
            "serial": target.certificate[1] if target.certificate else None,
            "link": url,
            "expires_at": expires_at.astimezone(settings.zone).isoformat(),
        },
        at=now,
    )


RENEWAL_ACTOR = "scheduler:reminder"


def renewal_link(session: Session, settings: Settings, serial: str, now: datetime) -> str | None:
    """A personal renewal link for a reminder: renews ``serial`` at pickup, single use.

    Valid until the certificate stops letting anyone in (its ``invalid_from``); the old
    certificate stays valid (renewal). A newer reminder's link replaces the older ones,
    so at most one renewal of a certificate is open. None if the certificate is gone.
    """
    row = session.scalar(
        select(Certificate).where(
            Certificate.serial == serial, Certificate.state == CertState.ISSUED
        )
    )
    if row is None or row.invalid_from is None or row.invalid_from <= now:
        return None
    session.execute(
        update(Pickup)
        .where(
            Pickup.predecessor_serial == serial,
            Pickup.action == "renew",
            Pickup.used_at.is_(None),
            Pickup.expires_at > now,
        )
        .values(expires_at=now)
    )
    token = secrets.token_urlsafe(32)
    session.add(
        Pickup(
            token_sha256=digest(token),
            subscriber_id=row.subscriber_id,
            action="renew",
            predecessor_serial=serial,
            actor=RENEWAL_ACTOR,
            created_at=now,
            expires_at=row.invalid_from,
        )
    )
    return f"{pickup_link_base(settings)}/{token}"


SUCCESSOR_ACTIONS = ("renew", "reissue")


def open_order(session: Session, serial: str, now: datetime) -> Pickup | None:
    """The helpdesk's renewal or reissue of ``serial`` that waits for the subscriber's key
    (unused, unexpired link); a reminder's own renewal link is no order."""
    return session.scalar(
        select(Pickup)
        .where(
            Pickup.predecessor_serial == serial,
            Pickup.action.in_(SUCCESSOR_ACTIONS),
            Pickup.actor != RENEWAL_ACTOR,
            Pickup.used_at.is_(None),
            Pickup.expires_at > now,
        )
        .limit(1)
    )


def waiting_order(session: Session, serial: str) -> Pickup | None:
    """The latest helpdesk order of a successor of ``serial`` if it was never redeemed,
    whether or not its link has expired: the order stands, only the link runs out."""
    latest = session.scalar(
        select(Pickup)
        .where(
            Pickup.predecessor_serial == serial,
            Pickup.action.in_(SUCCESSOR_ACTIONS),
            Pickup.actor != RENEWAL_ACTOR,
        )
        .order_by(Pickup.id.desc())
        .limit(1)
    )
    return latest if latest is not None and latest.used_at is None else None


def refresh_order(
    session: Session, settings: Settings, order: Pickup, by: Actor, now: datetime
) -> PickupTicket:
    """A fresh link to the same order (the old link stops working): for a reminder, which
    carries the secret link itself, so no separate mail is queued."""
    order.expires_at = min(order.expires_at, now)
    deferred = Deferred(
        order.action, order.predecessor_serial, order.reason, order.revoke_old, order.new_email
    )
    subscriber = subscriber_ref_of(order.subscriber)
    orderer = Actor(order.actor, order.ticket)
    target = LinkTarget(deferred=deferred)
    return create_link(session, settings, subscriber, target, by, now, mail=False, orderer=orderer)
