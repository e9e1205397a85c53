"""Every fault switch of the fake CA: the client survives it, or fails right within its deadline."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from certsvc.errors import CAAuthError, CADeadlineExceeded, QuotaExceeded
from certsvc.lifecycle.operations import CsrKey
from certsvc.storage.models import Certificate
from tests.conftest import COMPANY, OPERATOR, USER
from tests.keys import make_csr


def issue(services):
    return services.lifecycle.issue(COMPANY, USER, CsrKey(make_csr()), OPERATOR)


def states(services):
    with services.sessions() as session:
        return sorted(session.scalars(select(Certificate.state)).all())


def test_expired_token_is_renewed_once_after_a_401(gs_services, hvca, clock):
    issued = issue(gs_services)
    hvca.faults.token_lifetime = 60
    clock.advance(timedelta(seconds=61))
    gs_services.adapter.fetch(issued.certificate.serial)
    assert (hvca.seen.logins, hvca.seen.unauthorized) == (2, 1)


def test_token_is_renewed_before_ten_minutes_without_a_401(gs_services, hvca, clock):
    issue(gs_services)
    clock.advance(timedelta(seconds=541))
    issue(gs_services)
    assert (hvca.seen.logins, hvca.seen.unauthorized) == (2, 0)


def test_one_login_at_a_time_across_threads(gs_services, hvca, clock):
    issued = issue(gs_services)
    hvca.faults.token_lifetime = 1
    clock.advance(timedelta(seconds=2))
    errors = []

    def fetch():
        try:
            gs_services.adapter.fetch(issued.certificate.serial)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=fetch) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert hvca.seen.logins == 2


def test_wrong_secret_is_an_auth_error_without_retrying(gs_services, hvca):
    hvca.api_secret, saved = "rotated", hvca.api_secret
    hvca.tokens.clear()
    hvca.seen.requests.clear()
    try:
        with pytest.raises(CAAuthError, match="login refused"):
            gs_services.adapter.trust_chain()
    finally:
        hvca.api_secret = saved
    assert hvca.seen.requests == [("GET", "/trustchain"), ("POST", "/login")]


def test_slow_issuance_is_polled_with_growing_backoff(gs_services, hvca, timer):
    hvca.faults.pending_polls = 4
    assert issue(gs_services).certificate.state == "issued"
    assert timer.sleeps == [1.0, 2.0, 4.0, 8.0]


def test_endless_issuance_fails_at_the_deadline_and_stays_pending(gs_services, hvca, timer):
    hvca.faults.pending_polls = 10**6
    with pytest.raises(CADeadlineExceeded, match="300 s"):
        issue(gs_services)
    assert sum(timer.sleeps) <= 300
    assert states(gs_services) == ["pending"]


def test_rate_limit_honours_retry_after(gs_services, hvca, timer):
    hvca.faults.rate_limited, hvca.faults.retry_after = 2, "3"
    issue(gs_services)
    assert timer.sleeps == [3.0, 3.0]


def test_rate_limit_without_retry_after_backs_off_exponentially_with_jitter(
    gs_services, hvca, timer
):
    hvca.faults.rate_limited = 3
    issue(gs_services)
    first, second, third = timer.sleeps
    assert 0.25 <= first <= 0.5
    assert 0.5 <= second <= 1.0
    assert 1.0 <= third <= 2.0


def test_retry_after_beyond_the_deadline_fails_at_once(gs_services, hvca, timer):
    hvca.faults.rate_limited, hvca.faults.retry_after = 1, "3600"
    with pytest.raises(CADeadlineExceeded):
        gs_services.adapter.trust_chain()
    assert timer.sleeps == []


def test_service_unavailable_is_retried(gs_services, hvca, timer):
    hvca.faults.unavailable = 3
    assert issue(gs_services).certificate.state == "issued"
    assert len(timer.sleeps) == 3


def test_service_unavailable_for_good_fails_within_the_deadline(gs_services, hvca, timer):
    hvca.faults.unavailable = 10**6
    with pytest.raises(CADeadlineExceeded):
        gs_services.adapter.trust_chain()
    assert 0 < sum(timer.sleeps) <= 60


def test_quota_exhausted_is_quota_exceeded_and_leaves_nothing(gs_services, hvca):
    hvca.ca.quota = 0
    with pytest.raises(QuotaExceeded, match="quota"):
        issue(gs_services)
    assert states(gs_services) == []


@pytest.mark.parametrize("offset", [-250, 250])
def test_server_clock_offset_is_followed(gs_services, hvca, offset):
    hvca.faults.clock_offset = offset
    issued = issue(gs_services)
    sent = hvca.seen.posts[-1]["validity"]["not_before"]
    assert abs(sent - int(hvca.now().timestamp())) <= 120
    assert issued.certificate.state == "issued"


@pytest.mark.parametrize("style", ["lower-padded", "absolute"])
def test_location_serials_are_compared_as_integers(gs_services, hvca, style):
    hvca.faults.serial_style = style
    hvca.faults.absolute_location = style == "absolute"
    issued = issue(gs_services)
    assert gs_services.adapter.fetch(issued.certificate.serial).ca_ref == issued.certificate.serial


def test_dropped_answer_after_issuing_is_reconciled_to_exactly_one(gs_services, hvca, clock):
    hvca.faults.drop_after_issue = 1
    with pytest.raises(Exception, match="reconcile"):
        issue(gs_services)
    assert states(gs_services) == ["pending"]
    clock.advance(timedelta(minutes=20))
    result = gs_services.lifecycle.reconcile(OPERATOR)
    assert result.dropped == 0
    assert len(result.issued) == 1
    assert hvca.ca.counter("issued") == 1
    assert states(gs_services) == ["issued"]
    assert gs_services.lifecycle.show(result.issued[0]).user_id == USER
    assert issue(gs_services).certificate.state == "issued"
    assert hvca.ca.counter("issued") == 2
