"""What a backup holds besides the database: the home's files and secret files elsewhere.

Everything under ``$CERTSVC_HOME`` is taken (the local CA's keys, certificate and
passphrase file, the credentials pepper, gateway files) except the live database files,
which the snapshot replaces, and lock files. Secret files configured outside the home
(``[credentials] pepper_file``, ``[ca.local] dir`` and ``passphrase_file``) are taken too,
under their absolute path. Keys inside a PKCS#11 token are not files: they stay in the
token, which is backed up by its own means.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sqlalchemy.engine import make_url

from certsvc.config import Settings
from certsvc.errors import Conflict, InputError

SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")


@dataclass(frozen=True)
class FileSet:
    """The home directory, paths outside it, and the files never to copy."""

    home: Path
    outside: tuple[Path, ...]
    skip: frozenset[Path]

    def files(self) -> Iterator[tuple[str, Path]]:
        """(name in the archive, path on disk) of every file to keep, in a stable order."""
        for root in (self.home, *self.outside):
            paths = sorted(root.rglob("*")) if root.is_dir() else [root]
            for path in paths:
                if path.is_file() and not path.is_symlink() and not self._skipped(path):
                    yield archive_name(self.home, path), path

    def _skipped(self, path: Path) -> bool:
        return path in self.skip or path.name.endswith(".lock")


def archive_name(home: Path, path: Path) -> str:
    if path.is_relative_to(home):
        return str(PurePosixPath("home", path.relative_to(home).as_posix()))
    return str(PurePosixPath("outside", path.as_posix().lstrip("/")))


def disk_path(home: Path, name: str) -> Path:
    """Where an archive member goes; names that would leave their root are refused."""
    parts = PurePosixPath(name).parts
    if len(parts) < 2 or ".." in parts or parts[0] not in ("home", "outside"):
        raise InputError(f"the backup holds a file with a bad name: {name!r}")
    root = home if parts[0] == "home" else Path("/")
    return root.joinpath(*parts[1:])


def file_set(settings: Settings, extra_skip: tuple[Path, ...] = ()) -> FileSet:
    home = settings.home_dir
    local = settings.ca.options("local")
    configured = [
        settings.path(settings.credentials.pepper_file, "credentials.pepper"),
        settings.path(str(local.get("dir", "")), "ca"),
    ]
    if local.get("passphrase_file"):
        configured.append(settings.path(str(local["passphrase_file"]), ""))
    outside = tuple(path for path in configured if not path.is_relative_to(home) and path.exists())
    skip = {path.resolve() for path in extra_skip}
    database = make_url(settings.database_url)
    if database.get_backend_name() == "sqlite" and database.database:
        skip.update(Path(f"{database.database}{suffix}") for suffix in SQLITE_SUFFIXES)
    return FileSet(home, outside, frozenset(skip))


def refuse_existing(home: Path, names: list[str]) -> None:
    """A restore fills a fresh home: a file already there is refused, never overwritten."""
    present = [str(disk_path(home, name)) for name in names if disk_path(home, name).exists()]
    if present:
        raise Conflict(
            f"restore needs a fresh home; these files exist already: {', '.join(present[:3])}"
        )
