"""Pickup: the mailed link, the credentials, CSR upload or PKCS#12, single use, expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from certsvc.api.app import create_app
from certsvc.storage.models import AuditEvent, Certificate, FeedChange, OutboxMessage, Pickup
from tests.conftest import COMPANY, USER
from tests.integration.api.conftest import PASSWORD, bearer, issue
from tests.integration.api.pickup_helpers import last_link, login
from tests.keys import make_csr


def order_pickup(api, token, **extra):
    body = {"company_number": COMPANY, "user_id": USER, "pickup": True, "ticket": "T-7", **extra}
    answer = api.post("/api/v1/certificates", json=body, headers=bearer(token))
    assert answer.status_code == 202, answer.text
    return answer.json()


def test_issue_without_csr_waits_and_mails_the_subscriber_a_link(api, tokens, services):
    answer = order_pickup(api, tokens["helpdesk"])
    assert answer["pickup"]["action"] == "issue"
    with services.sessions() as session:
        mail = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "pickup.ready"))
        (message,) = mail.all()
    assert message.recipient == "taro@acme.example.jp"
    # neither [http] public_url nor link_base_url: the public address is serve's own
    assert message.payload["link"].startswith("http://127.0.0.1:8080/pickup/")
    assert "link" not in answer["pickup"]  # the secret goes only to the subscriber


def test_subscriber_uploads_a_csr_and_gets_the_certificate(api, tokens, services):
    order_pickup(api, tokens["helpdesk"])
    token = last_link(services)
    page = api.get(f"/api/v1/pickup/{token}").json()
    assert page["key_required"] is True
    assert 1 <= page["challenge_position"] <= 8
    answer = login(api, token, csr=make_csr().decode())
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    certificate = answer.json()["certificate"]
    assert certificate["state"] == "issued"
    assert certificate["awaiting_pickup"] is False
    pem = x509.load_pem_x509_certificate(answer.json()["certificate_pem"].encode())
    assert format(pem.serial_number, "X").zfill(len(certificate["serial"])) == certificate["serial"]


def test_pkcs12_download_is_protected_by_the_subscribers_password(api, tokens, services):
    order_pickup(api, tokens["helpdesk"])
    answer = login(api, last_link(services), pkcs12=True)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/x-pkcs12"
    key, certificate, _chain = pkcs12.load_key_and_certificates(answer.content, PASSWORD.encode())
    assert key is not None
    assert certificate is not None
    assert "CN=taro" in certificate.subject.rfc4514_string()


def test_a_pickup_link_is_single_use(api, tokens, services):
    order_pickup(api, tokens["helpdesk"])
    token = last_link(services)
    assert login(api, token, csr=make_csr().decode()).status_code == 200
    again = api.post(
        f"/api/v1/pickup/{token}",
        json={
            "user_id": USER,
            "password": PASSWORD,
            "challenge": "1234",
            "csr": make_csr().decode(),
        },
    )
    assert again.status_code == 404
    assert again.headers["content-type"] == "application/problem+json"
    assert api.get(f"/api/v1/pickup/{token}").status_code == 404


def test_a_pickup_link_expires_after_the_configured_days(api, tokens, services, clock):
    order_pickup(api, tokens["helpdesk"])
    token = last_link(services)
    clock.advance(timedelta(days=14))
    assert api.get(f"/api/v1/pickup/{token}").status_code == 404


def test_a_failed_issuance_leaves_the_link_usable(api, tokens, services):
    order_pickup(api, tokens["helpdesk"])
    token = last_link(services)
    weak = login(api, token, csr=make_csr("rsa1024").decode())
    assert weak.status_code == 422
    assert "weak key" in weak.json()["detail"]
    assert login(api, token, csr=make_csr().decode()).status_code == 200


def test_an_issued_certificate_waiting_for_pickup_is_downloaded(api, tokens, services):
    certificate = issue(api, tokens["helpdesk"], pickup=True)
    assert certificate["awaiting_pickup"] is True
    token = last_link(services)
    assert api.get(f"/api/v1/pickup/{token}").json()["key_required"] is False
    answer = login(api, token)
    assert answer.status_code == 200, answer.text
    assert answer.json()["certificate"]["serial"] == certificate["serial"]
    assert answer.json()["certificate"]["awaiting_pickup"] is False


def test_first_pickup_of_a_reissue_revokes_the_predecessor(api, tokens, services):
    old = issue(api, tokens["helpdesk"])
    body = {"reason": "pc-change", "revoke_old": "on-pickup", "pickup": True, "ticket": "T-9"}
    ordered = api.post(
        f"/api/v1/certificates/{old['serial']}/reissue",
        json=body,
        headers=bearer(tokens["helpdesk"]),
    )
    assert ordered.status_code == 202, ordered.text
    still = api.get(f"/api/v1/certificates/{old['serial']}", headers=bearer(tokens["helpdesk"]))
    assert still.json()["state"] == "issued"
    answer = login(api, last_link(services), csr=make_csr().decode())
    assert answer.status_code == 200, answer.text
    new = answer.json()["certificate"]
    assert new["replaces"] == old["serial"]
    after = api.get(f"/api/v1/certificates/{old['serial']}", headers=bearer(tokens["helpdesk"]))
    assert after.json()["state"] == "revoked"
    assert after.json()["revocation_reason"] == "superseded"


def test_reissue_with_csr_on_pickup_waits_then_revokes_at_collection(api, tokens, services):
    old = issue(api, tokens["helpdesk"])
    body = {"reason": "pc-change", "csr": make_csr().decode(), "revoke_old": "on-pickup"}
    new = api.post(
        f"/api/v1/certificates/{old['serial']}/reissue", json=body, headers=bearer(tokens["admin"])
    )
    assert new.status_code == 201, new.text
    assert new.json()["awaiting_pickup"] is True
    assert login(api, last_link(services)).status_code == 200
    after = api.get(f"/api/v1/certificates/{old['serial']}", headers=bearer(tokens["admin"]))
    assert after.json()["state"] == "revoked"


def test_user_change_by_pickup_mails_the_new_user(api, tokens, services):
    old = issue(api, tokens["helpdesk"])
    body = {"reason": "user-change", "new_email": "ken@acme.example.jp", "pickup": True}
    ordered = api.post(
        f"/api/v1/certificates/{old['serial']}/reissue",
        json=body,
        headers=bearer(tokens["helpdesk"]),
    )
    assert ordered.status_code == 202, ordered.text
    with services.sessions() as session:
        mail = session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "pickup.ready")
        ).one()
    assert mail.recipient == "ken@acme.example.jp"
    answer = login(api, last_link(services), csr=make_csr().decode())
    assert answer.status_code == 200, answer.text
    assert answer.json()["certificate"]["email"] == "ken@acme.example.jp"
    after = api.get(f"/api/v1/certificates/{old['serial']}", headers=bearer(tokens["helpdesk"]))
    assert after.json()["revocation_reason"] == "affiliationChanged"


def test_a_fresh_link_can_be_sent_for_a_waiting_certificate(api, tokens, services, clock):
    certificate = issue(api, tokens["helpdesk"], pickup=True)
    clock.advance(timedelta(days=15))  # the first link has expired
    answer = api.post(
        f"/api/v1/certificates/{certificate['serial']}/pickup",
        json={"ticket": "T-8"},
        headers=bearer(tokens["helpdesk"]),
    )
    assert answer.status_code == 201, answer.text
    assert login(api, last_link(services)).status_code == 200


@pytest.mark.usefixtures("refused_pickups")
def test_a_pickup_link_that_cannot_be_written_leaves_no_certificate_issued(tokens, services):
    """Issue with pickup is one transaction: the link fails, so the issuance is undone too."""
    api = TestClient(create_app(services), raise_server_exceptions=False)
    body = {"company_number": COMPANY, "user_id": USER, "csr": make_csr().decode(), "pickup": True}
    answer = api.post("/api/v1/certificates", json=body, headers=bearer(tokens["helpdesk"]))
    assert answer.status_code == 500
    with services.sessions() as session:
        for model in (Certificate, Pickup, FeedChange, OutboxMessage):
            assert session.scalar(select(func.count()).select_from(model)) == 0, model
        issued = select(func.count()).where(AuditEvent.action == "certificate.issue")
        assert session.scalar(issued) == 0
