"""Leader lock: of several scheduler instances on one database, exactly one acts.

On PostgreSQL a session-level advisory lock, held on a dedicated connection for as long
as the process lives (a crashed leader's connection closes and the lock goes with it).
On SQLite, where all instances share one machine, an ``flock`` on a file next to the
database. ``acquire`` is asked before every job, so a standby takes over at its next
tick when the leader stops.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from certsvc.config import Settings
from certsvc.logging import get_logger

log = get_logger("scheduler.leader")
ADVISORY_KEY = 0x6365727473766301  # "certsv" + 0x63 0x01: certsvc's scheduler


class LeaderLock(Protocol):
    def acquire(self) -> bool:
        """True when this instance is (still) the leader; never blocks."""

    def release(self) -> None: ...


class PostgresLeaderLock:
    """``pg_try_advisory_lock`` on a connection kept open while leading."""

    def __init__(self, engine: Engine, key: int = ADVISORY_KEY) -> None:
        self.engine = engine
        self.key = key
        self._connection: Connection | None = None

    def acquire(self) -> bool:
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT 1"))
                return True
            except SQLAlchemyError:
                log.warning("scheduler.leader_connection_lost")
                self._drop()
        connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = bool(
                connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key})
            )
        except SQLAlchemyError:
            connection.close()
            raise
        if not got:
            connection.close()
            return False
        self._connection = connection
        log.info("scheduler.leader_acquired")
        return True

    def release(self) -> None:
        if self._connection is None:
            return
        try:
            self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
        except SQLAlchemyError:
            pass  # closing the connection releases it anyway
        self._drop()

    def _drop(self) -> None:
        if self._connection is not None:
            self._connection.invalidate()
            self._connection.close()
            self._connection = None


class FileLeaderLock:
    """An exclusive, non-blocking ``flock`` on ``path`` (SQLite deployments)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._descriptor: int | None = None

    def acquire(self) -> bool:
        if self._descriptor is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            return False
        self._descriptor = descriptor
        log.info("scheduler.leader_acquired", lock_file=str(self.path))
        return True

    def release(self) -> None:
        if self._descriptor is not None:
            fcntl.flock(self._descriptor, fcntl.LOCK_UN)
            os.close(self._descriptor)
            self._descriptor = None


def leader_lock_for(engine: Engine, settings: Settings) -> LeaderLock:
    """The lock that fits the configured database (``settings`` place a lock file)."""
    if engine.dialect.name == "postgresql":
        return PostgresLeaderLock(engine)
    configured = settings.scheduler.lock_file
    if configured:
        return FileLeaderLock(settings.path(configured, ""))
    database = engine.url.database
    if database and database != ":memory:":
        return FileLeaderLock(Path(f"{database}.scheduler.lock"))
    return FileLeaderLock(settings.home_dir / "scheduler.lock")
