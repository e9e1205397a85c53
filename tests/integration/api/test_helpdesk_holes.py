"""Holes the helpdesk fell into: a second reissue, a bare e-mail change of a certificate
holder, audit search by ticket."""

from __future__ import annotations

from tests.conftest import COMPANY, USER
from tests.integration.api.conftest import bearer, issue

SUBSCRIBER = f"/api/v1/tenants/{COMPANY}/subscribers/{USER}"


def test_a_second_reissue_of_a_certificate_with_a_pending_successor_is_409_at_once(api, tokens):
    serial = issue(api, tokens["helpdesk"])["serial"]
    body = {"reason": "pc-change", "pickup": True}
    url = f"/api/v1/certificates/{serial}/reissue"
    first = api.post(url, json=body, headers=bearer(tokens["helpdesk"]))
    assert first.status_code == 202, first.text
    second = api.post(url, json=body, headers=bearer(tokens["helpdesk"]))
    assert second.status_code == 409
    assert "already has a pending successor" in second.json()["detail"]


def test_a_bare_email_change_of_a_certificate_holder_is_refused_naming_the_reissue(api, tokens):
    serial = issue(api, tokens["helpdesk"])["serial"]
    answer = api.post(
        f"{SUBSCRIBER}/email",
        json={"email": "new@acme.example.jp"},
        headers=bearer(tokens["helpdesk"]),
    )
    assert answer.status_code == 409
    assert f"cert reissue {serial} --reason user-change --new-email" in answer.json()["detail"]
    shown = api.get(SUBSCRIBER, headers=bearer(tokens["helpdesk"])).json()
    assert shown["email"] == "taro@acme.example.jp"


def test_audit_search_by_ticket_is_case_insensitive_and_by_prefix(api, tokens):
    issue(api, tokens["helpdesk"], ticket="INC-4711")
    issue(api, tokens["helpdesk"], ticket="INC-4800")
    issue(api, tokens["helpdesk"], ticket="inc_47")  # "_" is no wildcard
    found = api.get("/api/v1/audit?ticket=inc-47", headers=bearer(tokens["admin"])).json()
    assert {event["ticket"] for event in found} == {"INC-4711"}
    wildcard = api.get("/api/v1/audit?ticket=inc_", headers=bearer(tokens["admin"])).json()
    assert {event["ticket"] for event in wildcard} == {"inc_47"}
