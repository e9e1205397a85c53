"""The CLI's answer when its database cannot be used: one line and exit 6, no traceback."""

from __future__ import annotations

from pathlib import Path

import structlog
from click.testing import CliRunner

from certsvc.cli.main import main


def run(tmp_path: Path, url: str, *args: str) -> tuple[int, str]:
    config = tmp_path / "certsvc.toml"
    config.write_text(f'home = "{tmp_path / "home"}"\n[database]\nurl = "{url}"\n')
    try:
        result = CliRunner().invoke(main, ["--config", str(config), *args])
    finally:
        structlog.reset_defaults()  # the CLI configured process-wide logging; undo it
    return result.exit_code, result.output


def test_a_refused_database_connection_is_one_line_and_exit_6(tmp_path: Path) -> None:
    code, output = run(tmp_path, "postgresql+psycopg://postgres@127.0.0.1:1/none", "cert", "list")
    assert code == 6
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    assert lines[0].startswith("certsvc: error: cannot reach the database")
    assert "Traceback" not in output


def test_a_home_not_initialised_says_run_init(tmp_path: Path) -> None:
    code, output = run(tmp_path, f"sqlite:///{tmp_path / 'empty.db'}", "cert", "list")
    assert code == 6
    assert output.strip().splitlines() == [
        "certsvc: error: the database is not initialised: run `certsvc init`"
    ]
