"""CLI parity for reads: ``tenant list``, ``subscriber list`` and ``audit`` with the API's
filters, as tables for people and ``--json`` for tools."""

import json

import pytest
from click.testing import CliRunner

from certsvc.cli.main import main


@pytest.fixture
def cli(tmp_path, database_url):
    config = tmp_path / "certsvc.toml"
    config.write_text(f'home = "{tmp_path / "home"}"\n[database]\nurl = "{database_url}"\n')
    runner = CliRunner()

    def run(*args):
        result = runner.invoke(main, ["--config", str(config), *args], catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    assert run("init")[0] == 0
    for number, name in (("2002", "Beta KK"), ("1001", "Acme KK")):
        assert (
            run("tenant", "add", number, "--name", name, "--admin-email", "a@x.example.jp")[0] == 0
        )
    for user in ("taro", "hanako", "jiro"):
        assert run("subscriber", "add", "1001", user, "--email", f"{user}@acme.example.jp")[0] == 0
    return run


def test_tenant_list_by_company_number_with_subscriber_counts(cli):
    code, out, err = cli("tenant", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["COMPANY_NUMBER", "NAME"]
    assert [line.split()[0] for line in lines[1:]] == ["1001", "2002"]
    assert "2 of 2 tenant(s)" in err
    code, out, _ = cli("tenant", "list", "--json", "--limit", "1", "--offset", "1")
    assert [(t["company_number"], t["subscribers"]) for t in json.loads(out)] == [("2002", 0)]
    assert json.loads(cli("tenant", "list", "--json")[1])[0]["subscribers"] == 3


def test_subscriber_list_in_registration_order_and_unknown_tenant_exits_3(cli):
    code, out, _ = cli("subscriber", "list", "1001", "--json", "--offset", "1")
    assert (code, [s["user_id"] for s in json.loads(out)]) == (0, ["hanako", "jiro"])
    code, _, err = cli("subscriber", "list", "9999")
    assert code == 3
    assert "9999" in err


def test_audit_filters_like_the_api(cli):
    code, out, _ = cli("audit", "--company", "1001", "--json")
    actions = [event["action"] for event in json.loads(out)]
    assert (code, actions) == (0, ["tenant.add", *["subscriber.add"] * 3])
    code, out, err = cli("audit", "--company", "2002")
    assert code == 0
    assert "tenant.add" in out
    assert "subscriber.add" not in out
    assert "1 of 1 event(s)" in err
    code, _, err = cli("audit", "--since", "2026-01-01T00:00")
    assert code == 2  # a naive instant is refused: its zone would be a guess
    code, out, _ = cli("audit", "--json", "--limit", "2", "--offset", "3")
    assert len(json.loads(out)) == 2
