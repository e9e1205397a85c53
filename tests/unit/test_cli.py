"""The ``certsvc`` command line: the documented commands, ``--json`` shapes, exit codes."""

import json
import stat

import pytest
from click.testing import CliRunner

from certsvc.cli.main import main
from tests.keys import make_csr

JSON_KEYS = {
    "serial",
    "sha256",
    "state",
    "not_before",
    "not_after",
    "expiry_date",
    "revocation_reason",
    "replaces",
    "superseded_by",
    "company_number",
    "user_id",
}


@pytest.fixture
def cli(tmp_path, database_url):
    """Run certsvc with a config file for a fresh home; returns (exit code, stdout, stderr)."""
    config = tmp_path / "certsvc.toml"
    config.write_text(f'home = "{tmp_path / "home"}"\n[database]\nurl = "{database_url}"\n')
    runner = CliRunner()

    def run(*args):
        result = runner.invoke(main, ["--config", str(config), *args], catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return run


@pytest.fixture
def ready(cli, tmp_path):
    assert cli("init")[0] == 0
    assert (
        cli("tenant", "add", "1001", "--name", "Acme KK", "--admin-email", "a@acme.example.jp")[0]
        == 0
    )
    code, out, _ = cli("subscriber", "add", "1001", "taro", "--email", "taro@acme.example.jp")
    assert (code, out.strip()) == (0, "subscriber 1001/taro added")
    csr = tmp_path / "taro.csr"
    csr.write_bytes(make_csr())
    return csr


def issue_json(cli, csr):
    code, out, _ = cli("cert", "issue", "1001", "taro", "--csr", str(csr), "--json")
    assert code == 0
    return json.loads(out)


def test_init_creates_the_ca_and_says_where(cli, tmp_path):
    code, out, _ = cli("init")
    assert code == 0
    assert f"created a two-tier CA (root and issuing CA) in {tmp_path / 'home' / 'ca'}" in out
    key = tmp_path / "home" / "ca" / "issuing.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert b"ENCRYPTED PRIVATE KEY" in key.read_bytes()
    assert cli("init")[0] == 0  # safe to run again


def test_issue_json_has_the_documented_keys(cli, ready):
    document = issue_json(cli, ready)
    assert JSON_KEYS <= set(document)
    assert document["state"] == "issued"
    assert document["serial"] == document["serial"].upper()
    assert len(document["serial"]) % 2 == 0
    assert document["not_after"].endswith("+09:00")


def test_list_and_show(cli, ready):
    serial = issue_json(cli, ready)["serial"]
    code, out, _ = cli("cert", "list", "--json", "--company", "1001", "--state", "issued")
    assert code == 0
    assert [entry["serial"] for entry in json.loads(out)] == [serial]
    code, out, _ = cli("cert", "list")
    assert out.splitlines()[0].split() == [
        "SERIAL",
        "STATE",
        "COMPANY_NUMBER",
        "USER_ID",
        "EXPIRY_DATE",
        "REVOCATION_REASON",
    ]
    assert serial in out
    assert cli("cert", "list", "--json", "--expiring-within", "30")[1].strip() == "[]"
    code, out, _ = cli("cert", "show", serial.lower(), "--pem")
    assert out.startswith("-----BEGIN CERTIFICATE-----")


def test_reissue_then_revoke_twice(cli, ready, tmp_path):
    serial = issue_json(cli, ready)["serial"]
    new_csr = tmp_path / "new.csr"
    new_csr.write_bytes(make_csr())
    code, out, _ = cli(
        "cert",
        "reissue",
        serial,
        "--reason",
        "pc-change",
        "--ticket",
        "T-9",
        "--csr",
        str(new_csr),
        "--json",
    )
    new = json.loads(out)
    assert (code, new["replaces"]) == (0, serial)
    code, out, _ = cli("cert", "show", serial, "--json")
    assert json.loads(out)["revocation_reason"] == "superseded"
    assert cli("cert", "revoke", new["serial"], "--reason", "keyCompromise")[0] == 0
    code, out, err = cli("cert", "revoke", new["serial"], "--reason", "keyCompromise")
    assert code == 4
    assert err.strip() == f"certsvc: error: certificate {new['serial']} is revoked; cannot revoke"


def test_errors_are_one_line_with_distinct_exit_codes(cli, ready, tmp_path):
    code, _, err = cli("cert", "show", "0ABC")
    assert (code, err.strip()) == (3, "certsvc: error: unknown certificate: 0ABC")
    bad = tmp_path / "bad.csr"
    bad.write_text("garbage")
    code, _, err = cli("cert", "issue", "1001", "taro", "--csr", str(bad))
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "malformed CSR" in err
    code, out, _ = cli("cert", "list", "--json")
    assert json.loads(out) == []  # nothing written
    code, _, err = cli("cert", "issue", "1001", "taro")
    assert (code, err.strip()) == (
        2,
        "certsvc: error: give either --csr FILE or --pkcs12 OUT --password-file F",
    )


def test_pkcs12_is_written_0600_and_never_overwritten(cli, ready, tmp_path):
    password = tmp_path / "pw"
    password.write_text("correct horse 42\n")
    out_file = tmp_path / "taro.p12"
    code, *_ = cli(
        "cert", "issue", "1001", "taro", "--pkcs12", str(out_file), "--password-file", str(password)
    )
    assert code == 0
    assert stat.S_IMODE(out_file.stat().st_mode) == 0o600
    code, _, err = cli(
        "cert", "issue", "1001", "taro", "--pkcs12", str(out_file), "--password-file", str(password)
    )
    assert (code, err.strip()) == (2, f"certsvc: error: refusing to overwrite {out_file}")
    assert len(json.loads(cli("cert", "list", "--json")[1])) == 1


def test_ca_show_pem_is_issuing_then_root_and_crl_pem_has_both(cli, ready, tmp_path):
    code, out, _ = cli("ca", "show", "--pem")
    assert code == 0
    assert out.count("-----BEGIN CERTIFICATE-----") == 2
    code, out, _ = cli("ca", "show")
    assert out.splitlines()[0] == "adapter: local"
    assert "Issuing CA" in out.splitlines()[2]
    assert "Root CA" in out.splitlines()[3]
    code, out, _ = cli("crl", "--pem")
    assert out.count("-----BEGIN X509 CRL-----") == 2
    target = tmp_path / "crls.pem"
    code, out, _ = cli("crl", "-o", str(target))
    assert target.read_bytes().count(b"-----BEGIN X509 CRL-----") == 2
    assert out.splitlines()[0].split() == ["CA", "NUMBER", "THIS_UPDATE", "NEXT_UPDATE", "BYTES"]


def test_a_bad_config_file_is_exit_6(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("[ca]\nadaptr = 1\n")
    result = CliRunner().invoke(main, ["--config", str(config), "init"])
    assert result.exit_code == 6
    assert (
        result.stderr.strip()
        == "certsvc: error: config key ca.adaptr: Extra inputs are not permitted"
    )


def test_demo_runs_the_main_job_end_to_end(cli, tmp_path):
    code, out, _ = cli("demo")
    assert code == 0
    issued = next(line for line in out.splitlines() if line.startswith("issued"))
    old_serial = issued.split()[1]
    assert f"{old_serial} revoked (superseded)" in out
    bundle = tmp_path / "home" / "crl-bundle.pem"
    assert bundle.read_bytes().count(b"-----BEGIN X509 CRL-----") == 2
    code, out, _ = cli("cert", "show", old_serial, "--json")
    assert json.loads(out)["state"] == "revoked"
