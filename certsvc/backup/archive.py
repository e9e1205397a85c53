"""``backup`` and ``restore``: a tar of manifest, database snapshot and files, sealed.

The database is snapshotted first, then the files are read: CA material and the pepper
change only at ``init`` and key rollover, so the pair is consistent. The archive is built
in a private temporary directory and the sealed file appears under its final name only
when complete, mode 0600; a restore checks the whole archive (it decrypts every chunk)
before it writes anything.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from certsvc import __version__
from certsvc.backup import contents, sealed, snapshot
from certsvc.clock import parse_instant
from certsvc.config import Settings
from certsvc.errors import InputError

FORMAT = 1
MANIFEST = "manifest.json"
DATABASE = "database"


@dataclass(frozen=True)
class Manifest:
    """What the archive says about itself."""

    created_at: datetime
    version: str
    backend: str
    files: tuple[str, ...]

    def to_json(self) -> bytes:
        body = {
            "format": FORMAT,
            "created_at": self.created_at.isoformat(),
            "certsvc_version": self.version,
            "database": self.backend,
            "files": list(self.files),
        }
        return json.dumps(body, indent=2).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        try:
            body = json.loads(data)
            if body["format"] != FORMAT:
                raise InputError(f"backup format {body['format']} is not supported here")
            created = parse_instant(body["created_at"])
            return cls(created, body["certsvc_version"], body["database"], tuple(body["files"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"the backup's manifest is damaged: {exc}") from exc


def backup(settings: Settings, target: Path, passphrase: bytes, now: datetime) -> Manifest:
    """Write the sealed archive of this installation to ``target``."""
    backend = snapshot.backend_of(settings.database_url)
    files = contents.file_set(settings, extra_skip=(target,))
    with tempfile.TemporaryDirectory(prefix="certsvc-backup-") as work:
        database = Path(work) / DATABASE
        snapshot.dump(settings.database_url, database)
        members = list(files.files())
        manifest = Manifest(now, __version__, backend, tuple(name for name, _ in members))
        plain = Path(work) / "archive.tar"
        with tarfile.open(plain, "w") as tar:
            _add_bytes(tar, MANIFEST, manifest.to_json())
            tar.add(database, DATABASE)
            for name, path in members:
                tar.add(path, name)
        _write_sealed(plain, target, passphrase)
    return manifest


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o600
    tar.addfile(info, io.BytesIO(data))


def _write_sealed(plain: Path, target: Path, passphrase: bytes) -> None:
    partial = target.with_name(f".{target.name}.partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            sealed.seal(plain, handle, passphrase)
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def restore(settings: Settings, engine: Engine, source: Path, passphrase: bytes) -> Manifest:
    """Bring a fresh home and an empty database back to the state of ``source``."""
    with tempfile.TemporaryDirectory(prefix="certsvc-restore-") as work:
        plain = Path(work) / "archive.tar"
        try:
            with source.open("rb") as handle, plain.open("wb") as out:
                sealed.unseal(handle, out, passphrase)
        except FileNotFoundError as exc:
            raise InputError(f"backup file not found: {source}") from exc
        with tarfile.open(plain, "r") as tar:
            manifest = Manifest.from_json(_read_member(tar, MANIFEST))
            backend = snapshot.backend_of(settings.database_url)
            if manifest.backend != backend:
                raise InputError(
                    f"the backup holds a {manifest.backend} database; this installation "
                    f"is configured for {backend}"
                )
            contents.refuse_existing(settings.home_dir, list(manifest.files))
            snapshot.refuse_non_empty(engine)
            database = Path(work) / DATABASE
            database.write_bytes(_read_member(tar, DATABASE))
            snapshot.load(settings.database_url, engine, database)
            for name in manifest.files:
                _write_file(contents.disk_path(settings.home_dir, name), tar, name)
    return manifest


def _read_member(tar: tarfile.TarFile, name: str) -> bytes:
    try:
        handle = tar.extractfile(name)
    except KeyError as exc:
        raise InputError(f"the backup lacks {name}") from exc
    if handle is None:
        raise InputError(f"the backup's {name} is not a file")
    return handle.read()


def _write_file(path: Path, tar: tarfile.TarFile, name: str) -> None:
    """Restore one file with its owner-only rights (never looser than 0600/0700)."""
    mode = tar.getmember(name).mode & 0o700 or 0o600
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(_read_member(tar, name))
