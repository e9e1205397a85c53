"""Certificate pickup: a mailed link, the subscriber's credentials, then the certificate.

A pickup either hands over a certificate already issued (the helpdesk sent the CSR), or
carries an issuance that waits for the subscriber's key: at pickup the subscriber
uploads a CSR or lets certsvc make the key and downloads a PKCS#12 protected by their
password. The link is single use (claimed atomically, released again only when the
issuance fails) and expires. Its first use is the certificate's first collection, which
revokes an ``on-pickup`` predecessor.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from certsvc.access.accounts import Accounts, Login, subscriber_actor
from certsvc.audit import Actor
from certsvc.clock import Clock
from certsvc.config import Settings
from certsvc.directory import get_subscriber, take_over
from certsvc.domain import identifiers
from certsvc.domain.certificates import CertState, ReissueReason
from certsvc.domain.policy import check_public_key, load_csr
from certsvc.errors import Conflict, InputError, NotFound
from certsvc.lifecycle.operations import CsrKey, Issued, KeySource, Lifecycle, ServerKey
from certsvc.lifecycle.orders import Handover
from certsvc.lifecycle.pickup_links import (
    Deferred,
    LinkTarget,
    PickupTicket,
    create_link,
    digest,
)
from certsvc.lifecycle.views import CertificateView
from certsvc.storage.certificates import subscriber_ref_of
from certsvc.storage.db import SessionFactory, transaction
from certsvc.storage.models import Certificate, Pickup

__all__ = ["Collected", "Deferred", "PickupInfo", "PickupTicket", "Pickups"]

ACTIONS = ("issue", "renew", "reissue")


@dataclass(frozen=True)
class PickupInfo:
    """What the pickup page shows before login (the link's holder is its addressee)."""

    action: str
    expires_at: str
    challenge_position: int
    key_required: bool
    company_number: str
    company_name: str
    user_id: str
    locked_until: str | None


@dataclass(frozen=True)
class Collected:
    certificate: CertificateView
    certificate_pem: str
    pkcs12: bytes | None


class Pickups:
    """Create pickups, show them, and redeem them with the subscriber's credentials."""

    def __init__(
        self,
        sessions: SessionFactory,
        clock: Clock,
        settings: Settings,
        lifecycle: Lifecycle,
        accounts: Accounts,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.settings = settings
        self.lifecycle = lifecycle
        self.accounts = accounts

    def for_certificate(self, serial: str, by: Actor) -> PickupTicket:
        """A link for an issued certificate that waits for pickup (or a fresh link)."""
        self.lifecycle.gate.admit(by, "pickup.create")
        with transaction(self.sessions) as session:
            row = session.scalar(
                select(Certificate).where(
                    Certificate.serial == serial, Certificate.state == CertState.ISSUED
                )
            )
            if row is None or row.picked_up_at is not None:
                raise Conflict(f"certificate {serial} is not issued or was collected", serial)
            row.awaiting_pickup = True
            target = LinkTarget(certificate=(row.id, serial))
            subscriber = subscriber_ref_of(row.subscriber)
            return create_link(session, self.settings, subscriber, target, by, self.clock.now())

    def defer(
        self, company_number: str, user_id: str, deferred: Deferred, by: Actor
    ) -> PickupTicket:
        """Record an issuance that happens when the subscriber picks it up with their key."""
        self._check_deferred(deferred)
        self.lifecycle.gate.admit(by, "pickup.create")
        with transaction(self.sessions) as session:
            subscriber = get_subscriber(session, company_number, user_id)
            if not subscriber.needs_certificate:
                raise Conflict(f"subscriber {user_id} is registered without a certificate")
            if deferred.new_email is not None:  # the new user gets the link, by their name
                holder = (deferred.new_email, deferred.new_name)
                take_over(session, subscriber, holder, by, self.clock.now())
            if deferred.predecessor is not None:
                self._refuse_second_successor(session, deferred.predecessor)
            target = LinkTarget(deferred=deferred)
            ref = subscriber_ref_of(subscriber)
            return create_link(session, self.settings, ref, target, by, self.clock.now())

    def _refuse_second_successor(self, session: Session, serial: str) -> None:
        """A certificate gets one successor: a second renewal or reissue is refused now,
        not when the subscriber comes to pick it up."""
        row = session.scalar(select(Certificate).where(Certificate.serial == serial))
        if row is None:
            raise NotFound("certificate", serial)
        waiting = session.scalar(
            select(Pickup.id).where(
                Pickup.predecessor_serial == serial,
                Pickup.used_at.is_(None),
                Pickup.expires_at > self.clock.now(),
            )
        )
        if row.superseded_by_id is not None or waiting is not None:
            raise Conflict(
                f"certificate {serial} already has a pending successor: "
                "collect or revoke it before another renewal or reissue",
                serial,
            )

    def _check_deferred(self, deferred: Deferred) -> None:
        if deferred.action not in ACTIONS:
            raise InputError(f"pickup action must be one of {', '.join(ACTIONS)}", "action")
        if deferred.action == "reissue" and deferred.reason is None:
            raise InputError("reissue reason must be pc-change or user-change", "reason")
        if deferred.reason is ReissueReason.USER_CHANGE and not deferred.new_email:
            raise InputError("a user change needs the new user's e-mail address", "new_email")
        if deferred.new_name is not None and deferred.reason is not ReissueReason.USER_CHANGE:
            raise InputError("a new name is only for a user change (user-change)", "new_name")
        if deferred.new_email is not None:
            identifiers.email(deferred.new_email, "new_email")

    def show(self, token: str) -> PickupInfo:
        with self.sessions() as session:
            row = self._usable(session, token)
            subscriber_id, action, expires_at = row.subscriber_id, row.action, row.expires_at
            tenant = row.subscriber.tenant
            who = (tenant.company_number, tenant.name, row.subscriber.user_id)
        locked = self.accounts.locked_until(subscriber_id)
        zone = self.settings.zone
        return PickupInfo(
            action=action,
            expires_at=expires_at.astimezone(zone).isoformat(),
            challenge_position=self.accounts.challenge_position(subscriber_id),
            key_required=action != "collect",
            company_number=who[0],
            company_name=who[1],
            user_id=who[2],
            locked_until=locked.astimezone(zone).isoformat() if locked else None,
        )

    def redeem(self, token: str, login: Login, key: KeySource | None) -> Collected:
        """Log in, claim the link, issue if needed, collect; the link is spent only on success."""
        with self.sessions() as session:
            row = self._usable(session, token)
            pickup_id, subscriber_id = row.id, row.subscriber_id
            self._check_key(row.action, key)
            self.lifecycle.gate.admit(subscriber_actor(row.subscriber), "pickup.redeem")
        password = self.accounts.authenticate(subscriber_id, login)
        if isinstance(key, ServerKey):
            key = ServerKey(password.encode())
        self._claim(pickup_id)
        return self._deliver(pickup_id, key)

    def _check_key(self, action: str, key: KeySource | None) -> None:
        """Refuse a bad key choice before the login counts as used."""
        if action == "collect":
            if key is not None:
                raise InputError("this certificate is issued already: send no key", "csr")
            return
        if key is None:
            raise InputError("send a CSR (csr) or ask for a PKCS#12 file (pkcs12)", "csr")
        if isinstance(key, CsrKey):
            check_public_key(load_csr(key.pem).public_key(), self.settings.policy)

    def _usable(self, session: Session, token: str) -> Pickup:
        row = session.scalar(select(Pickup).where(Pickup.token_sha256 == digest(token)))
        if row is None or row.used_at is not None or self.clock.now() >= row.expires_at:
            raise NotFound("pickup link", "unknown, used or expired")
        return row

    def _claim(self, pickup_id: int) -> None:
        with transaction(self.sessions) as session:
            claimed = session.execute(
                update(Pickup)
                .where(Pickup.id == pickup_id, Pickup.used_at.is_(None))
                .values(used_at=self.clock.now())
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                raise NotFound("pickup link", "unknown, used or expired")

    def _release(self, pickup_id: int) -> None:
        with transaction(self.sessions) as session:
            session.execute(update(Pickup).where(Pickup.id == pickup_id).values(used_at=None))

    def _deliver(self, pickup_id: int, key: KeySource | None) -> Collected:
        with self.sessions() as session:
            row = session.get_one(Pickup, pickup_id)
            subscriber = row.subscriber
            company, user_id = subscriber.tenant.company_number, subscriber.user_id
            collector = Actor(subscriber_actor(subscriber).name, row.ticket)
            serial = row.certificate.serial if row.certificate else None
            orderer = Actor(row.actor, row.ticket)
            deferred = Deferred(
                row.action, row.predecessor_serial, row.reason, row.revoke_old, row.new_email
            )
        pkcs12 = None
        if key is not None:
            try:
                issued = self._issue(company, user_id, deferred, key, orderer)
            except Exception:
                self._release(pickup_id)  # nothing was issued: the link stays usable
                raise
            serial, pkcs12 = issued.certificate.serial, issued.pkcs12
        view = self.lifecycle.collect(serial or "", collector)
        return Collected(view, self.lifecycle.pem(serial or ""), pkcs12)

    def _issue(
        self, company: str, user_id: str, deferred: Deferred, key: KeySource, by: Actor
    ) -> Issued:
        lifecycle = self.lifecycle
        if deferred.action == "issue":
            return lifecycle.issue(company, user_id, key, by, Handover(awaiting_pickup=True))
        predecessor = deferred.predecessor or ""
        if deferred.action == "renew":
            return lifecycle.renew(predecessor, key, by, revoke_old=deferred.revoke_old)
        if deferred.reason is None:
            raise InputError("reissue reason must be pc-change or user-change", "reason")
        return lifecycle.reissue(
            predecessor,
            deferred.reason,
            key,
            by,
            revoke_old=deferred.revoke_old,
            new_email=deferred.new_email,
        )
