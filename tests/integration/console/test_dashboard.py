"""The expiry dashboard's figures, checked against counts made here in plain SQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from certsvc.access.accounts import Login
from certsvc.directory import NewSubscriber
from certsvc.domain.policy import RevocationReason
from certsvc.errors import AuthenticationFailed
from certsvc.lifecycle.operations import CsrKey
from certsvc.storage.dashboard import dashboard
from certsvc.storage.models import OutboxMessage, Pickup
from tests import timestamps
from tests.conftest import COMPANY, OPERATOR
from tests.integration.console.conftest import OTHER
from tests.keys import make_csr

# Issued this many days after timestamps.issued: expiring 4, 24, 54 and 104 days after
# "today" (timestamps.expiry_date - 4 days); the last one was revoked.
OFFSETS = ((COMPANY, "a", 0), (COMPANY, "b", 20), (OTHER, "c", 50), (OTHER, "d", 100))


@pytest.fixture
def today():
    return timestamps.expiry_date - timedelta(days=4)


@pytest.fixture
def world(services, tenants, clock, today):
    for company, user, days in OFFSETS:
        services.directory.add_subscriber(
            NewSubscriber(company, user, f"{user}@x.example.jp", user), OPERATOR
        )
        clock.set(timestamps.issued + timedelta(days=days))
        services.lifecycle.issue(company, user, CsrKey(make_csr()), OPERATOR)
    clock.set(timestamps.issued + timedelta(days=101))
    extra = services.lifecycle.issue(COMPANY, "a", CsrKey(make_csr()), OPERATOR).certificate
    services.lifecycle.revoke(extra.serial, RevocationReason.keyCompromise, OPERATOR)
    now = timestamps.expiry_evening - timedelta(days=4)
    clock.set(now)
    services.accounts.set(COMPANY, "a", "pick-Up-77", "12345678", OPERATOR)
    with services.sessions() as session:
        subscriber_a = session.execute(
            text("SELECT id FROM subscribers WHERE user_id='a'")
        ).scalar_one()
        subscriber_c = session.execute(
            text("SELECT id FROM subscribers WHERE user_id='c'")
        ).scalar_one()
    for _ in range(3):
        with pytest.raises(AuthenticationFailed):
            services.accounts.authenticate(subscriber_a, Login("a", "wrong-Pass-1", "0000"))
    with services.sessions() as session, session.begin():
        for n, (subscriber, expires, used) in enumerate(
            (
                (subscriber_a, 1, False),
                (subscriber_c, 2, False),
                (subscriber_c, 3, True),
                (subscriber_c, -1, False),
            )
        ):
            session.add(
                Pickup(
                    token_sha256=f"{n:064d}",
                    subscriber_id=subscriber,
                    action="issue",
                    actor="test",
                    created_at=now - timedelta(days=1),
                    expires_at=now + timedelta(days=expires),
                    used_at=now if used else None,
                )
            )
        mails: list[tuple[str | None, str]] = [
            (OTHER, "failed"), (OTHER, "failed"), (COMPANY, "sent"), (None, "failed")
        ]  # fmt: skip
        for n, (named, status) in enumerate(mails):
            session.add(
                OutboxMessage(
                    channel="mail",
                    kind="test",
                    dedupe_key=f"dash:{n}",
                    recipient="x@x.example.jp",
                    payload={"company_number": named} if named else {},
                    status=status,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
    return now


def sql_count(services, query, **params):
    with services.engine.connect() as connection:
        return connection.execute(text(query), params).scalar_one()


def test_the_figures_equal_counts_made_in_sql(services, world, today):
    with services.sessions() as session:
        board = dashboard(session, today, world)
    lines = {line.company_number: line for line in board.tenants}
    assert set(lines) == {COMPANY, OTHER}
    for company, line in lines.items():
        for days, figure in ((7, line.expiring_7), (30, line.expiring_30), (60, line.expiring_60)):
            expected = sql_count(
                services,
                "SELECT count(*) FROM certificates c JOIN subscribers s ON c.subscriber_id = s.id"
                " JOIN tenants t ON s.tenant_id = t.id WHERE t.company_number = :company"
                " AND c.state = 'issued' AND c.expiry_date BETWEEN :today AND :last",
                company=company, today=today, last=today + timedelta(days=days),
            )  # fmt: skip
            assert figure == expected
    assert (lines[COMPANY].expiring_7, lines[COMPANY].expiring_30, lines[COMPANY].expiring_60) == (
        1,
        2,
        2,
    )
    assert (lines[OTHER].expiring_7, lines[OTHER].expiring_30, lines[OTHER].expiring_60) == (
        0,
        0,
        1,
    )
    assert (lines[COMPANY].pickups_waiting, lines[OTHER].pickups_waiting) == (1, 1)
    assert (lines[COMPANY].failed_mails, lines[OTHER].failed_mails) == (0, 2)
    assert (lines[COMPANY].locked_subscribers, lines[OTHER].locked_subscribers) == (1, 0)
    assert lines[OTHER].company_name == "Beta 100% Corp"
    assert board.totals.expiring_60 == 3
    assert board.totals.locked_subscribers == sql_count(
        services, "SELECT count(*) FROM credentials WHERE locked_until IS NOT NULL"
    )


def test_a_tenant_admin_sees_its_own_line_only(services, world, today):
    with services.sessions() as session:
        board = dashboard(session, today, world, scope=OTHER)
    (line,) = board.tenants
    assert line.company_number == OTHER
    assert board.totals.failed_mails == 2
    assert board.totals.locked_subscribers == 0


def test_a_lock_that_lifted_and_a_quiet_day_count_nothing(services, world, today):
    with services.sessions() as session:
        board = dashboard(session, today + timedelta(days=200), world + timedelta(days=200))
    assert board.totals.expiring_60 == 0
    assert board.totals.locked_subscribers == 0
    assert board.totals.pickups_waiting == 0
    assert board.totals.failed_mails == 2
