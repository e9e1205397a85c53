"""One public address: where certificates, pages and mails send people, and what is refused."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from cryptography import x509

from ca_adapters.base import AdapterContext
from ca_adapters.local.adapter import LocalCA
from ca_adapters.local.options import LocalOptions
from ca_adapters.testing.memory_ledger import MemoryLedger
from certsvc.cli.main import main
from certsvc.clock import FixedClock
from certsvc.config import settings_from_dict
from certsvc.domain.public_address import (
    certificate_links,
    is_loopback,
    pickup_link_base,
    public_address,
    serving_url,
)
from certsvc.errors import ConfigError
from tests import timestamps
from tests.keys import make_csr


def test_the_public_address_comes_from_public_url_then_link_base_url_then_serve():
    assert public_address(settings_from_dict({})).origin == "http://127.0.0.1:8080"
    served = settings_from_dict({"http": {"host": "192.0.2.7", "port": 9000}})
    assert public_address(served).origin == "http://192.0.2.7:9000"
    pages = settings_from_dict({"pickup": {"link_base_url": "https://Certs.Example.jp/pickup"}})
    assert public_address(pages).origin == "https://certs.example.jp"
    assert pickup_link_base(pages) == "https://Certs.Example.jp/pickup"
    both = settings_from_dict({"http": {"public_url": "http://pki.example.jp:8080/"}})
    assert public_address(both).origin == "http://pki.example.jp:8080"
    assert pickup_link_base(both) == "http://pki.example.jp:8080/pickup"


def test_two_public_addresses_are_refused():
    with pytest.raises(ConfigError, match=r"http.public_url .* and pickup.link_base_url"):
        settings_from_dict(
            {
                "http": {"public_url": "http://pki.example.jp"},
                "pickup": {"link_base_url": "https://www.example.jp/pickup"},
            }
        )


@pytest.mark.parametrize(
    ("section", "key"),
    [("http", "public_url"), ("certificates", "url_base"), ("certificates", "crl_url")],
)
def test_a_url_that_is_no_http_url_names_its_key(section, key):
    with pytest.raises(ConfigError, match=f"config key {section}.{key}: must be an http"):
        settings_from_dict({section: {key: "ldap://ca.example.jp/crl"}})


def test_serving_url_reaches_a_wildcard_on_loopback():
    http = settings_from_dict({"http": {"host": "0.0.0.0", "tls_cert": "c", "tls_key": "k"}}).http
    assert serving_url(http) == "https://127.0.0.1:8080"
    assert serving_url(http, "::1", 9443) == "https://[::1]:9443"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.8.0.1", True), ("::1", True), ("[::1]", True),
     ("localhost", True), ("0.0.0.0", False), ("::", False), ("192.0.2.1", False),
     ("certsvc.example.jp", False)],
)  # fmt: skip
def test_loopback_hosts(host, loopback):
    assert is_loopback(host) is loopback


def test_loopback_urls_are_refused_only_while_serving_beyond_loopback():
    assert certificate_links(settings_from_dict({})).refused == ""
    wide = settings_from_dict({"http": {"host": "0.0.0.0"}})
    assert "point at loopback (http://127.0.0.1:8080)" in certificate_links(wide).refused
    named = settings_from_dict({"http": {"host": "0.0.0.0", "public_url": "http://pki.example.jp"}})
    assert certificate_links(named).refused == ""
    override = settings_from_dict(
        {
            "http": {"host": "0.0.0.0", "public_url": "http://pki.example.jp"},
            "certificates": {"ocsp_url": "http://localhost:8080/ocsp"},
        }
    )
    assert "http://localhost:8080/ocsp" in certificate_links(override).refused
    assert certificate_links(named, listen_host="127.0.0.1").refused == ""


def test_url_base_wins_over_the_public_address():
    settings = settings_from_dict(
        {
            "http": {"public_url": "https://certs.example.jp"},
            "certificates": {"url_base": "http://certs.example.jp"},
        }
    )
    assert certificate_links(settings).base_url == "http://certs.example.jp"


def _cli(tmp_path: Path, extra: str = ""):
    config = tmp_path / "certsvc.toml"
    config.write_text(f'home = "{tmp_path / "home"}"\n{extra}')
    runner = CliRunner()
    return lambda *args: runner.invoke(main, ["--config", str(config), *args])


def test_init_says_which_urls_go_into_certificates(tmp_path):
    cli = _cli(tmp_path, '[http]\npublic_url = "http://pki.example.jp"\nhost = "0.0.0.0"\n')
    result = cli("init")
    assert result.exit_code == 0, result.output
    assert (
        "client certificates carry: CRL http://pki.example.jp/crl/issuing.crl, "
        "OCSP http://pki.example.jp/ocsp, CA issuer http://pki.example.jp/ca/issuing.cer"
    ) in result.output
    issuing = x509.load_pem_x509_certificate((tmp_path / "home/ca/issuing.pem").read_bytes())
    points = issuing.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert points[0].full_name == [
        x509.UniformResourceIdentifier("http://pki.example.jp/crl/root.crl")
    ]
    again = cli("init")
    assert "client certificates carry: CRL http://pki.example.jp/crl/issuing.crl" in again.output


def test_init_refuses_loopback_urls_while_listening_beyond_loopback(tmp_path):
    result = _cli(tmp_path, '[http]\nhost = "0.0.0.0"\n')("init")
    assert result.exit_code == 6
    assert "set [http] public_url" in result.output
    assert not (tmp_path / "home" / "ca" / "root.pem").exists()


def test_issuance_is_refused_once_certsvc_listens_beyond_loopback(tmp_path):
    _cli(tmp_path)("init")  # loopback everywhere: fine
    cli = _cli(tmp_path, '[http]\nhost = "0.0.0.0"\n')
    assert (
        cli("tenant", "add", "1001", "--name", "A", "--admin-email", "a@a.example.jp").exit_code
        == 0
    )
    assert cli("subscriber", "add", "1001", "taro", "--email", "t@a.example.jp").exit_code == 0
    csr = tmp_path / "taro.csr"
    csr.write_bytes(make_csr())
    result = cli("cert", "issue", "1001", "taro", "--csr", str(csr))
    assert result.exit_code == 6
    assert "certificates would point at loopback" in result.output
    assert cli("cert", "list", "--json").output.strip() == "[]"


def test_ca_check_warns_about_an_issuing_ca_without_a_crl_distribution_point(tmp_path):
    """A CA made before the URLs were written (no base): a WARN line naming the remedy."""
    options = LocalOptions()
    clock = FixedClock(timestamps.issued)
    context = AdapterContext(options, clock, MemoryLedger(), tmp_path, ZoneInfo("UTC"))
    adapter = LocalCA(context)
    adapter.ensure_ready()
    lines = {line.name: line for line in adapter.check()}
    assert lines["keys"].ok
    assert lines["ca-urls"].warning
    assert "no CRL distribution point" in lines["ca-urls"].detail
