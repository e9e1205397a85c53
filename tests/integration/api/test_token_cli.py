"""``certsvc token create|list|revoke`` and the tokens it makes, used against the API."""

from __future__ import annotations

import json

import pytest
import structlog
from click.testing import CliRunner

from certsvc.cli.main import main
from tests.conftest import COMPANY
from tests.integration.api.conftest import bearer


@pytest.fixture
def cli(settings, services, tenants):
    """Runs ``certsvc`` in-process against the test database."""
    config = settings.home_dir / "certsvc.toml"
    config.write_text(f'home = "{settings.home}"\n[database]\nurl = "{settings.database_url}"\n')

    def run(*args: str):
        return CliRunner().invoke(main, ["--config", str(config), *args])

    yield run
    structlog.reset_defaults()  # the CLI configured process-wide logging; undo it


def test_create_prints_the_token_alone_on_the_last_line(cli, api):
    result = cli("token", "create", "--role", "helpdesk", "--name", "desk-7")
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("csv_")
    assert " " not in token
    assert api.get("/api/v1/certificates", headers=bearer(token)).status_code == 200


def test_list_shows_tokens_without_secrets_and_last_use(cli, api):
    token = cli("token", "create", "--role", "admin", "--name", "root").output.splitlines()[-1]
    api.get("/api/v1/audit", headers=bearer(token))
    listed = cli("token", "list", "--json")
    assert token not in listed.output
    (info,) = [item for item in json.loads(listed.output) if item["name"] == "root"]
    assert info["role"] == "admin"
    assert info["last_used_at"] is not None


def test_revoke_makes_the_token_useless(cli, api):
    token = cli("token", "create", "--role", "admin", "--name", "old").output.splitlines()[-1]
    assert cli("token", "revoke", "old").exit_code == 0
    assert api.get("/api/v1/audit", headers=bearer(token)).status_code == 401
    assert "old" in cli("token", "list").output


def test_tenant_admin_needs_an_existing_company(cli, api):
    missing = cli("token", "create", "--role", "tenant-admin", "--name", "t")
    assert missing.exit_code == 2
    unknown = cli("token", "create", "--role", "tenant-admin", "--name", "t", "--company", "404")
    assert unknown.exit_code == 3
    made = cli("token", "create", "--role", "tenant-admin", "--name", "t", "--company", COMPANY)
    token = made.output.splitlines()[-1]
    assert api.get(f"/api/v1/tenants/{COMPANY}", headers=bearer(token)).status_code == 200
    assert api.get("/api/v1/tenants/2002", headers=bearer(token)).status_code == 404


def test_names_are_unique_and_roles_known(cli):
    assert cli("token", "create", "--role", "admin", "--name", "a").exit_code == 0
    assert cli("token", "create", "--role", "admin", "--name", "a").exit_code == 4
    assert cli("token", "create", "--role", "root", "--name", "b").exit_code == 2
