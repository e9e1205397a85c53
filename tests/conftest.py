"""Shared fixtures: settings in a temp home, a database (SQLite or PostgreSQL), a fixed clock.

Tests run on SQLite by default and on PostgreSQL when ``CERTSVC_TEST_DATABASE_URL`` is set;
on PostgreSQL the schema is migrated once per run and emptied before each test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from certsvc.api.app import create_app
from certsvc.app import Services
from certsvc.audit import Actor
from certsvc.clock import FixedClock
from certsvc.config import Settings, settings_from_dict
from certsvc.directory import NewSubscriber
from certsvc.storage.db import make_engine, migrate
from certsvc.storage.models import Base
from tests import timestamps
from tests.smtp import LoopbackController, Recorder

POSTGRES_URL = os.environ.get("CERTSVC_TEST_DATABASE_URL", "")
COMPANY, USER = "1001", "taro"
OPERATOR = Actor("test:operator", "TICKET-1")


@pytest.fixture(scope="session")
def postgres_ready() -> bool:
    """Reset the PostgreSQL schema once per run, then migrate it."""
    if not POSTGRES_URL:
        return False
    engine = make_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    migrate(engine)
    engine.dispose()
    return True


@pytest.fixture
def database_url(tmp_path: Path, postgres_ready: bool) -> Iterator[str]:
    if not postgres_ready:
        yield f"sqlite:///{tmp_path / 'certsvc.db'}"
        return
    empty_postgres()
    yield POSTGRES_URL


def empty_postgres() -> None:
    """Empty every table of the test database (the schema stays)."""
    engine = make_engine(POSTGRES_URL)
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


def make_settings(home: Path, database_url: str, **sections: Mapping[str, object]) -> Settings:
    data: dict[str, object] = {"home": str(home), "database": {"url": database_url}}
    data.update(sections)
    return settings_from_dict(data)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path / "home", database_url)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(timestamps.issued)


@pytest.fixture
def services(settings: Settings, clock: FixedClock) -> Iterator[Services]:
    """Initialised services: database migrated, local CA created."""
    built = Services(settings, clock)
    built.initialise()
    yield built
    built.close()


@pytest.fixture
def subscriber(services: Services) -> tuple[str, str]:
    """Tenant 1001 (Acme KK) with subscriber taro."""
    services.directory.add_tenant(COMPANY, "Acme KK", "admin@acme.example.jp", OPERATOR)
    services.directory.add_subscriber(
        NewSubscriber(COMPANY, USER, "taro@acme.example.jp", "Taro Yamada"), OPERATOR
    )
    return COMPANY, USER


@pytest.fixture
def client(services: Services) -> TestClient:
    """The HTTP app in-process, without its background loop: tests drive ``poll_once``."""
    services.gateway.poll_once()
    return TestClient(create_app(services))


@pytest.fixture
def smtp_server() -> Iterator[tuple[LoopbackController, Recorder]]:
    """A real SMTP server on a free loopback port; the recorder holds what it accepted."""
    recorder = Recorder()
    controller = LoopbackController(recorder)
    controller.start()
    yield controller, recorder
    controller.stop()


def make_mail_services(
    home: Path, database_url: str, clock: FixedClock, **mail: object
) -> Services:
    """Initialised services mailing through ``mail`` (smtp_host, smtp_port ...)."""
    mail_section: dict[str, object] = {"smtp_host": "127.0.0.1", "timeout_seconds": 5, **mail}
    reminders: dict[str, object] = {"renewal_url": "https://certs.example.jp/renew"}
    # the one public address; [pickup] link_base_url is left to default to <it>/pickup
    http: dict[str, object] = {"public_url": "https://certsvc.example.jp"}
    settings = make_settings(home, database_url, mail=mail_section, reminders=reminders, http=http)
    built = Services(settings, clock)
    built.initialise()
    return built


@pytest.fixture
def mail_services(
    tmp_path: Path,
    database_url: str,
    clock: FixedClock,
    smtp_server: tuple[LoopbackController, Recorder],
) -> Iterator[Services]:
    """Initialised services whose outbox mails go to ``smtp_server``."""
    built = make_mail_services(
        tmp_path / "home",
        database_url,
        clock,
        smtp_port=smtp_server[0].port,
        reply_to="helpdesk@example.jp",
        **{"from": "Certificate Desk <certs@example.jp>"},
    )
    yield built
    built.engine.dispose()
