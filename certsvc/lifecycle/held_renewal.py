"""Renewal by the holder of the current certificate, arriving through the gateway.

The gateway verified the TLS client certificate (chain, CRL, allowlist) and passes it
on; certsvc checks it is exactly one of its own (the SHA-256 of the DER is a stored
certificate's), issued, not past its ``invalid_from``, and without a successor. Holding
it stands in for the registration-number challenge: the subscriber gives only the
password (and a new one when it is temporary or expired). The renewal is then the
pickup flow's: issued now, with the subscriber's key or a PKCS#12, collected at once;
the old certificate stays valid until its own expiry.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select

from certsvc.access.accounts import Login
from certsvc.audit import Actor
from certsvc.domain.certificates import CertState
from certsvc.errors import Conflict, NotFound
from certsvc.lifecycle.operations import KeySource, ServerKey
from certsvc.lifecycle.pickup import Collected, Pickups
from certsvc.storage.models import Certificate


@dataclass(frozen=True)
class HeldCertificate:
    """What the renewal page shows about the certificate the browser presented."""

    serial: str
    expiry_date: str
    company_number: str
    company_name: str
    user_id: str
    subscriber_id: int
    locked_until: str | None


class HeldRenewals:
    """``show`` and ``renew`` for a certificate presented through the gateway (DER)."""

    def __init__(self, pickups: Pickups) -> None:
        self.pickups = pickups

    def show(self, der: bytes) -> HeldCertificate:
        """The certificate's facts; NotFound when it is not ours, Conflict when it cannot
        be renewed (revoked, expired, or a successor is on its way)."""
        now = self.pickups.clock.now()
        with self.pickups.sessions() as session:
            row = session.scalar(
                select(Certificate).where(Certificate.sha256 == hashlib.sha256(der).hexdigest())
            )
            if row is None or row.serial is None:
                raise NotFound("certificate", "not one certsvc issued")
            if row.state is not CertState.ISSUED or row.invalid_from is None:
                raise Conflict(f"certificate {row.serial} is {row.state}", row.serial)
            if now >= row.invalid_from:
                raise Conflict(f"certificate {row.serial} is past its expiry date", row.serial)
            self.pickups._refuse_second_successor(session, row.serial)
            tenant = row.subscriber.tenant
            held = (row.serial, str(row.expiry_date), row.subscriber_id)
            who = (tenant.company_number, tenant.name, row.subscriber.user_id)
        locked = self.pickups.accounts.locked_until(held[2])
        zone = self.pickups.settings.zone
        return HeldCertificate(
            serial=held[0],
            expiry_date=held[1],
            company_number=who[0],
            company_name=who[1],
            user_id=who[2],
            subscriber_id=held[2],
            locked_until=locked.astimezone(zone).isoformat() if locked else None,
        )

    def renew(self, der: bytes, login: Login, key: KeySource) -> Collected:
        """Check again, log in with the password alone, renew, collect."""
        held = self.show(der)
        pickups = self.pickups
        pickups._check_key("renew", key)
        by = Actor(f"subscriber:{held.company_number}/{held.user_id}", "gateway-renewal")
        pickups.lifecycle.gate.admit(by, "pickup.redeem")
        typed = Login(held.user_id, login.password, "", login.new_password, login.source)
        password = pickups.accounts.authenticate(held.subscriber_id, typed, holder=True)
        if isinstance(key, ServerKey):
            key = ServerKey(password.encode())
        issued = pickups.lifecycle.renew(held.serial, key, by, revoke_old=None)
        serial = issued.certificate.serial or ""
        view = pickups.lifecycle.collect(serial, by)
        return Collected(view, pickups.lifecycle.pem(serial), issued.pkcs12)
