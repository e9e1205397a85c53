"""Fixtures for the GlobalSign adapter: one fake CA API per run, reset for every test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from certsvc.app import Services
from certsvc.clock import FixedClock
from certsvc.config import Settings
from certsvc.directory import NewSubscriber
from tests.conftest import COMPANY, OPERATOR, USER, make_settings
from tests.fakes.globalsign import FakeGlobalSign
from tests.fakes.timer import FakeTimer


@pytest.fixture(scope="session")
def fake_hvca(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeGlobalSign]:
    fake = FakeGlobalSign(tmp_path_factory.mktemp("hvca")).start()
    yield fake
    fake.stop()


@pytest.fixture
def hvca(fake_hvca: FakeGlobalSign, clock: FixedClock) -> FakeGlobalSign:
    """The fake CA, emptied, its clock following the test's clock."""
    fake_hvca.reset(now=clock.now)
    return fake_hvca


@pytest.fixture
def timer(clock: FixedClock) -> FakeTimer:
    return FakeTimer(clock)


def globalsign_settings(
    home: Path,
    database_url: str,
    hvca: FakeGlobalSign,
    sections: dict[str, dict[str, object]] | None = None,
    **overrides: Any,
) -> Settings:
    """Settings whose CA is the fake; ``sections`` adds other config sections."""
    section = {**hvca.settings(), **overrides}
    ca = {"adapter": "globalsign", "globalsign": section}
    return make_settings(home, database_url, ca=ca, **(sections or {}))


def open_services(settings: Settings, clock: FixedClock, timer: FakeTimer) -> Services:
    """Initialised services with tenant 1001 and subscriber taro; dispose the engine after."""
    built = Services(settings, clock, timer)
    built.initialise()
    built.directory.add_tenant(COMPANY, "Acme KK", "admin@acme.example.jp", OPERATOR)
    built.directory.add_subscriber(
        NewSubscriber(COMPANY, USER, "taro@acme.example.jp", "Taro Yamada"), OPERATOR
    )
    return built


@pytest.fixture
def gs_settings(tmp_path: Path, database_url: str, hvca: FakeGlobalSign) -> Settings:
    return globalsign_settings(tmp_path / "home", database_url, hvca)


@pytest.fixture
def gs_services(gs_settings: Settings, clock: FixedClock, timer: FakeTimer) -> Iterator[Services]:
    """Services whose CA is the fake GlobalSign API, with tenant 1001 and subscriber taro."""
    built = open_services(gs_settings, clock, timer)
    yield built
    built.engine.dispose()


REFUSE_PICKUPS = {
    "sqlite": [
        "CREATE TRIGGER refuse_pickups BEFORE INSERT ON pickups"
        " BEGIN SELECT RAISE(ABORT, 'pickups refused'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_pickups() RETURNS trigger"
        " AS $$ BEGIN RAISE EXCEPTION 'pickups refused'; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER refuse_pickups BEFORE INSERT ON pickups"
        " FOR EACH ROW EXECUTE FUNCTION refuse_pickups()",
    ],
}


ALLOW_PICKUPS = {
    "sqlite": ["DROP TRIGGER refuse_pickups"],
    "postgresql": ["DROP TRIGGER refuse_pickups ON pickups", "DROP FUNCTION refuse_pickups()"],
}


@pytest.fixture
def refused_pickups(services: Services) -> Iterator[None]:
    """The database refuses every pickup row: a failure after the CA has signed.
    (The PostgreSQL schema outlives the test, so the trigger is dropped again.)"""
    dialect = services.engine.dialect.name
    with services.engine.begin() as connection:
        for statement in REFUSE_PICKUPS[dialect]:
            connection.execute(text(statement))
    yield
    with services.engine.begin() as connection:
        for statement in ALLOW_PICKUPS[dialect]:
            connection.execute(text(statement))
