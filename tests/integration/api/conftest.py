"""Fixtures for the HTTP API: cheap argon2 settings, tokens per role, two tenants."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from certsvc.api.app import create_app
from certsvc.app import Services
from certsvc.config import Settings
from certsvc.directory import NewSubscriber
from tests.conftest import COMPANY, OPERATOR, USER, make_settings
from tests.keys import make_csr

OTHER_COMPANY, OTHER_USER = "2002", "jiro"
PASSWORD, NUMBER = "Sakura-2026", "12345678"
CHEAP_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_kib": 64, "argon2_parallelism": 1}


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """The suite's settings with a cheap argon2 (the rules, not the cost, are under test)."""
    return make_settings(tmp_path / "home", database_url, credentials=CHEAP_ARGON2)


@pytest.fixture
def tenants(services: Services) -> None:
    """Tenant 1001 with taro (who has credentials) and tenant 2002 with jiro."""
    directory = services.directory
    directory.add_tenant(COMPANY, "Acme KK", "admin@acme.example.jp", OPERATOR, "Hanako Sato")
    directory.add_subscriber(
        NewSubscriber(COMPANY, USER, "taro@acme.example.jp", "Taro Yamada"), OPERATOR
    )
    directory.add_tenant(OTHER_COMPANY, "Beta KK", "admin@beta.example.jp", OPERATOR)
    directory.add_subscriber(
        NewSubscriber(OTHER_COMPANY, OTHER_USER, "jiro@beta.example.jp", "Jiro Suzuki"), OPERATOR
    )
    services.accounts.set(COMPANY, USER, PASSWORD, NUMBER, OPERATOR)


@pytest.fixture
def tokens(services: Services, tenants: None) -> dict[str, str]:
    """One token per role; ``tenant-admin`` belongs to tenant 1001."""
    made = {
        role: services.tokens.create(role, f"{role}-1") for role in ("admin", "helpdesk", "gateway")
    }
    made["tenant-admin"] = services.tokens.create("tenant-admin", "tenant-1001", COMPANY)
    made["other-tenant-admin"] = services.tokens.create(
        "tenant-admin", "tenant-2002", OTHER_COMPANY
    )
    return made


@pytest.fixture
def api(services: Services) -> TestClient:
    return TestClient(create_app(services))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def issue(api: TestClient, token: str, company: str = COMPANY, user: str = USER, **extra):
    """Issue a certificate over HTTP; the certificate JSON."""
    body = {"company_number": company, "user_id": user, "csr": make_csr().decode(), **extra}
    answer = api.post("/api/v1/certificates", json=body, headers=bearer(token))
    assert answer.status_code == 201, answer.text
    return answer.json()
