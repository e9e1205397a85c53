"""Reconcile under the failures a drill found: two lost answers for one key, a stuck
certificate at the CA, a 401 while polling, revocations cut off after the CA acted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

import pytest
from sqlalchemy import select

from ca_adapters.base import CAAdapter, IssuedCertificate
from certsvc.access.idempotency import REQUEST_KEY, request_key_of
from certsvc.domain.fingerprints import format_serial
from certsvc.domain.policy import RevocationReason
from certsvc.errors import CADeadlineExceeded, CAUnavailable, Conflict, StillPending
from certsvc.lifecycle import reconcile, recording
from certsvc.lifecycle.operations import CsrKey
from certsvc.lifecycle.parts import Parts
from certsvc.storage.models import Certificate, JobRun, PendingRevocation
from scheduler.daemon import nightly_parts
from scheduler.jobs import NightlyParts, run_nightly
from tests.conftest import COMPANY, OPERATOR, USER
from tests.integration.test_globalsign_reconcile import LATER, lose_answer, rows
from tests.keys import make_csr


def issue_csr(services, csr):
    return services.lifecycle.issue(COMPANY, USER, CsrKey(csr), OPERATOR)


def stored_serials(services):
    with services.sessions() as session:
        query = select(Certificate.serial).where(Certificate.serial.is_not(None))
        return sorted(serial or "" for serial in session.scalars(query))


def ca_serials(hvca):
    return sorted(format_serial(serial) for serial in hvca.ca.records)


def certificate_gets(hvca):
    return [
        path for method, path in hvca.seen.requests if method == "GET" and "/certificates/" in path
    ]


@pytest.fixture
def older_certsvc(monkeypatch):
    """A certsvc from before the pending-key refusal: it sent a second request for a key
    whose first answer was lost, so such databases hold two pending rows for one key."""
    monkeypatch.setattr(recording, "refuse_pending_key", lambda *_args: None)


def test_a_second_request_for_a_pending_key_is_refused(gs_services, hvca, clock):
    csr = make_csr()
    lose_answer(gs_services, hvca, lambda: issue_csr(gs_services, csr))

    with pytest.raises(Conflict, match=r"still pending.*certsvc reconcile"):
        issue_csr(gs_services, csr)  # a retry with a new Idempotency-Key, say

    clock.advance(LATER)
    assert len(gs_services.lifecycle.reconcile(OPERATOR).issued) == 1
    assert len(hvca.ca.records) == 1  # one certificate at the CA: nothing doubled
    issue_csr(gs_services, csr)  # settled: the key may be certified again (a renewal)


@pytest.mark.usefixtures("older_certsvc")
def test_two_lost_answers_for_one_key_become_two_certificates(gs_services, hvca, clock):
    csr = make_csr()
    lose_answer(gs_services, hvca, lambda: issue_csr(gs_services, csr))
    lose_answer(gs_services, hvca, lambda: issue_csr(gs_services, csr))
    clock.advance(LATER)

    result = gs_services.lifecycle.reconcile(OPERATOR)

    assert (len(set(result.issued)), result.dropped, result.failed) == (2, 0, [])
    assert stored_serials(gs_services) == ca_serials(hvca)  # the CA and certsvc agree
    assert rows(gs_services) == [("issued", None), ("issued", None)]


@dataclass
class ForgetfulCA:
    """An adapter that ignores what certsvc already recorded (as an older adapter would):
    every request for one key is answered with the same certificate."""

    inner: CAAdapter

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def find_issued(
        self, key: str, since: datetime, until: datetime, known: frozenset[str] = frozenset()
    ) -> IssuedCertificate | None:
        return self.inner.find_issued(key, since, until)


@pytest.mark.usefixtures("older_certsvc")
def test_a_clash_is_reported_and_skipped_and_the_other_rows_settle(gs_services, hvca, clock):
    csr = make_csr()
    lose_answer(gs_services, hvca, lambda: issue_csr(gs_services, csr))
    hvca.faults.unavailable = 10**6  # the second POST for that key never reaches the CA
    with pytest.raises(CAUnavailable):
        issue_csr(gs_services, csr)
    hvca.faults.unavailable = 0
    lose_answer(gs_services, hvca, lambda: issue_csr(gs_services, make_csr()))
    clock.advance(LATER)
    services = gs_services
    forgetful = cast(CAAdapter, ForgetfulCA(services.adapter))
    parts = Parts(services.sessions, forgetful, clock, services.settings)

    result = reconcile.reconcile(parts, OPERATOR)

    assert len(result.issued) == 2
    ((request, error),) = [(each.request_id, each.error) for each in result.failed]
    assert request == 2
    assert "clashes with a stored certificate" in error
    assert [state for state, _ in rows(services)] == ["issued", "pending", "issued"]


def test_the_nightly_run_goes_on_whatever_reconcile_raises(gs_services, hvca, clock, monkeypatch):
    lose_answer(gs_services, hvca, lambda: issue_csr(gs_services, make_csr()))
    clock.advance(LATER)

    def broken(*_args: object) -> None:
        raise RuntimeError("reconcile bug")

    monkeypatch.setattr(reconcile, "reconcile", broken)
    parts: NightlyParts = nightly_parts(gs_services)

    report = run_nightly(parts)

    assert report.errors == ["reconcile: reconcile bug"]
    assert report.drain is not None  # the drain ran after it
    with gs_services.sessions() as session:
        (run,) = session.scalars(select(JobRun)).all()
    assert run.counts["errors"] == ["reconcile: reconcile bug"]  # recorded with the date


def test_one_stuck_certificate_does_not_block_the_others(gs_services, hvca, clock):
    hvca.faults.pending_polls = 10**6  # this one stays "in progress" at the CA
    with pytest.raises(CADeadlineExceeded):
        issue_csr(gs_services, make_csr())
    stuck = max(hvca.ca.records)
    hvca.ca.records[stuck].polls_left = 10**6
    hvca.faults.pending_polls = 0
    lose_answer(gs_services, hvca, lambda: issue_csr(gs_services, make_csr()))
    clock.advance(LATER)

    result = gs_services.lifecycle.reconcile(OPERATOR)

    assert len(result.issued) == 1
    ((request, error),) = [(each.request_id, each.error) for each in result.failed]
    assert request == 1
    assert f"{stuck:X}" in error
    assert [state for state, _ in rows(gs_services)] == ["pending", "issued"]


def test_reconcile_fetches_no_certificate_that_cannot_match(gs_services, hvca, clock):
    recorded = [issue_csr(gs_services, make_csr()) for _ in range(3)]
    lose_answer(gs_services, hvca, lambda: issue_csr(gs_services, make_csr()))
    clock.advance(LATER)
    before = len(certificate_gets(hvca))

    (found,) = gs_services.lifecycle.reconcile(OPERATOR).issued

    assert found not in {each.certificate.serial for each in recorded}
    assert len(certificate_gets(hvca)) - before == 1  # only the lost one was fetched


def test_a_401_while_polling_keeps_the_accepted_request_pending(gs_services, hvca, clock):
    hvca.faults.unauthorized_polls = 2  # refused, logged in again, refused again
    with pytest.raises(CAUnavailable, match="accepted but polling failed"):
        issue_csr(gs_services, make_csr())
    assert rows(gs_services) == [("pending", None)]
    clock.advance(LATER)

    (found,) = gs_services.lifecycle.reconcile(OPERATOR).issued

    assert stored_serials(gs_services) == ca_serials(hvca) == [found]


def test_a_failed_login_leaves_no_pending_row(gs_services, hvca, clock):
    clock.advance(timedelta(minutes=11))  # the cached token has lapsed
    with hvca.unavailable(), pytest.raises(CAUnavailable, match="nothing was posted"):
        issue_csr(gs_services, make_csr())
    assert rows(gs_services) == []
    assert hvca.seen.posts == []


def test_a_stale_clock_offset_is_refreshed_on_a_skew_refusal(gs_services, hvca):
    issue_csr(gs_services, make_csr())  # offset learnt: 0
    hvca.faults.clock_offset = 900  # the CA's clock jumps 15 minutes ahead

    issued = issue_csr(gs_services, make_csr())

    assert issued.certificate.state == "issued"
    assert len(hvca.seen.posts) == 2  # the refused POST issued nothing


def test_retry_after_beyond_the_deadline_says_so(gs_services, hvca, timer):
    hvca.faults.rate_limited, hvca.faults.retry_after = 1, "3600"
    with pytest.raises(CADeadlineExceeded, match=r"retry after 3600 s \(Retry-After\)"):
        gs_services.adapter.trust_chain()
    assert timer.sleeps == []


def intents(services):
    with services.sessions() as session:
        return len(session.scalars(select(PendingRevocation)).all())


def test_a_revocation_whose_answer_was_lost_is_completed_by_reconcile(gs_services, hvca, clock):
    serial = issue_csr(gs_services, make_csr()).certificate.serial
    hvca.faults.drop_after_revoke = 1
    with pytest.raises(CAUnavailable):
        gs_services.lifecycle.revoke(serial, RevocationReason.keyCompromise, OPERATOR)
    assert gs_services.lifecycle.show(serial).state == "issued"
    assert intents(gs_services) == 1
    hvca.faults.unavailable = 0
    clock.advance(LATER)

    result = gs_services.lifecycle.reconcile(OPERATOR)

    assert result.revoked == [serial]
    shown = gs_services.lifecycle.show(serial)
    assert (shown.state, shown.revocation_reason) == ("revoked", "keyCompromise")
    assert hvca.ca.get(int(serial, 16)).reason == "keyCompromise"
    assert intents(gs_services) == 0


def test_a_revocation_made_at_the_ca_reaches_certsvc_from_its_crl(gs_services, hvca, clock):
    serial = issue_csr(gs_services, make_csr()).certificate.serial
    kept = issue_csr(gs_services, make_csr()).certificate.serial
    hvca.ca.revoke(int(serial, 16), "keyCompromise", clock.now())  # the CA's portal
    gs_services.crls.mirror().refresh(gs_services.adapter.revocation_source())

    result = gs_services.lifecycle.reconcile(OPERATOR)

    assert result.revoked == [serial]
    shown = gs_services.lifecycle.show(serial)
    assert (shown.state, shown.revocation_reason) == ("revoked", "keyCompromise")
    assert gs_services.lifecycle.show(kept).state == "issued"


def test_a_request_run_again_after_its_answer_was_lost_waits_for_reconcile(
    gs_services, hvca, clock
):
    """An Idempotency-Key retried after a crash runs under the same name: it finds the
    first run's pending row instead of asking the CA a second time."""
    csr, name = make_csr(), request_key_of("caller", "key-1")
    named = REQUEST_KEY.set(name)
    try:
        lose_answer(gs_services, hvca, lambda: issue_csr(gs_services, csr))
        with pytest.raises(StillPending, match=r"still pending.*reconcile"):
            issue_csr(gs_services, csr)
        clock.advance(LATER)
        (serial,) = gs_services.lifecycle.reconcile(OPERATOR).issued
        with pytest.raises(Conflict, match=f"already done: certificate {serial}"):
            issue_csr(gs_services, csr)
    finally:
        REQUEST_KEY.reset(named)
    assert len(hvca.ca.records) == 1
