"""Console tests: cheap argon2 (the rules are the same, the cost is not under test)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyotp
import pytest

from certsvc.access.sessions import SignIn
from certsvc.app import Services
from certsvc.config import Settings
from tests.conftest import COMPANY, OPERATOR, make_settings

PASSWORD = "first-Pass-1"
NEW_PASSWORD = "second-Pass-2"
OTHER = "2002"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    cheap = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}
    return make_settings(tmp_path / "home", database_url, credentials=cheap)


@pytest.fixture
def tenants(services: Services) -> tuple[str, str]:
    services.directory.add_tenant(COMPANY, "Acme KK", "admin@acme.example.jp", OPERATOR)
    services.directory.add_tenant(OTHER, "Beta 100% Corp", "admin@beta.example.jp", OPERATOR)
    return COMPANY, OTHER


def totp_of(uri: str) -> pyotp.TOTP:
    """The authenticator an operator gets by scanning the enrolment."""
    parsed = pyotp.parse_uri(uri)
    assert isinstance(parsed, pyotp.TOTP)
    return parsed


class Desk:
    """An operator account made as ``certsvc operator add`` makes it, and its authenticator."""

    def __init__(self, services: Services, name: str, role: str, company: str | None) -> None:
        self.services = services
        self.name = name
        enrolment = services.operators.add(name, role, company, PASSWORD, OPERATOR)
        self.totp = totp_of(enrolment.uri)

    def code(self, offset: int = 0) -> str:
        now = self.services.clock.now().timestamp() + 30 * offset
        return self.totp.at(now)

    def attempt(self, password: str = PASSWORD, code: str | None = None) -> SignIn:
        return SignIn(self.name, password, self.code() if code is None else code)


@pytest.fixture
def desk(services: Services, tenants: tuple[str, str]) -> Callable[..., Desk]:
    def make(name: str = "hanako", role: str = "helpdesk", company: str | None = None) -> Desk:
        return Desk(services, name, role, company)

    return make
