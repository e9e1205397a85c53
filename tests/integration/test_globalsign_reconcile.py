"""Lost CA answers settled by ``reconcile`` against the fake CA: never twice, as intended."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from structlog.testing import capture_logs

from certsvc.domain.certificates import ReissueReason, RevokeOld
from certsvc.domain.fingerprints import format_serial
from certsvc.domain.policy import RevocationReason
from certsvc.errors import CAUnavailable
from certsvc.lifecycle.operations import CsrKey, ServerKey
from certsvc.storage.models import Certificate, OutboxMessage, PendingRequest
from tests.conftest import COMPANY, OPERATOR, USER
from tests.keys import make_csr

LATER = timedelta(minutes=20)
"""Past ``RECONCILE_AFTER``: the lost call cannot still be in flight."""


def issue(services):
    return services.lifecycle.issue(COMPANY, USER, CsrKey(make_csr()), OPERATOR)


def rows(services):
    """(state, revocation reason) of every stored certificate, oldest first."""
    with services.sessions() as session:
        found = session.execute(
            select(Certificate.state, Certificate.revocation_reason).order_by(Certificate.id)
        ).all()
        return [tuple(row) for row in found]


def intents(services):
    with services.sessions() as session:
        return session.scalar(select(func.count()).select_from(PendingRequest))


def lose_answer(services, hvca, call):
    """Run ``call`` while the fake issues but drops its answer; the row stays pending."""
    hvca.faults.drop_after_issue = 1
    with pytest.raises(CAUnavailable, match="reconcile"):
        call()
    assert rows(services)[-1] == ("pending", None)


def lose_reissue(services, hvca, old, key, reason=ReissueReason.PC_CHANGE, **options):
    """Reissue ``old`` while the fake drops its answer."""
    lifecycle = services.lifecycle
    lose_answer(services, hvca, lambda: lifecycle.reissue(old, reason, key, OPERATOR, **options))


def at_ca(hvca, serial):
    return hvca.ca.get(int(serial, 16))


def newest_at_ca(hvca):
    """The serial of the certificate the fake issued last (its answer may have been lost)."""
    return max(hvca.ca.records.items(), key=lambda item: item[1].issued_at)[0]


def mails_about(services, serial):
    with services.sessions() as session:
        query = select(OutboxMessage.kind).where(OutboxMessage.dedupe_key.contains(serial))
        return sorted(session.scalars(query).all())


def test_lost_reissue_revoking_now_is_linked_and_revokes_the_old_one(gs_services, hvca, clock):
    old = issue(gs_services).certificate.serial
    key = CsrKey(make_csr())
    lose_reissue(gs_services, hvca, old, key, revoke_old=RevokeOld.NOW)
    assert at_ca(hvca, old).status == "ISSUED"  # nothing happened to it yet
    clock.advance(LATER)

    result = gs_services.lifecycle.reconcile(OPERATOR)

    (new,) = result.issued
    assert (result.dropped, result.failed) == (0, [])
    assert hvca.ca.counter("issued") == 2  # the old one and exactly one new one
    assert rows(gs_services) == [("revoked", "superseded"), ("issued", None)]
    assert (at_ca(hvca, old).status, at_ca(hvca, old).reason) == ("REVOKED", "superseded")
    assert gs_services.lifecycle.show(new).replaces == old
    assert gs_services.lifecycle.show(old).superseded_by == new
    assert intents(gs_services) == 0


def test_lost_reissue_revoking_on_pickup_leaves_the_old_one_due(gs_services, hvca, clock):
    old = issue(gs_services).certificate.serial
    key = CsrKey(make_csr())
    lose_reissue(
        gs_services,
        hvca,
        old,
        key,
        ReissueReason.USER_CHANGE,
        revoke_old=RevokeOld.ON_PICKUP,
        new_email="jiro@acme.jp",
    )
    clock.advance(LATER)

    (new,) = gs_services.lifecycle.reconcile(OPERATOR).issued

    assert hvca.ca.counter("issued") == 2
    assert rows(gs_services) == [("issued", None), ("issued", None)]
    assert at_ca(hvca, old).status == "ISSUED"
    shown_old, shown_new = gs_services.lifecycle.show(old), gs_services.lifecycle.show(new)
    assert (shown_old.superseded_by, shown_new.replaces) == (new, old)
    assert shown_new.awaiting_pickup
    grace = timedelta(days=gs_services.settings.reissue.on_pickup_grace_days)
    due = (clock.now() + grace).astimezone(gs_services.settings.zone).isoformat()
    assert shown_old.revoke_old_due_at == due
    assert shown_new.email == "jiro@acme.jp"

    gs_services.lifecycle.collect(new, OPERATOR)  # the pickup revokes the old one
    assert (at_ca(hvca, old).status, at_ca(hvca, old).reason) == ("REVOKED", "affiliationChanged")
    assert rows(gs_services) == [("revoked", "affiliationChanged"), ("issued", None)]


def test_lost_server_made_key_is_recorded_and_revoked_and_the_old_one_stays(
    gs_services, hvca, clock
):
    old = issue(gs_services).certificate.serial
    key = ServerKey(b"correct horse battery")
    lose_reissue(gs_services, hvca, old, key, revoke_old=RevokeOld.NOW)
    clock.advance(LATER)

    (found,) = gs_services.lifecycle.reconcile(OPERATOR).issued

    assert hvca.ca.counter("issued") == 2
    assert (at_ca(hvca, found).status, at_ca(hvca, found).reason) == (
        "REVOKED",
        "cessationOfOperation",
    )
    assert at_ca(hvca, old).status == "ISSUED"
    assert rows(gs_services) == [("issued", None), ("revoked", "cessationOfOperation")]
    shown_old, shown_found = gs_services.lifecycle.show(old), gs_services.lifecycle.show(found)
    assert (shown_old.superseded_by, shown_old.revoke_old_due_at) == (None, None)
    assert shown_found.replaces is None
    assert intents(gs_services) == 0
    assert mails_about(gs_services, found) == []  # the subscriber never had it
    # the old certificate can be reissued again, this time with a key that survives
    again = gs_services.lifecycle.reissue(
        old, ReissueReason.PC_CHANGE, key, OPERATOR, revoke_old=RevokeOld.NOW
    )
    assert again.pkcs12 is not None
    assert gs_services.lifecycle.show(old).state == "revoked"


def test_lost_reissue_settles_although_the_old_one_was_revoked_meanwhile(gs_services, hvca, clock):
    old = issue(gs_services).certificate.serial
    key = CsrKey(make_csr())
    lose_reissue(gs_services, hvca, old, key, revoke_old=RevokeOld.NOW)
    gs_services.lifecycle.revoke(old, RevocationReason.keyCompromise, OPERATOR)
    clock.advance(LATER)

    result = gs_services.lifecycle.reconcile(OPERATOR)

    assert (len(result.issued), result.failed) == (1, [])
    assert rows(gs_services) == [("revoked", "keyCompromise"), ("issued", None)]
    assert at_ca(hvca, old).reason == "keyCompromise"
    assert gs_services.lifecycle.show(result.issued[0]).replaces == old


def test_lost_key_whose_revocation_fails_stays_pending_until_the_next_run(gs_services, hvca, clock):
    lose_answer(
        gs_services,
        hvca,
        lambda: gs_services.lifecycle.issue(COMPANY, USER, ServerKey(b"pkcs12 secret"), OPERATOR),
    )
    found = newest_at_ca(hvca)
    hvca.faults.broken_calls = {("PATCH", found)}
    clock.advance(LATER)

    first = gs_services.lifecycle.reconcile(OPERATOR)

    assert (first.issued, first.dropped) == ([], 0)
    assert [each.request_id for each in first.failed] == [1]
    assert rows(gs_services) == [("pending", None)]  # not recorded valid with a dead key
    hvca.faults.broken_calls = set()
    second = gs_services.lifecycle.reconcile(OPERATOR)
    assert (len(second.issued), second.failed) == (1, [])
    assert rows(gs_services) == [("revoked", "cessationOfOperation")]
    assert hvca.ca.counter("issued") == 1


def test_one_failing_request_does_not_stop_the_others(gs_services, hvca, clock):
    lose_answer(gs_services, hvca, lambda: issue(gs_services))
    broken = newest_at_ca(hvca)
    clock.advance(timedelta(minutes=11))  # outside the second request's search window
    lose_answer(gs_services, hvca, lambda: issue(gs_services))
    healthy = newest_at_ca(hvca)
    hvca.faults.broken_calls = {("GET", broken)}
    clock.advance(LATER)

    with capture_logs() as logs:
        result = gs_services.lifecycle.reconcile(OPERATOR)

    assert result.issued == [format_serial(healthy)]
    ((request, error),) = [(each.request_id, each.error) for each in result.failed]
    assert request == 1
    assert f"internal error on certificate {broken:X}" in error
    assert [
        (entry["event"], entry["request"]) for entry in logs if entry["log_level"] == "warning"
    ] == [("reconcile.failed", 1)]
    assert rows(gs_services) == [("pending", None), ("issued", None)]

    hvca.faults.broken_calls = set()
    again = gs_services.lifecycle.reconcile(OPERATOR)
    assert (again.issued, again.failed) == ([format_serial(broken)], [])
    assert rows(gs_services) == [("issued", None), ("issued", None)]
    assert hvca.ca.counter("issued") == 2
