"""Engines, sessions and migrations, the same code for SQLite and PostgreSQL.

SQLite runs in WAL mode with foreign keys on and ``synchronous=NORMAL`` (durable at
each checkpoint, and fast enough for one transaction per issuance); PostgreSQL is used
as configured. Schema changes only ever come from Alembic migrations.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SessionFactory = sessionmaker[Session]


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get their directory and pragmas."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        _owner_only(Path(parsed.database))
    engine = create_engine(url, connect_args={"timeout": 30})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _owner_only(path: Path) -> None:
    """The database file (password hashes, audit) readable by its owner only (0600).

    SQLite gives its WAL and shared-memory files the mode of the database file, so
    creating that one 0600 covers all three; files an older version left 0644 are fixed.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    for each in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if each.exists():
            each.chmod(0o600)


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def migrate(engine: Engine, revision: str = "heads") -> None:
    """Bring the schema up to ``revision`` (all heads by default); a no-op when current."""
    config = AlembicConfig()
    config.set_main_option("script_location", "certsvc.storage:migrations")
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def schema_revision(engine: Engine) -> str:
    """The schema's Alembic revision(s), comma-separated; empty for a database never migrated."""
    with engine.connect() as connection:
        heads = MigrationContext.configure(connection).get_current_heads()
    return ",".join(sorted(heads))


def session_factory(engine: Engine) -> SessionFactory:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(sessions: SessionFactory) -> Iterator[Session]:
    """One unit of work: commit on success, roll back everything on any error."""
    with sessions() as session, session.begin():
        yield session
