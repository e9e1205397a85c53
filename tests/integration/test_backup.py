"""``certsvc backup`` and ``certsvc restore``: a round trip on SQLite and PostgreSQL.

Back up, issue and revoke more (publishing CRLs), restore into a fresh home and an empty
database: the certificates and CRL numbers are those of the backup, and the next CRL is
numbered above every CRL published before the restore, so gateways take it.
"""

from __future__ import annotations

import json
import stat

import pytest
import structlog
from click.testing import CliRunner
from sqlalchemy import select, text

from certsvc.cli.main import main
from certsvc.storage.db import make_engine, migrate
from certsvc.storage.models import PublishedCRL
from tests.conftest import POSTGRES_URL
from tests.keys import make_csr

PASSPHRASE = "correct horse battery staple"


def runner_for(tmp_path, name, database_url):
    config = tmp_path / f"{name}.toml"
    config.write_text(f'home = "{tmp_path / name}"\n[database]\nurl = "{database_url}"\n')
    runner = CliRunner(env={"CERTSVC_BACKUP_PASSPHRASE": PASSPHRASE, "CERTSVC_CA_PASSPHRASE": ""})

    def run(*args, expect=0):
        result = runner.invoke(main, ["--config", str(config), *args], catch_exceptions=False)
        assert result.exit_code == expect, result.output
        return result.stdout if expect == 0 else result.stderr

    return run


def issue(cli, tmp_path, user):
    cli("subscriber", "add", "1001", user, "--email", f"{user}@acme.example.jp")
    csr = tmp_path / f"{user}.csr"
    csr.write_bytes(make_csr())
    return json.loads(cli("cert", "issue", "1001", user, "--csr", str(csr), "--json"))["serial"]


def crl_numbers(database_url):
    engine = make_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(select(PublishedCRL.ca_name, PublishedCRL.number)).all()
    engine.dispose()
    return sorted((ca, number) for ca, number in rows)


@pytest.fixture(autouse=True)
def schema_back():
    """The PostgreSQL schema is migrated again after a test that dropped it, and structlog
    is left as other tests expect it (the CLI configures it for stderr)."""
    yield
    structlog.reset_defaults()
    if POSTGRES_URL:
        engine = make_engine(POSTGRES_URL)
        migrate(engine)
        engine.dispose()


def fresh_database(tmp_path, database_url):
    """An empty database for the restore: a new SQLite file, or the PostgreSQL test schema
    dropped (the restore brings every table back)."""
    if not POSTGRES_URL:
        return f"sqlite:///{tmp_path / 'restored.db'}"
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return database_url


def test_round_trip_restores_the_backup_state_with_higher_crl_numbers(tmp_path, database_url):
    cli = runner_for(tmp_path, "home", database_url)
    cli("init")
    cli("tenant", "add", "1001", "--name", "Acme KK", "--admin-email", "a@acme.example.jp")
    kept = issue(cli, tmp_path, "taro")
    cli("crl")
    at_backup = crl_numbers(database_url)
    archive = tmp_path / "certsvc.backup"
    assert "backup written" in cli("backup", str(archive), "--now", "2026-04-01T10:00:00+09:00")
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert b"BEGIN" not in archive.read_bytes()  # no PEM key or certificate in clear

    lost = issue(cli, tmp_path, "hanako")
    cli("cert", "revoke", kept, "--reason", "keyCompromise")
    cli("crl")
    published = max(number for _, number in crl_numbers(database_url))
    assert published > max(number for _, number in at_backup)

    target_url = fresh_database(tmp_path, database_url)
    restored = runner_for(tmp_path, "fresh", target_url)
    out = restored("restore", str(archive), "--now", "2026-04-01T10:00:30+09:00")
    assert "restored the backup of 2026-04-01T01:00:00+00:00" in out

    listed = json.loads(restored("cert", "list", "--json"))
    assert [(row["serial"], row["state"]) for row in listed] == [(kept, "issued")]
    assert lost not in out
    after = crl_numbers(target_url)
    assert set(at_backup) <= set(after)  # the backup's CRLs, numbers unchanged
    newest = {ca: max(n for c, n in after if c == ca) for ca, _ in after}
    backed_up = {ca: max(n for c, n in at_backup if c == ca) for ca, _ in at_backup}
    for ca, number in newest.items():
        assert number == backed_up[ca] + 1000 + 30  # one per second since the backup + 1000
        assert number > published
    # The restored CA still signs: a new certificate chains to the same root.
    assert restored("ca", "show", "--pem") == cli("ca", "show", "--pem")
    issue(restored, tmp_path, "jiro")


def test_restore_refuses_a_home_in_use_and_a_wrong_passphrase(tmp_path, database_url):
    cli = runner_for(tmp_path, "home", database_url)
    cli("init")
    archive = tmp_path / "certsvc.backup"
    cli("backup", str(archive))
    out = cli("restore", str(archive), expect=4)
    assert "restore needs a fresh home" in out
    wrong = tmp_path / "wrong"
    wrong.write_text("not the passphrase at all\n")
    target_url = fresh_database(tmp_path, database_url)
    fresh = runner_for(tmp_path, "fresh", target_url)
    out = fresh("restore", str(archive), "--passphrase-file", str(wrong), expect=2)
    assert "wrong passphrase or damaged file" in out
    assert not (tmp_path / "fresh" / "ca").exists()


def test_a_truncated_or_foreign_file_is_refused(tmp_path, database_url):
    cli = runner_for(tmp_path, "home", database_url)
    cli("init")
    archive = tmp_path / "certsvc.backup"
    cli("backup", str(archive))
    cut = tmp_path / "cut.backup"
    cut.write_bytes(archive.read_bytes()[:-10])
    foreign = tmp_path / "foreign"
    foreign.write_bytes(b"PK\x03\x04 not ours")
    fresh = runner_for(tmp_path, "fresh", f"sqlite:///{tmp_path / 'other.db'}")
    assert "the backup is truncated" in fresh("restore", str(cut), expect=2)
    assert "not a certsvc backup" in fresh("restore", str(foreign), expect=2)


@pytest.mark.parametrize(
    ("env", "message"),
    [("", "give --passphrase-file or set $CERTSVC_BACKUP_PASSPHRASE"), ("short", "at least 12")],
)
def test_backup_needs_a_real_passphrase(tmp_path, database_url, env, message):
    config = tmp_path / "c.toml"
    config.write_text(f'home = "{tmp_path / "home"}"\n[database]\nurl = "{database_url}"\n')
    runner = CliRunner(env={"CERTSVC_BACKUP_PASSPHRASE": env})
    assert runner.invoke(main, ["--config", str(config), "init"]).exit_code == 0
    result = runner.invoke(main, ["--config", str(config), "backup", str(tmp_path / "b")])
    assert result.exit_code == 2
    assert message in result.stderr
    assert not (tmp_path / "b").exists()
