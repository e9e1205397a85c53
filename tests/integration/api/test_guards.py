"""What every request passes: the maintenance window, the body cap, idempotent POSTs,
unknown fields and routes, and serials that are not serials."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from certsvc.access.idempotency import LEASE, REQUEST_KEY, request_key_of
from certsvc.errors import StillPending
from certsvc.lifecycle.operations import CsrKey
from certsvc.storage.models import Certificate, OutboxMessage
from tests.conftest import COMPANY, OPERATOR, USER
from tests.integration.api.conftest import bearer, issue
from tests.keys import make_csr
from tests.timestamps import maintenance_closes, maintenance_opens


def certificate_count(services) -> int:
    with services.sessions() as session:
        return session.scalar(select(func.count(Certificate.id)))


def issue_body(**extra):
    return {"company_number": COMPANY, "user_id": USER, "csr": make_csr().decode(), **extra}


# -- maintenance ------------------------------------------------------------------------


def test_changes_get_503_with_retry_after_during_maintenance(api, tokens, services, clock):
    serial = issue(api, tokens["helpdesk"])["serial"]
    clock.set(maintenance_opens + timedelta(hours=2))
    answer = api.post("/api/v1/certificates", json=issue_body(), headers=bearer(tokens["admin"]))
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["retry-after"] == "Sat, 28 Nov 2026 23:00:00 GMT"  # 08:00 JST
    assert answer.json()["title"] == "maintenance"
    assert "maintenance" in answer.json()["detail"]
    revoke = api.post(
        f"/api/v1/certificates/{serial}/revoke",
        json={"reason": "keyCompromise"},
        headers=bearer(tokens["admin"]),
    )
    assert revoke.status_code == 503
    assert certificate_count(services) == 1


def test_reads_and_the_gateway_feed_keep_working_during_maintenance(api, tokens, services, clock):
    serial = issue(api, tokens["helpdesk"])["serial"]
    clock.set(maintenance_opens + timedelta(hours=2))
    assert api.get("/crl/issuing.crl").status_code == 200
    assert api.head("/crl/issuing.crl").status_code == 200
    services.gateway.poll_once()  # what the serving loop does
    allowlist = api.get("/gateway/allowlist", headers=bearer(tokens["gateway"]))
    assert allowlist.status_code == 200
    assert serial in allowlist.text
    ocsp = api.post(
        "/ocsp", content=b"not DER", headers={"Content-Type": "application/ocsp-request"}
    )
    assert ocsp.status_code != 503  # an OCSP POST is a read of the feed
    shown = api.get(f"/api/v1/certificates/{serial}", headers=bearer(tokens["helpdesk"]))
    assert shown.status_code == 200
    assert api.get("/api/v1/audit", headers=bearer(tokens["admin"])).status_code == 200
    assert api.get("/healthz").status_code == 200


def test_changes_work_again_when_the_window_closes(api, tokens, clock):
    clock.set(maintenance_closes)
    answer = api.post("/api/v1/certificates", json=issue_body(), headers=bearer(tokens["admin"]))
    assert answer.status_code == 201


def test_pickup_is_a_change_and_waits_for_the_window_to_close(api, clock):
    clock.set(maintenance_opens)
    answer = api.post(
        "/api/v1/pickup/reset",
        json={"company_number": COMPANY, "user_id": USER, "email": "taro@acme.example.jp"},
    )
    assert answer.status_code == 503


# -- idempotency ------------------------------------------------------------------------


def test_same_key_and_body_return_the_first_answer(api, tokens, services):
    body = issue_body(ticket="T-1")
    headers = {**bearer(tokens["helpdesk"]), "Idempotency-Key": "issue-taro-1"}
    first = api.post("/api/v1/certificates", json=body, headers=headers)
    second = api.post("/api/v1/certificates", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert certificate_count(services) == 1


def test_same_key_with_another_body_is_422(api, tokens, services):
    headers = {**bearer(tokens["helpdesk"]), "Idempotency-Key": "issue-taro-1"}
    api.post("/api/v1/certificates", json=issue_body(), headers=headers)
    other = api.post("/api/v1/certificates", json=issue_body(), headers=headers)
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    assert "different request" in other.json()["detail"]
    assert certificate_count(services) == 1


def test_keys_belong_to_their_caller(api, tokens, services):
    body = issue_body()
    for role in ("helpdesk", "admin"):
        headers = {**bearer(tokens[role]), "Idempotency-Key": "same-key"}
        assert api.post("/api/v1/certificates", json=body, headers=headers).status_code == 201
    assert certificate_count(services) == 2


def test_a_refused_request_is_replayed_as_refused(api, tokens, services):
    serial = issue(api, tokens["helpdesk"])["serial"]
    api.post(
        f"/api/v1/certificates/{serial}/revoke",
        json={"reason": "keyCompromise"},
        headers=bearer(tokens["helpdesk"]),
    )
    headers = {**bearer(tokens["helpdesk"]), "Idempotency-Key": "revoke-again"}
    body = {"reason": "keyCompromise"}
    first = api.post(f"/api/v1/certificates/{serial}/revoke", json=body, headers=headers)
    second = api.post(f"/api/v1/certificates/{serial}/revoke", json=body, headers=headers)
    assert first.status_code == second.status_code == 409
    assert first.json() == second.json()


def test_a_replayed_reset_answers_again_and_mails_once(api, tokens, services):
    url = f"/api/v1/tenants/{COMPANY}/subscribers/{USER}/credentials/reset"
    headers = {**bearer(tokens["admin"]), "Idempotency-Key": "reset-1"}
    first = api.post(url, json={}, headers=headers)
    assert first.status_code == 201
    again = api.post(url, json={}, headers=headers)
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    with services.sessions() as session:
        mails = session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "credentials.reset")
        ).all()
    assert len(mails) == 1


def test_a_request_refused_in_maintenance_may_be_retried_with_its_key(api, tokens, clock):
    headers = {**bearer(tokens["helpdesk"]), "Idempotency-Key": "after-the-window"}
    body = issue_body()
    clock.set(maintenance_opens)
    assert api.post("/api/v1/certificates", json=body, headers=headers).status_code == 503
    clock.set(maintenance_closes)
    assert api.post("/api/v1/certificates", json=body, headers=headers).status_code == 201


def test_an_overlong_idempotency_key_is_refused(api, tokens):
    headers = {**bearer(tokens["helpdesk"]), "Idempotency-Key": "k" * 256}
    answer = api.post("/api/v1/certificates", json=issue_body(), headers=headers)
    assert answer.status_code == 422


# -- limits on bad input ----------------------------------------------------------------


def test_a_body_over_the_cap_is_413_and_nothing_is_written(api, tokens, services):
    body = issue_body(ticket="x" * (64 * 1024))
    answer = api.post("/api/v1/certificates", json=body, headers=bearer(tokens["admin"]))
    assert answer.status_code == 413
    assert answer.headers["content-type"] == "application/problem+json"
    assert certificate_count(services) == 0


def test_unknown_fields_are_refused(api, tokens, services):
    body = issue_body(validity_years=10)
    answer = api.post("/api/v1/certificates", json=body, headers=bearer(tokens["admin"]))
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert "validity_years" in answer.json()["detail"]
    assert certificate_count(services) == 0


def test_overlong_fields_are_refused(api, tokens):
    body = issue_body(ticket="t" * 129)
    answer = api.post("/api/v1/certificates", json=body, headers=bearer(tokens["admin"]))
    assert answer.status_code == 422
    assert "ticket" in answer.json()["detail"]


def test_an_oversized_csr_is_refused(api, tokens):
    body = issue_body(csr="A" * (16 * 1024 + 1))
    answer = api.post("/api/v1/certificates", json=body, headers=bearer(tokens["admin"]))
    assert answer.status_code == 422
    assert "csr" in answer.json()["detail"]


def test_nul_characters_are_bad_input_not_a_database_error(api, tokens, services):
    # Found by the schemathesis run on PostgreSQL, whose text fields cannot hold NUL.
    reset = {"company_number": "0", "user_id": "\u0000", "email": "a@b.example"}
    answer = api.post("/api/v1/pickup/reset", json=reset)
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert "NUL" in answer.text
    search = api.get("/api/v1/certificates?q=%00", headers=bearer(tokens["admin"]))
    assert search.status_code == 422
    assert search.json()["detail"] == "NUL characters are not allowed in a request"
    answer = api.post(
        "/api/v1/certificates", json=issue_body(ticket="T\u0000"), headers=bearer(tokens["admin"])
    )
    assert answer.status_code == 422
    assert certificate_count(services) == 0


def test_a_serial_that_is_not_one_is_422(api, tokens):
    for bad in ("not-hex", "00", "F" * 60):
        answer = api.get(f"/api/v1/certificates/{bad}", headers=bearer(tokens["admin"]))
        assert answer.status_code == 422, bad
        assert answer.json()["field"] == "serial"


def test_unknown_routes_and_methods_are_problem_json(api, tokens):
    missing = api.get("/api/v1/nothing-here", headers=bearer(tokens["admin"]))
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    wrong = api.delete("/api/v1/certificates", headers=bearer(tokens["admin"]))
    assert wrong.status_code == 405
    assert wrong.json()["status"] == 405


def test_invalid_json_is_a_problem(api, tokens):
    answer = api.post(
        "/api/v1/certificates",
        content=b"{not json",
        headers={**bearer(tokens["admin"]), "Content-Type": "application/json"},
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"


def test_openapi_and_docs_are_served(api):
    schema = api.get("/openapi.json").json()
    assert "/api/v1/certificates/{serial}/reissue" in schema["paths"]
    assert api.get("/docs").status_code == 200


# -- leases: a request cut off by a crash -------------------------------------------------


def crashed_request(services, token: str, key: str, body: bytes) -> str:
    """What a process killed mid-request leaves: the key taken "in progress"; the name its
    certificate request carried."""
    scope = hashlib.sha256(token.encode()).hexdigest()
    digest = services.idempotency.request_hash("POST", "/api/v1/certificates", body)
    assert services.idempotency.begin(scope, key, digest) is None
    return request_key_of(scope, key)


def post_raw(api, token: str, key: str, body: bytes):
    headers = {**bearer(token), "Idempotency-Key": key, "Content-Type": "application/json"}
    return api.post("/api/v1/certificates", content=body, headers=headers)


def test_a_key_cut_off_before_anything_was_done_runs_again_once_its_lease_lapses(
    api, tokens, services, clock
):
    body = json.dumps(issue_body()).encode()
    crashed_request(services, tokens["helpdesk"], "cut-off-1", body)

    early = post_raw(api, tokens["helpdesk"], "cut-off-1", body)
    assert early.status_code == 409
    assert early.headers["content-type"] == "application/problem+json"
    assert 0 < int(early.headers["retry-after"]) <= LEASE.total_seconds() + 1
    assert certificate_count(services) == 0

    clock.advance(LEASE + timedelta(seconds=1))
    retried = post_raw(api, tokens["helpdesk"], "cut-off-1", body)
    assert retried.status_code == 201, retried.text
    again = post_raw(api, tokens["helpdesk"], "cut-off-1", body)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == retried.json()
    assert certificate_count(services) == 1


def test_a_key_cut_off_after_its_certificate_was_recorded_is_not_run_twice(
    api, tokens, services, clock
):
    body = json.dumps(issue_body()).encode()
    name = crashed_request(services, tokens["helpdesk"], "cut-off-2", body)
    named = REQUEST_KEY.set(name)  # the killed process got as far as recording it
    try:
        first = services.lifecycle.issue(
            COMPANY, USER, CsrKey(json.loads(body)["csr"].encode()), OPERATOR
        )
    finally:
        REQUEST_KEY.reset(named)

    clock.advance(LEASE + timedelta(seconds=1))
    retried = post_raw(api, tokens["helpdesk"], "cut-off-2", body)

    assert retried.status_code == 409
    assert first.certificate.serial in retried.json()["detail"]
    assert certificate_count(services) == 1  # nothing doubled


def test_two_retries_after_the_lease_lapses_run_the_request_once(api, tokens, services, clock):
    body = json.dumps(issue_body()).encode()
    crashed_request(services, tokens["helpdesk"], "cut-off-3", body)
    clock.advance(LEASE + timedelta(seconds=1))
    scope = hashlib.sha256(tokens["helpdesk"].encode()).hexdigest()
    digest = services.idempotency.request_hash("POST", "/api/v1/certificates", body)

    assert services.idempotency.begin(scope, "cut-off-3", digest) is None  # took it over
    with pytest.raises(StillPending):  # the other retry sees a fresh lease
        services.idempotency.begin(scope, "cut-off-3", digest)
