"""The CLI as an operator types it, with an injected clock, for the helpdesk tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from certsvc.cli.main import main
from certsvc.clock import FixedClock
from certsvc.storage.db import make_engine
from certsvc.storage.models import OutboxMessage
from tests.conftest import COMPANY, USER
from tests.keys import make_csr
from tests.timestamps import issued


@dataclass
class Cli:
    """``run(*args)`` -> (exit code, stdout, stderr); ``clock`` is the CLI's clock."""

    config: Path
    database_url: str
    clock: FixedClock
    folder: Path

    def run(self, *args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(main, ["--config", str(self.config), *args], obj=self.clock)
        return result.exit_code, result.stdout, result.stderr

    def csr(self, name: str) -> str:
        """A new key's CSR in a file; its path."""
        path = self.folder / f"{name}.csr"
        path.write_bytes(make_csr())
        return str(path)

    def issue(self, user: str = USER, csr: str | None = None) -> str:
        path = csr or self.csr(user)
        code, out, err = self.run("cert", "issue", COMPANY, user, "--csr", path, "--json")
        assert code == 0, err
        return str(json.loads(out)["serial"])

    def mails(self, kind: str) -> list[tuple[str, str]]:
        """(recipient, display name) of every queued mail of ``kind``, oldest first."""
        engine = make_engine(self.database_url)
        try:
            with engine.connect() as connection:
                rows = connection.execute(
                    select(OutboxMessage.recipient, OutboxMessage.payload)
                    .where(OutboxMessage.kind == kind)
                    .order_by(OutboxMessage.id)
                ).all()
        finally:
            engine.dispose()
        return [(recipient, payload.get("display_name", "")) for recipient, payload in rows]


def make_cli(tmp_path: Path, database_url: str, extra: str = "") -> Cli:
    """A fresh home with tenant 1001 and subscriber taro, the clock at ``issued``."""
    config = tmp_path / "certsvc.toml"
    config.write_text(
        f'home = "{tmp_path / "home"}"\n{extra}\n[database]\nurl = "{database_url}"\n'
    )
    cli = Cli(config, database_url, FixedClock(issued), tmp_path)
    steps: list[Callable[[], tuple[int, str, str]]] = [
        lambda: cli.run("init"),
        lambda: cli.run(
            "tenant", "add", COMPANY, "--name", "Acme KK", "--admin-email", "a@acme.jp"
        ),
        lambda: cli.run(
            "subscriber", "add", COMPANY, USER, "--email", "taro@acme.jp", "--name", "Taro Yamada"
        ),
    ]
    for step in steps:
        code, _, err = step()
        assert code == 0, err
    return cli
