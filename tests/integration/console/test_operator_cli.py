"""``certsvc operator add|list|reset|disable`` as an administrator on the box runs them."""

from __future__ import annotations

import json

import pytest
import structlog
from click.testing import CliRunner

from certsvc.access.sessions import SignIn
from certsvc.cli.main import main
from certsvc.errors import AuthenticationFailed
from tests.conftest import COMPANY
from tests.integration.console.conftest import PASSWORD, totp_of


@pytest.fixture
def cli(settings, services, tenants, tmp_path):
    config = tmp_path / "certsvc.toml"
    cheap = (
        "[credentials]\nargon2_time_cost = 1\nargon2_memory_kib = 1024\nargon2_parallelism = 1\n"
    )
    config.write_text(
        f'home = "{settings.home}"\n[database]\nurl = "{settings.database_url}"\n{cheap}'
    )
    password = tmp_path / "password"
    password.write_text(PASSWORD + "\n")

    def run(*args: str, stdin: str | None = None):
        return CliRunner().invoke(main, ["--config", str(config), *args], input=stdin)

    run.password_file = str(password)  # type: ignore[attr-defined]
    yield run
    structlog.reset_defaults()


def test_add_prints_the_enrolment_uri_alone_on_the_last_line(cli, services, tmp_path):
    qr = tmp_path / "hanako.svg"
    result = cli(
        "operator", "add", "hanako", "--role", "helpdesk",
        "--password-file", cli.password_file, "--qr", str(qr),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    uri = result.output.strip().splitlines()[-1]
    totp = totp_of(uri)
    assert uri.startswith("otpauth://totp/")
    assert " " not in uri
    assert qr.read_text().startswith("<svg")
    assert oct(qr.stat().st_mode & 0o777) == "0o600"
    code = totp.at(services.clock.now())
    assert services.console_sessions.sign_in(SignIn("hanako", PASSWORD, code)).must_change_password


def test_the_password_may_be_typed_at_a_prompt_twice(cli):
    result = cli("operator", "add", "jiro", "--role", "admin", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1].startswith("otpauth://totp/")
    assert PASSWORD not in result.output


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--role", "tenant-admin"), 2, "--company is required"),
        (("--role", "tenant-admin", "--company", "404"), 3, "unknown tenant"),
        (("--role", "helpdesk", "--company", COMPANY), 2, "only for it"),
        (("--role", "gateway"), 2, "Invalid value"),
    ],
)
def test_bad_accounts_are_refused_with_a_clear_message(cli, args, code, message):
    result = cli("operator", "add", "yuki", *args, "--password-file", cli.password_file)
    assert result.exit_code == code
    assert message in result.output
    assert "yuki" not in cli("operator", "list").output


def test_weak_or_missing_passwords_and_duplicates_are_refused(cli, tmp_path):
    weak = tmp_path / "weak"
    weak.write_text("aaaaaaaaaa\n")
    result = cli("operator", "add", "yuki", "--role", "admin", "--password-file", str(weak))
    assert result.exit_code == 2
    assert "two of" in result.output
    empty = tmp_path / "empty"
    empty.write_text("")
    assert (
        cli("operator", "add", "yuki", "--role", "admin", "--password-file", str(empty)).exit_code
        == 2
    )
    missing = cli("operator", "add", "yuki", "--role", "admin", "--password-file", "/nonexistent")
    assert missing.exit_code == 2
    assert (
        cli(
            "operator", "add", "bad name", "--role", "admin", "--password-file", cli.password_file
        ).exit_code
        == 2
    )
    assert (
        cli(
            "operator", "add", "yuki", "--role", "admin", "--password-file", cli.password_file
        ).exit_code
        == 0
    )
    again = cli("operator", "add", "yuki", "--role", "admin", "--password-file", cli.password_file)
    assert again.exit_code == 4


def test_list_reset_and_disable(cli, services, tmp_path):
    cli("operator", "add", "yuki", "--role", "tenant-admin", "--company", COMPANY,
        "--password-file", cli.password_file)  # fmt: skip
    (listed,) = json.loads(cli("operator", "list", "--json").output)
    assert listed["name"] == "yuki"
    assert listed["company_number"] == COMPANY
    assert listed["must_change_password"] is True
    assert "hash" not in json.dumps(listed)
    assert "secret" not in json.dumps(listed)
    png = tmp_path / "yuki.png"
    reset = cli("operator", "reset", "yuki", "--password-file", cli.password_file, "--qr", str(png))
    assert reset.exit_code == 0, reset.output
    assert png.read_bytes().startswith(b"\x89PNG")
    assert (
        cli(
            "operator", "reset", "yuki", "--password-file", cli.password_file, "--qr", str(png)
        ).exit_code
        == 2
    )
    totp = totp_of(reset.output.strip().splitlines()[-1])
    assert cli("operator", "disable", "yuki").exit_code == 0
    assert "disabled" in cli("operator", "disable", "yuki").output
    with pytest.raises(AuthenticationFailed):
        services.console_sessions.sign_in(SignIn("yuki", PASSWORD, totp.at(services.clock.now())))
    assert cli("operator", "reset", "yuki", "--password-file", cli.password_file).exit_code == 4
    assert cli("operator", "disable", "nobody").exit_code == 3
    table = cli("operator", "list").output
    assert "yuki" in table
    assert "tenant-admin" in table
