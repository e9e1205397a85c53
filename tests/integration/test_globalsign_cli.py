"""The whole lifecycle through the same CLI, with the GlobalSign adapter against the fake."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from cryptography import x509

from certsvc.cli.main import main
from certsvc.domain.fingerprints import format_serial
from tests.keys import make_csr


@pytest.fixture
def cli(tmp_path, database_url, fake_hvca):
    """Runs ``certsvc --config`` with a file that points at the fake (real clock, tiny backoff)."""
    fake_hvca.reset()
    section = {**fake_hvca.settings(), "poll_initial_seconds": 0.01, "retry_initial_seconds": 0.01}
    lines = [f'home = "{tmp_path / "home"}"', "[database]", f'url = "{database_url}"']
    lines += ["[logging]", 'level = "warning"', "[ca]", 'adapter = "globalsign"', "[ca.globalsign]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in section.items()]
    config = tmp_path / "certsvc.toml"
    config.write_text("\n".join(lines) + "\n")
    runner = CliRunner()

    def run(*args, code=0):
        result = runner.invoke(main, ["--config", str(config), *args], catch_exceptions=False)
        assert result.exit_code == code, result.output + result.stderr
        return result

    return run


def start(cli):
    """An initialised home with tenant 1001 and subscriber taro."""
    cli("init")
    cli("tenant", "add", "1001", "--name", "Acme KK", "--admin-email", "admin@acme.example.jp")
    cli("subscriber", "add", "1001", "taro", "--email", "taro@acme.example.jp")


def csr_file(tmp_path, name):
    path = tmp_path / f"{name}.csr"
    path.write_bytes(make_csr())
    return str(path)


def test_issue_renew_reissue_revoke_and_crl_through_the_cli(cli, tmp_path, fake_hvca):
    start(cli)
    first = json.loads(
        cli("cert", "issue", "1001", "taro", "--csr", csr_file(tmp_path, "a"), "--json").output
    )
    renewed = json.loads(
        cli("cert", "renew", first["serial"], "--csr", csr_file(tmp_path, "b"), "--json").output
    )
    reissued = json.loads(
        cli("cert", "reissue", renewed["serial"], "--reason", "pc-change", "--csr",
            csr_file(tmp_path, "c"), "--json").output
    )  # fmt: skip
    cli("cert", "revoke", first["serial"], "--reason", "keyCompromise")
    assert fake_hvca.ca.counter("issued") == 3
    assert fake_hvca.ca.counter("revoked") == 2
    bundle = cli("crl", "--pem").output.encode()
    revoked = {
        format_serial(entry.serial_number)
        for block in bundle.split(b"-----END X509 CRL-----")[:-1]
        for entry in x509.load_pem_x509_crl(block + b"-----END X509 CRL-----\n")
    }
    assert {first["serial"], renewed["serial"]} <= revoked
    assert reissued["serial"] not in revoked
    check = cli("ca", "check").output
    assert [line.split()[:2] for line in check.splitlines()] == [
        ["ok", "login"], ["ok", "policy"], ["ok", "quota"], ["ok", "chain"], ["ok", "crl"]
    ]  # fmt: skip
    assert "dropped (never issued, may be retried): 0" in cli("reconcile").output


def test_ca_trouble_is_one_line_and_exit_5(cli, tmp_path, fake_hvca):
    start(cli)
    fake_hvca.ca.quota = 0
    result = cli("cert", "issue", "1001", "taro", "--csr", csr_file(tmp_path, "a"), code=5)
    assert result.stderr.count("\n") == 1
    assert "quota" in result.stderr
    check = cli("ca", "check", code=5).output
    assert "FAIL  quota" in check


def test_reconcile_names_a_request_it_could_not_settle_and_exits_5(cli, tmp_path, fake_hvca):
    start(cli)
    fake_hvca.faults.drop_after_issue = 1
    lost = cli("cert", "issue", "1001", "taro", "--csr", csr_file(tmp_path, "a"), code=5)
    assert "reconcile" in lost.stderr
    (serial,) = fake_hvca.ca.records
    fake_hvca.faults.broken_calls = {("GET", serial)}

    failed = cli("reconcile", "--older-than", "0", code=5)

    assert "failed (left pending for the next run): 1" in failed.output
    (line,) = [text for text in failed.stderr.splitlines() if text.startswith("certsvc:")]
    assert line.startswith("certsvc: reconcile: request 1: CA globalsign: ")
    assert f"internal error on certificate {serial:X}" in line
    assert '"event": "reconcile.failed"' in failed.stderr  # and the log says so too
    fake_hvca.faults.broken_calls = set()
    settled = json.loads(cli("reconcile", "--older-than", "0", "--json").output)
    assert settled == {
        "issued": [format_serial(serial)],
        "dropped": 0,
        "revoked": [],
        "failed": [],
    }
    assert fake_hvca.ca.counter("issued") == 1


def test_ca_check_on_a_fresh_install_warns_that_no_crl_url_is_known_yet(cli, tmp_path):
    """Before the first issuance the CA's CRL URL is unknown: a warning, not a failure."""
    start(cli)
    check = cli("ca", "check").output  # exit 0
    marks = {line.split()[1]: line.split()[0] for line in check.splitlines()}
    assert marks == {"login": "ok", "policy": "ok", "quota": "ok", "chain": "ok", "crl": "WARN"}
    (crl_line,) = [line for line in check.splitlines() if line.split()[1] == "crl"]
    assert "root #1 mirrored" in crl_line
    assert "no CRL URL of the issuing CA known yet" in crl_line
    assert "ca.globalsign.crl_urls" in crl_line
    issued = cli("cert", "issue", "1001", "taro", "--csr", csr_file(tmp_path, "a"), "--json")
    assert json.loads(issued.output)["serial"]
    after = cli("ca", "check").output
    assert [line.split()[0] for line in after.splitlines()] == ["ok"] * 5  # the URL is known


def test_ca_check_fails_on_a_crl_that_cannot_be_mirrored(cli, fake_hvca):
    start(cli)
    fake_hvca.faults.crl = "bad-signature"
    check = cli("ca", "check", code=5).output
    (crl_line,) = [line for line in check.splitlines() if line.split()[1] == "crl"]
    assert crl_line.startswith("FAIL")
    assert "/crl/root.crl" in crl_line
