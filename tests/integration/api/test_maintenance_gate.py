"""The maintenance window refused below both edges: the CLI exits 7, the API answers 503,
with the window's end in the business zone; nothing is written; ``--force`` is audited."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from certsvc.app import Services
from certsvc.cli.main import main
from certsvc.clock import FixedClock
from certsvc.storage.models import AuditEvent
from tests.conftest import COMPANY, USER, make_settings
from tests.integration.api.conftest import bearer, issue
from tests.keys import make_csr
from tests.timestamps import issued, maintenance_closes, maintenance_opens

SECOND = timedelta(seconds=1)
END_SHOWN = "2026-11-29 08:00 JST"


@pytest.fixture
def cli(tmp_path, database_url):
    """certsvc's CLI with an injected clock (``cli.clock``), as an operator types it."""
    config = tmp_path / "certsvc.toml"
    config.write_text(f'home = "{tmp_path / "home"}"\n[database]\nurl = "{database_url}"\n')
    clock = FixedClock(issued)
    runner = CliRunner()

    def run(*args):
        result = runner.invoke(main, ["--config", str(config), *args], obj=clock)
        return result.exit_code, result.stdout, result.stderr

    run.clock = clock  # type: ignore[attr-defined]
    assert run("init")[0] == 0
    assert run("tenant", "add", COMPANY, "--name", "Acme KK", "--admin-email", "a@acme.jp")[0] == 0
    assert run("subscriber", "add", COMPANY, USER, "--email", "taro@acme.jp")[0] == 0
    csr = tmp_path / "taro.csr"
    csr.write_bytes(make_csr())
    run.csr = str(csr)  # type: ignore[attr-defined]
    return run


def issue_cli(cli):
    code, out, err = cli("cert", "issue", COMPANY, USER, "--csr", cli.csr, "--json")
    return code, (json.loads(out)["serial"] if code == 0 else err)


def certificates(cli):
    code, out, _ = cli("cert", "list", "--json")
    assert code == 0  # a read: allowed in the window
    return json.loads(out)


@pytest.mark.parametrize("at", [maintenance_opens, maintenance_closes - SECOND])
def test_the_cli_refuses_changes_in_the_window_with_exit_7(cli, at):
    code, serial = issue_cli(cli)
    assert code == 0
    cli.clock.set(at)
    code, err = issue_cli(cli)
    assert code == 7
    assert f"maintenance window: changes are refused until {END_SHOWN}" in err
    assert cli("cert", "revoke", serial, "--reason", "keyCompromise")[0] == 7
    assert cli("subscriber", "add", COMPANY, "jiro", "--email", "jiro@acme.jp")[0] == 7
    assert cli("tenant", "add", "2002", "--name", "B", "--admin-email", "b@b.jp")[0] == 7
    shown = certificates(cli)
    assert [(row["serial"], row["state"]) for row in shown] == [(serial, "issued")]


def test_the_cli_accepts_changes_from_08_00_00(cli):
    cli.clock.set(maintenance_closes)
    code, _ = issue_cli(cli)
    assert code == 0
    assert len(certificates(cli)) == 1


def test_force_passes_the_window_and_is_audited(cli, cli_services):
    cli.clock.set(maintenance_opens + timedelta(hours=1))
    code, out, err = cli("cert", "issue", COMPANY, USER, "--csr", cli.csr, "--json", "--force")
    assert code == 0, err
    serial = json.loads(out)["serial"]
    assert (
        cli("cert", "revoke", serial, "--reason", "superseded", "--force", "--ticket", "M-1")[0]
        == 0
    )
    with cli_services.sessions() as session:
        forced = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "maintenance.forced")
        ).all()
    assert [(event.after or {}).get("action") for event in forced] == [
        "certificate.issue",
        "certificate.revoke",
    ]
    assert forced[1].ticket == "M-1"
    assert forced[0].actor.startswith("cli:")


@pytest.fixture
def cli_services(cli, tmp_path, database_url):
    """The same database and home as ``cli``, read directly to check what was written."""
    built = Services(make_settings(tmp_path / "home", database_url), cli.clock)
    yield built
    built.close()


# -- the HTTP API: the same gate, every changing route ------------------------------------


def changing_routes(api):
    """Every POST/PUT/PATCH/DELETE route under /api/v1, from the app's own OpenAPI."""
    paths = api.get("/openapi.json").json()["paths"]
    return sorted(
        (method.upper(), path)
        for path, operations in paths.items()
        if path.startswith("/api/v1/")
        for method in operations
        if method in ("post", "put", "patch", "delete")
    )


def fill(path, serial):
    return (
        path.replace("{company_number}", COMPANY)
        .replace("{user_id}", USER)
        .replace("{serial}", serial)
        .replace("{token}", "t" * 43)
        .replace("{message_id}", "1")
    )


@pytest.mark.parametrize("at", [maintenance_opens, maintenance_closes - SECOND])
def test_every_changing_api_route_answers_503_until_the_end(api, tokens, clock, at):
    serial = issue(api, tokens["helpdesk"])["serial"]
    routes = changing_routes(api)
    assert ("POST", "/api/v1/certificates") in routes
    clock.set(at)
    for method, path in routes:
        answer = api.request(method, fill(path, serial), json={}, headers=bearer(tokens["admin"]))
        # 422 for a body the route cannot parse is fine: the refusal is about changes
        assert answer.status_code in (503, 422), (method, path, answer.text)
        if answer.status_code == 503:
            assert answer.headers["retry-after"] == "Sat, 28 Nov 2026 23:00:00 GMT"
            assert END_SHOWN in answer.json()["detail"]
    revoke = api.post(
        f"/api/v1/certificates/{serial}/revoke",
        json={"reason": "keyCompromise"},
        headers=bearer(tokens["admin"]),
    )
    assert revoke.status_code == 503
    assert (
        api.get(f"/api/v1/certificates/{serial}", headers=bearer(tokens["admin"])).json()["state"]
        == "issued"
    )


def test_the_api_accepts_changes_from_08_00_00(api, tokens, clock):
    clock.set(maintenance_closes)
    serial = issue(api, tokens["helpdesk"])["serial"]
    revoke = api.post(
        f"/api/v1/certificates/{serial}/revoke",
        json={"reason": "keyCompromise"},
        headers=bearer(tokens["admin"]),
    )
    assert revoke.status_code == 200, revoke.text
