"""Every endpoint with every role: allowed, refused (403), another tenant (404), no token (401)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from certsvc.directory import NewSubscriber
from certsvc.lifecycle.operations import CsrKey
from tests.conftest import COMPANY, OPERATOR, USER
from tests.integration.api.conftest import bearer
from tests.keys import make_csr

OPERATORS = ("admin", "helpdesk", "tenant-admin")
SUBSCRIBERS = f"/api/v1/tenants/{COMPANY}/subscribers"
_counter = itertools.count()


@dataclass(frozen=True)
class Case:
    """One endpoint: how to call it with fresh prerequisites, and who may."""

    name: str
    call: Callable[..., Any]  # (api, services, headers) -> Response
    success: int
    allowed: tuple[str, ...] = OPERATORS
    tenant_scoped: bool = True


def fresh_serial(services) -> str:
    issued = services.lifecycle.issue(COMPANY, USER, CsrKey(make_csr()), OPERATOR)
    return issued.certificate.serial


def fresh_user(services) -> str:
    user = f"user{next(_counter)}"
    services.directory.add_subscriber(
        NewSubscriber(COMPANY, user, f"{user}@acme.example.jp"), OPERATOR
    )
    return user


def csr() -> str:
    return make_csr().decode()


CASES = [
    Case(
        "issue",
        lambda api, s, h: api.post(
            "/api/v1/certificates",
            json={"company_number": COMPANY, "user_id": USER, "csr": csr()},
            headers=h,
        ),
        201,
    ),
    Case(
        "list certificates of the tenant",
        lambda api, s, h: api.get(f"/api/v1/certificates?company_number={COMPANY}", headers=h),
        200,
    ),
    Case(
        "show certificate",
        lambda api, s, h: api.get(f"/api/v1/certificates/{fresh_serial(s)}", headers=h),
        200,
    ),
    Case(
        "certificate history",
        lambda api, s, h: api.get(f"/api/v1/certificates/{fresh_serial(s)}/history", headers=h),
        200,
    ),
    Case(
        "renew",
        lambda api, s, h: api.post(
            f"/api/v1/certificates/{fresh_serial(s)}/renew", json={"csr": csr()}, headers=h
        ),
        201,
    ),
    Case(
        "reissue",
        lambda api, s, h: api.post(
            f"/api/v1/certificates/{fresh_serial(s)}/reissue",
            json={"reason": "pc-change", "csr": csr(), "revoke_old": "now"},
            headers=h,
        ),
        201,
    ),
    Case(
        "revoke",
        lambda api, s, h: api.post(
            f"/api/v1/certificates/{fresh_serial(s)}/revoke",
            json={"reason": "keyCompromise"},
            headers=h,
        ),
        200,
    ),
    Case(
        "pickup link",
        lambda api, s, h: api.post(
            f"/api/v1/certificates/{fresh_serial(s)}/pickup", json={}, headers=h
        ),
        201,
    ),
    Case(
        "create tenant",
        lambda api, s, h: api.post(
            "/api/v1/tenants",
            json={
                "company_number": f"9{next(_counter)}",
                "name": "Gamma KK",
                "admin_email": "admin@gamma.example.jp",
            },
            headers=h,
        ),
        201,
        allowed=("admin",),
        tenant_scoped=False,
    ),
    Case("show tenant", lambda api, s, h: api.get(f"/api/v1/tenants/{COMPANY}", headers=h), 200),
    Case(
        "change administrator",
        lambda api, s, h: api.post(
            f"/api/v1/tenants/{COMPANY}/administrator",
            json={"name": "Ken Ito", "email": f"ken{next(_counter)}@acme.example.jp"},
            headers=h,
        ),
        200,
        allowed=("admin",),
        tenant_scoped=False,
    ),
    Case(
        "create subscriber",
        lambda api, s, h: api.post(
            SUBSCRIBERS,
            json={"user_id": f"new{next(_counter)}", "email": "new@acme.example.jp"},
            headers=h,
        ),
        201,
    ),
    Case("list subscribers", lambda api, s, h: api.get(SUBSCRIBERS, headers=h), 200),
    Case("show subscriber", lambda api, s, h: api.get(f"{SUBSCRIBERS}/{USER}", headers=h), 200),
    Case(
        "change e-mail",
        lambda api, s, h: api.post(
            f"{SUBSCRIBERS}/{fresh_user(s)}/email",
            json={"email": "moved@acme.example.jp"},
            headers=h,
        ),
        200,
    ),
    Case(
        "mark no certificate",
        lambda api, s, h: api.post(
            f"{SUBSCRIBERS}/{fresh_user(s)}/no-certificate", json={}, headers=h
        ),
        200,
    ),
    Case(
        "register credentials",
        lambda api, s, h: api.post(
            f"{SUBSCRIBERS}/{fresh_user(s)}/credentials",
            json={"password": "Sakura-2026", "registration_number": "13572468"},
            headers=h,
        ),
        200,
    ),
    Case(
        "reset credentials",
        lambda api, s, h: api.post(f"{SUBSCRIBERS}/{USER}/credentials/reset", json={}, headers=h),
        201,
    ),
    Case(
        "audit of the tenant",
        lambda api, s, h: api.get(f"/api/v1/audit?company_number={COMPANY}", headers=h),
        200,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_endpoint_with_every_role(api, services, tokens, case):
    for role in ("admin", "helpdesk", "tenant-admin", "gateway"):
        answer = case.call(api, services, bearer(tokens[role]))
        expected = case.success if role in case.allowed else 403
        assert answer.status_code == expected, f"{role}: {answer.text}"
        if expected != case.success:
            assert answer.headers["content-type"] == "application/problem+json"
    other = case.call(api, services, bearer(tokens["other-tenant-admin"]))
    if case.tenant_scoped:
        assert other.status_code == 404, other.text  # another tenant's data does not exist
    else:
        assert other.status_code == 403, other.text
    nobody = case.call(api, services, {})
    assert nobody.status_code == 401
    assert nobody.headers["www-authenticate"] == "Bearer"
    forged = case.call(api, services, bearer("csv_not-a-token"))
    assert forged.status_code == 401


def test_tenant_admin_lists_only_its_own_tenant(api, services, tokens):
    fresh_serial(services)
    services.directory.add_subscriber(
        NewSubscriber("2002", "saburo", "saburo@beta.example.jp"), OPERATOR
    )
    services.lifecycle.issue("2002", "saburo", CsrKey(make_csr()), OPERATOR)
    mine = api.get("/api/v1/certificates", headers=bearer(tokens["tenant-admin"])).json()
    theirs = api.get("/api/v1/certificates", headers=bearer(tokens["other-tenant-admin"])).json()
    assert {item["company_number"] for item in mine} == {COMPANY}
    assert {item["company_number"] for item in theirs} == {"2002"}
    everything = api.get("/api/v1/certificates", headers=bearer(tokens["helpdesk"])).json()
    assert len(everything) == len(mine) + len(theirs)
    audit = api.get("/api/v1/audit", headers=bearer(tokens["other-tenant-admin"])).json()
    assert audit
    assert {event["company_number"] for event in audit} == {"2002"}


def test_a_revoked_token_is_refused_and_use_is_recorded(api, services, tokens):
    assert api.get("/api/v1/certificates", headers=bearer(tokens["helpdesk"])).status_code == 200
    (used,) = [info for info in services.tokens.list() if info.name == "helpdesk-1"]
    assert used.last_used_at is not None
    services.tokens.revoke("helpdesk-1")
    refused = api.get("/api/v1/certificates", headers=bearer(tokens["helpdesk"]))
    assert refused.status_code == 401
