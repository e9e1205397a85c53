"""Nobody is locked out in silence: a renewal that is never collected does not stop the
reminders, and each one names the waiting successor with a fresh pickup link."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import select

from certsvc.access.accounts import Login
from certsvc.access.credentials import challenge_answer
from certsvc.audit import Actor
from certsvc.errors import NotFound
from certsvc.lifecycle.operations import CsrKey
from certsvc.lifecycle.orders import Handover
from certsvc.lifecycle.pickup import Deferred
from certsvc.storage.models import AuditEvent, OutboxMessage, Pickup
from scheduler.daemon import nightly_parts
from scheduler.jobs import run_nightly
from tests.conftest import OPERATOR, USER
from tests.keys import make_csr
from tests.timestamps import JST, expiry_date

THRESHOLDS = (60, 30, 14, 7, 1)


def night_of(days_before: int) -> datetime:
    return datetime.combine(expiry_date - timedelta(days=days_before), time(0, 5), tzinfo=JST)


def reminders(services, serial):
    with services.sessions() as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "certificate.reminder")
            .order_by(OutboxMessage.id)
        ).all()
        return [dict(row.payload) for row in rows if row.payload["serial"] == serial]


def test_a_renewal_never_collected_is_reminded_at_each_threshold_until_expiry(
    services, subscriber, clock
):
    services.accounts.set(*subscriber, "Sakura-2026", "12345678", OPERATOR)
    old = services.lifecycle.issue(*subscriber, CsrKey(make_csr()), OPERATOR)
    clock.set(night_of(90))
    renewal = services.lifecycle.renew(
        old.certificate.serial,
        CsrKey(make_csr()),
        OPERATOR,
        handover=Handover(awaiting_pickup=True, mail_link=True),
    )
    new_serial = renewal.certificate.serial
    for days in THRESHOLDS:  # the renewal's own link expired after 14 days long ago
        clock.set(night_of(days))
        run_nightly(nightly_parts(services), drain=False)
        sent = reminders(services, old.certificate.serial)
        assert [payload["days_before"] for payload in sent] == list(THRESHOLDS[: len(sent)])
        latest = sent[-1]
        assert latest["days_before"] == days
        assert latest["successor_serial"] == new_serial
        mail = services.mail_renderer.render("certificate.reminder", latest, clock.now())
        assert latest["link"] in mail.text
        assert f"新しい証明書（シリアル番号 {new_serial}）はまだ受け取られていません" in mail.text
        token = latest["link"].rsplit("/", 1)[1]
        assert services.pickups.show(token).action == "collect"  # the link works now
    with services.sessions() as session:
        links = session.scalars(select(Pickup).where(Pickup.certificate_id.is_not(None))).all()
    assert len(links) == 1 + len(THRESHOLDS)  # the renewal's, then one per reminder


def test_a_collected_successor_ends_the_reminders(services, subscriber, clock):
    old = services.lifecycle.issue(*subscriber, CsrKey(make_csr()), OPERATOR)
    clock.set(night_of(40))
    renewal = services.lifecycle.renew(
        old.certificate.serial, CsrKey(make_csr()), OPERATOR, handover=Handover(True, True)
    )
    clock.set(night_of(30))
    run_nightly(nightly_parts(services), drain=False)
    assert len(reminders(services, old.certificate.serial)) == 1
    services.lifecycle.collect(renewal.certificate.serial, OPERATOR)
    clock.set(night_of(14))
    run_nightly(nightly_parts(services), drain=False)
    assert len(reminders(services, old.certificate.serial)) == 1  # none after collection


def test_a_renewal_waiting_for_the_key_is_reminded_with_a_fresh_link_to_it(
    services, subscriber, clock
):
    services.accounts.set(*subscriber, "Sakura-2026", "12345678", OPERATOR)
    old = services.lifecycle.issue(*subscriber, CsrKey(make_csr()), OPERATOR)
    serial = old.certificate.serial or ""
    clock.set(night_of(90))
    ordered = Actor("api:helpdesk-1", "INC-77")
    services.pickups.defer(*subscriber, Deferred("renew", serial), ordered)
    tokens: list[str] = []
    for days in THRESHOLDS:  # the order's own link expired after 14 days long ago
        clock.set(night_of(days))
        run_nightly(nightly_parts(services), drain=False)
        latest = reminders(services, serial)[-1]
        assert (latest["days_before"], latest["waiting_action"]) == (days, "renew")
        assert "renewal_link" not in latest  # one way forward: the order itself
        mail = services.mail_renderer.render("certificate.reminder", latest, clock.now())
        assert latest["link"] in mail.text
        assert "この証明書の更新の手続きが、お客様の受け取りをお待ちしています" in mail.text
        tokens.append(latest["link"].rsplit("/", 1)[1])
        assert services.pickups.show(tokens[-1]).action == "renew"
        if len(tokens) > 1:  # the previous reminder's link stopped working
            with pytest.raises(NotFound):
                services.pickups.show(tokens[-2])
    services.accounts.set(*subscriber, "Sakura-2028", "12345678", OPERATOR)
    position = services.pickups.show(tokens[-1]).challenge_position
    login = Login(USER, "Sakura-2028", challenge_answer("12345678", position))
    collected = services.pickups.redeem(tokens[-1], login, CsrKey(make_csr()))
    assert collected.certificate.replaces == serial
    with services.sessions() as session:
        renewal = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "certificate.renew")
        ).one()
    assert (renewal.actor, renewal.ticket) == ("api:helpdesk-1", "INC-77")  # the order's
