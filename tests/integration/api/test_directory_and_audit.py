"""Tenants, subscribers and the audit trail over HTTP: who did what, under which ticket."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from certsvc.storage.models import OutboxMessage
from tests.conftest import COMPANY, USER
from tests.integration.api.conftest import bearer, issue
from tests.keys import make_csr

SUBSCRIBERS = f"/api/v1/tenants/{COMPANY}/subscribers"


def mails(services, kind):
    with services.sessions() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)).all()
        return {row.recipient: row.payload for row in rows}


def test_changing_the_administrator_informs_old_and_new_address(api, tokens, services):
    body = {"name": "Ken Ito", "email": "ken@acme.example.jp", "ticket": "T-21"}
    answer = api.post(
        f"/api/v1/tenants/{COMPANY}/administrator", json=body, headers=bearer(tokens["admin"])
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["admin_email"] == "ken@acme.example.jp"
    sent = mails(services, "tenant.admin_changed")
    assert set(sent) == {"admin@acme.example.jp", "ken@acme.example.jp"}
    assert sent["admin@acme.example.jp"]["recipient_role"] == "old"
    assert sent["ken@acme.example.jp"]["old_name"] == "Hanako Sato"
    (event,) = api.get("/api/v1/audit?ticket=T-21", headers=bearer(tokens["admin"])).json()
    assert event["action"] == "tenant.change_administrator"
    assert event["actor"] == "api:admin-1"
    assert event["before"] == {"admin_name": "Hanako Sato", "admin_email": "admin@acme.example.jp"}
    assert event["after"] == {"admin_name": "Ken Ito", "admin_email": "ken@acme.example.jp"}


def test_create_tenant_and_subscribers_then_list_them(api, tokens):
    tenant = {"company_number": "3003", "name": "Gamma KK", "admin_email": "a@gamma.example.jp"}
    created = api.post("/api/v1/tenants", json=tenant, headers=bearer(tokens["admin"]))
    assert created.status_code == 201
    assert created.json()["subscribers"] == 0
    twice = api.post("/api/v1/tenants", json=tenant, headers=bearer(tokens["admin"]))
    assert twice.status_code == 409
    url = "/api/v1/tenants/3003/subscribers"
    for user in ("aki", "yuki"):
        body = {"user_id": user, "email": f"{user}@gamma.example.jp", "needs_certificate": False}
        assert api.post(url, json=body, headers=bearer(tokens["helpdesk"])).status_code == 201
    listed = api.get(url, headers=bearer(tokens["helpdesk"])).json()
    assert [item["user_id"] for item in listed] == ["aki", "yuki"]
    assert listed[0]["needs_certificate"] is False
    assert listed[0]["credentials_registered"] is False
    no_cert = {"company_number": "3003", "user_id": "aki", "csr": make_csr().decode()}
    refused = api.post("/api/v1/certificates", json=no_cert, headers=bearer(tokens["helpdesk"]))
    assert refused.status_code == 409


def test_change_email_is_audited_with_before_and_after(api, tokens):
    body = {"email": "taro.yamada@acme.example.jp", "ticket": "T-22"}
    answer = api.post(f"{SUBSCRIBERS}/{USER}/email", json=body, headers=bearer(tokens["helpdesk"]))
    assert answer.json()["email"] == "taro.yamada@acme.example.jp"
    (event,) = api.get("/api/v1/audit?ticket=T-22", headers=bearer(tokens["admin"])).json()
    assert event["before"] == {"email": "taro@acme.example.jp"}
    assert event["after"]["email"] == "taro.yamada@acme.example.jp"
    bad = api.post(
        f"{SUBSCRIBERS}/{USER}/email",
        json={"email": "no-at-sign"},
        headers=bearer(tokens["helpdesk"]),
    )
    assert bad.status_code == 422


def test_no_certificate_is_refused_while_one_is_held(api, tokens):
    serial = issue(api, tokens["helpdesk"])["serial"]
    url = f"{SUBSCRIBERS}/{USER}/no-certificate"
    refused = api.post(url, json={}, headers=bearer(tokens["helpdesk"]))
    assert refused.status_code == 409
    assert serial in refused.json()["detail"]
    api.post(
        f"/api/v1/certificates/{serial}/revoke",
        json={"reason": "cessationOfOperation"},
        headers=bearer(tokens["helpdesk"]),
    )
    marked = api.post(url, json={"ticket": "T-23"}, headers=bearer(tokens["helpdesk"]))
    assert marked.status_code == 200
    assert marked.json()["needs_certificate"] is False


def test_reissue_is_audited_with_ticket_actor_and_states(api, tokens):
    old = issue(api, tokens["helpdesk"])
    body = {
        "reason": "pc-change",
        "csr": make_csr().decode(),
        "revoke_old": "now",
        "ticket": "T-30",
    }
    new = api.post(
        f"/api/v1/certificates/{old['serial']}/reissue",
        json=body,
        headers=bearer(tokens["helpdesk"]),
    ).json()
    events = api.get("/api/v1/audit?ticket=T-30", headers=bearer(tokens["admin"])).json()
    by_action = {event["action"]: event for event in events}
    assert set(by_action) == {"certificate.reissue", "certificate.revoke"}
    assert all(event["actor"] == "api:helpdesk-1" for event in events)
    assert by_action["certificate.reissue"]["serial"] == new["serial"]
    assert by_action["certificate.reissue"]["after"]["replaces"] == old["serial"]
    revoked = by_action["certificate.revoke"]
    assert revoked["serial"] == old["serial"]
    assert revoked["before"] == {"state": "issued"}
    assert revoked["after"] == {"state": "revoked", "reason": "superseded"}


def test_audit_filters_by_serial_actor_and_time(api, tokens, clock):
    first = issue(api, tokens["helpdesk"], ticket="T-40")
    clock.advance(timedelta(hours=1))
    second = issue(api, tokens["admin"], ticket="T-41")
    admin = bearer(tokens["admin"])
    by_serial = api.get(f"/api/v1/audit?serial={second['serial'].lower()}", headers=admin).json()
    assert [event["ticket"] for event in by_serial] == ["T-41"]
    by_actor = api.get("/api/v1/audit?actor=api:helpdesk-1", headers=admin).json()
    assert {event["serial"] for event in by_actor} == {first["serial"]}
    since = (clock.now() - timedelta(minutes=1)).isoformat()
    recent = api.get("/api/v1/audit", params={"since": since}, headers=admin).json()
    assert [event["serial"] for event in recent] == [second["serial"]]
    until = api.get("/api/v1/audit", params={"until": since}, headers=admin).json()
    assert second["serial"] not in {event["serial"] for event in until}
    naive = api.get("/api/v1/audit", params={"since": "2026-11-26T10:00:00"}, headers=admin)
    assert naive.status_code == 422


def test_history_shows_the_chain_and_its_events(api, tokens):
    old = issue(api, tokens["helpdesk"])
    body = {"csr": make_csr().decode(), "ticket": "T-50"}
    new = api.post(
        f"/api/v1/certificates/{old['serial']}/renew", json=body, headers=bearer(tokens["helpdesk"])
    )
    assert new.status_code == 201, new.text
    history = api.get(
        f"/api/v1/certificates/{old['serial']}/history", headers=bearer(tokens["helpdesk"])
    ).json()
    assert [item["serial"] for item in history["chain"]] == [old["serial"], new.json()["serial"]]
    assert history["certificate"]["superseded_by"] == new.json()["serial"]
    assert {event["action"] for event in history["events"]} == {
        "certificate.issue",
        "certificate.renew",
    }


def test_list_filters_state_expiry_and_text(api, tokens, services):
    keep = issue(api, tokens["helpdesk"])
    gone = issue(api, tokens["helpdesk"])
    api.post(
        f"/api/v1/certificates/{gone['serial']}/revoke",
        json={"reason": "unspecified"},
        headers=bearer(tokens["helpdesk"]),
    )
    helpdesk = bearer(tokens["helpdesk"])
    issued = api.get("/api/v1/certificates?state=issued", headers=helpdesk).json()
    assert [item["serial"] for item in issued] == [keep["serial"]]
    soon = api.get("/api/v1/certificates?expiring_before=2028-11-27", headers=helpdesk).json()
    assert len(soon) == 2
    later = api.get("/api/v1/certificates?expiring_before=2028-11-26", headers=helpdesk).json()
    assert later == []
    found = api.get("/api/v1/certificates?q=taro", headers=helpdesk).json()
    assert len(found) == 2
    assert api.get("/api/v1/certificates?q=nobody", headers=helpdesk).json() == []
    for wildcard in ("%25", "_", "t_ro", "\\"):  # %, _ and \ are literal characters
        assert api.get(f"/api/v1/certificates?q={wildcard}", headers=helpdesk).json() == []
    assert api.get("/api/v1/certificates?state=lost", headers=helpdesk).status_code == 422
