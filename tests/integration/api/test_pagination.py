"""Lists of 250 rows, paged: a total, RFC 8288 ``next`` links to follow, a stable order."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from certsvc.app import Services
from certsvc.directory import NewSubscriber
from tests.conftest import COMPANY, OPERATOR
from tests.integration.api.conftest import bearer

ROWS = 250
LINK = re.compile(r'<([^>]+)>; rel="(\w+)"')


@pytest.fixture
def many(services: Services, tenants: None) -> None:
    """Tenant 1001 with 250 subscribers; 250 tenants in all."""
    directory = services.directory
    for n in range(1, ROWS):
        directory.add_subscriber(
            NewSubscriber(COMPANY, f"user{n:03}", f"user{n:03}@acme.example.jp"), OPERATOR
        )
    for n in range(3, ROWS + 1):
        directory.add_tenant(f"9{n:03}", f"Tenant {n}", f"admin@t{n}.example.jp", OPERATOR)


def links(response) -> dict[str, str]:
    return {rel: url for url, rel in LINK.findall(response.headers.get("Link", ""))}


def follow(api: TestClient, url: str, token: str) -> tuple[list[dict[str, Any]], list[int]]:
    """Every item from ``url`` on, following ``next``; also the total each page gave."""
    items: list[dict[str, Any]] = []
    totals: list[int] = []
    while url:
        response = api.get(url, headers=bearer(token))
        assert response.status_code == 200, response.text
        items.extend(response.json())
        totals.append(int(response.headers["X-Total-Count"]))
        url = links(response).get("next", "")
    return items, totals


def test_250_subscribers_in_three_pages_each_once_in_registration_order(api, tokens, many):
    first = api.get(
        f"/api/v1/tenants/{COMPANY}/subscribers?limit=100", headers=bearer(tokens["admin"])
    )
    assert len(first.json()) == 100
    assert set(links(first)) == {"first", "next"}
    assert "offset=100" in links(first)["next"]

    items, totals = follow(api, f"/api/v1/tenants/{COMPANY}/subscribers?limit=100", tokens["admin"])
    assert totals == [ROWS, ROWS, ROWS]
    users = [item["user_id"] for item in items]
    assert users == ["taro", *(f"user{n:03}" for n in range(1, ROWS))]

    last = api.get(
        f"/api/v1/tenants/{COMPANY}/subscribers?limit=100&offset=200",
        headers=bearer(tokens["admin"]),
    )
    assert len(last.json()) == 50
    assert set(links(last)) == {"first", "prev"}
    assert "offset=100" in links(last)["prev"]


def test_250_tenants_by_company_number_and_a_tenant_admin_sees_its_own(api, tokens, many):
    items, totals = follow(api, "/api/v1/tenants?limit=60", tokens["helpdesk"])
    numbers = [item["company_number"] for item in items]
    assert len(numbers) == ROWS == totals[0]
    assert numbers == sorted(numbers)
    assert len(totals) == 5  # 60 + 60 + 60 + 60 + 10
    acme = next(item for item in items if item["company_number"] == COMPANY)
    assert acme["subscribers"] == ROWS

    own, totals = follow(api, "/api/v1/tenants", tokens["tenant-admin"])
    assert ([item["company_number"] for item in own], totals) == ([COMPANY], [1])


def test_audit_pages_keep_the_filters_in_their_links(api, tokens, many):
    url = f"/api/v1/audit?company_number={COMPANY}&limit=100"
    items, totals = follow(api, url, tokens["admin"])
    added = [item for item in items if item["action"] == "subscriber.add"]
    assert len(added) == ROWS
    assert len(items) == totals[0]
    assert {item["company_number"] for item in items} == {COMPANY}


def test_a_page_past_the_end_is_empty_and_a_bad_limit_is_refused(api, tokens, many):
    response = api.get("/api/v1/tenants?offset=1000", headers=bearer(tokens["admin"]))
    assert (response.status_code, response.json(), response.headers["X-Total-Count"]) == (
        200,
        [],
        str(ROWS),
    )
    assert "next" not in links(response)
    refused = api.get("/api/v1/tenants?limit=0", headers=bearer(tokens["admin"]))
    assert refused.status_code in (400, 422)
    assert "limit" in refused.text
