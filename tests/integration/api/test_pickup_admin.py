"""Pickup links by id: the 202 answer names it, the helpdesk lists and cancels it."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from certsvc.app import Services
from certsvc.storage.models import AuditEvent
from tests.conftest import COMPANY, USER
from tests.integration.api.conftest import OTHER_COMPANY, OTHER_USER, bearer
from tests.integration.api.pickup_helpers import last_link, login
from tests.keys import make_csr


def order(
    api: TestClient, token: str, company: str = COMPANY, user: str = USER
) -> dict[str, object]:
    body = {"company_number": company, "user_id": user, "pickup": True}
    answer = api.post("/api/v1/certificates", json=body, headers=bearer(token))
    assert answer.status_code == 202, answer.text
    return answer.json()["pickup"]


def test_the_202_answer_names_the_pickup_by_id_not_by_its_secret(
    api: TestClient, tokens: dict[str, str], services: Services
) -> None:
    pickup = order(api, tokens["helpdesk"])
    assert isinstance(pickup["id"], int)
    assert last_link(services) not in str(pickup)
    listed = api.get(f"/api/v1/pickups?company_number={COMPANY}", headers=bearer(tokens["admin"]))
    assert listed.status_code == 200, listed.text
    assert listed.headers["x-total-count"] == "1"
    (row,) = listed.json()
    assert row["id"] == pickup["id"]
    assert (row["user_id"], row["action"], row["state"]) == (USER, "issue", "open")
    assert last_link(services) not in listed.text


def test_a_cancelled_link_stops_working_and_is_audited(
    api: TestClient, tokens: dict[str, str], services: Services
) -> None:
    pickup = order(api, tokens["helpdesk"])
    token = last_link(services)
    cancelled = api.delete(
        f"/api/v1/pickups/{pickup['id']}?ticket=T-42", headers=bearer(tokens["tenant-admin"])
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["state"] == "cancelled"
    assert api.get(f"/api/v1/pickup/{token}").status_code == 404
    refused = login(api, token, challenge="1234", csr=make_csr().decode())
    assert refused.status_code == 404
    again = api.delete(f"/api/v1/pickups/{pickup['id']}", headers=bearer(tokens["helpdesk"]))
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    with services.sessions() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "pickup.cancel")
        ).one()
    assert (event.actor, event.ticket, event.company_number) == ("api:tenant-1001", "T-42", COMPANY)
    listed = api.get("/api/v1/pickups", headers=bearer(tokens["helpdesk"])).json()
    assert [row["state"] for row in listed] == ["cancelled"]


def test_a_used_link_cannot_be_cancelled(
    api: TestClient, tokens: dict[str, str], services: Services
) -> None:
    pickup = order(api, tokens["helpdesk"])
    assert login(api, last_link(services), csr=make_csr().decode()).status_code == 200
    answer = api.delete(f"/api/v1/pickups/{pickup['id']}", headers=bearer(tokens["helpdesk"]))
    assert answer.status_code == 409
    assert "used" in answer.json()["detail"]


def test_a_tenant_admin_neither_sees_nor_cancels_another_tenants_links(
    api: TestClient, tokens: dict[str, str], services: Services
) -> None:
    theirs = order(api, tokens["helpdesk"], OTHER_COMPANY, OTHER_USER)
    ours = order(api, tokens["helpdesk"])
    mine = bearer(tokens["tenant-admin"])
    assert [row["id"] for row in api.get("/api/v1/pickups", headers=mine).json()] == [ours["id"]]
    other = api.get(f"/api/v1/pickups?company_number={OTHER_COMPANY}", headers=mine)
    assert other.status_code == 404
    assert api.delete(f"/api/v1/pickups/{theirs['id']}", headers=mine).status_code == 404
    assert api.delete("/api/v1/pickups/999999", headers=mine).status_code == 404
    gateway = api.delete(f"/api/v1/pickups/{ours['id']}", headers=bearer(tokens["gateway"]))
    assert gateway.status_code == 403
    listed = api.get("/api/v1/pickups", headers=bearer(tokens["admin"])).json()
    assert [row["state"] for row in listed] == ["open", "open"]
