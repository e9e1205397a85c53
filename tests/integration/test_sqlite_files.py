"""certsvc.db holds password hashes and audit data: its file, WAL and shared memory are
readable by the owner only, like the CA keys (0600), also when an older version left 0644."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy import text

from certsvc.storage.db import make_engine


def modes(directory: Path) -> dict[str, int]:
    return {path.name: stat.S_IMODE(path.stat().st_mode) for path in directory.iterdir()}


def test_the_database_and_its_wal_are_0600(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db' / 'certsvc.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
        connection.execute(text("INSERT INTO t VALUES (1)"))
        found = modes(tmp_path / "db")
    engine.dispose()
    assert set(found) >= {"certsvc.db", "certsvc.db-wal", "certsvc.db-shm"}
    assert set(found.values()) == {0o600}


def test_files_left_0644_are_made_0600(tmp_path: Path) -> None:
    for name in ("certsvc.db", "certsvc.db-wal"):
        (tmp_path / name).touch()
        os.chmod(tmp_path / name, 0o644)
    (tmp_path / "certsvc.db-wal").unlink()
    make_engine(f"sqlite:///{tmp_path / 'certsvc.db'}").dispose()
    assert modes(tmp_path) == {"certsvc.db": 0o600}
