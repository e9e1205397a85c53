"""A consistent copy of the database: SQLite's online backup API, or ``pg_dump``.

Both read one snapshot while certsvc keeps serving: SQLite copies pages under a read
transaction, ``pg_dump`` runs in one repeatable-read transaction. Restoring needs an empty
database, so a restore never mixes two states.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import Engine, inspect
from sqlalchemy.engine import URL, make_url

from certsvc.errors import ConfigError, Conflict

SQLITE, POSTGRES = "sqlite", "postgresql"


def backend_of(url: str) -> str:
    backend = make_url(url).get_backend_name()
    if backend not in (SQLITE, POSTGRES):
        raise ConfigError(f"backup supports SQLite and PostgreSQL, not {backend}")
    return backend


def dump(url: str, target: Path) -> None:
    """Write a snapshot of the database at ``url`` to ``target``."""
    parsed = make_url(url)
    if backend_of(url) == SQLITE:
        source = sqlite3.connect(f"file:{parsed.database}?mode=ro", uri=True)
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            copy.close()
            source.close()
        return
    _run_pg("pg_dump", parsed, "--format=custom", "--no-owner", "--no-acl", "--file", str(target))


def load(url: str, engine: Engine, snapshot: Path) -> None:
    """Put ``snapshot`` into the (empty) database at ``url``."""
    refuse_non_empty(engine)
    parsed = make_url(url)
    if backend_of(url) == SQLITE:
        engine.dispose()
        database = Path(parsed.database or "")
        database.parent.mkdir(parents=True, exist_ok=True)
        for leftover in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
            leftover.unlink(missing_ok=True)
        shutil.copyfile(snapshot, database)
        return
    _run_pg(
        "pg_restore",
        parsed,
        "--no-owner",
        "--no-acl",
        "--single-transaction",
        "--exit-on-error",
        str(snapshot),
    )


def refuse_non_empty(engine: Engine) -> None:
    """A restore goes into a fresh database only: never over live data."""
    tables = inspect(engine).get_table_names()
    engine.dispose()
    if tables:
        raise Conflict(
            f"the database already has tables ({', '.join(sorted(tables)[:3])}, ...): "
            "restore into a fresh, empty database"
        )


def _run_pg(tool: str, url: URL, *arguments: str) -> None:
    """Run ``pg_dump``/``pg_restore``; the password goes by environment, never argv."""
    if shutil.which(tool) is None:
        raise ConfigError(f"{tool} is not installed (Debian: postgresql-client)")
    environment = dict(os.environ)
    if url.password:
        environment["PGPASSWORD"] = str(url.password)
    libpq = url.set(drivername="postgresql", password=None)
    dbname = libpq.render_as_string(hide_password=False)
    result = subprocess.run(
        [tool, f"--dbname={dbname}", *arguments],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    if result.returncode != 0:
        raise ConfigError(f"{tool} failed: {result.stderr.strip()[-500:]}")
