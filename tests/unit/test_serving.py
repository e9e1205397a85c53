"""``certsvc serve``'s start-up checks in-process: the port and the CA, before listening."""

from __future__ import annotations

import socket

import pytest
from click.testing import CliRunner

from certsvc.api.server import bind, check_signing_ca
from certsvc.app import Services
from certsvc.cli.context import CliContext
from certsvc.cli.main import main
from certsvc.domain.public_address import certificate_links
from certsvc.errors import ConfigError


def test_a_port_in_use_is_one_configuration_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(
            ConfigError, match=f"cannot listen on 127.0.0.1:{port}: the port is in use"
        ):
            bind("127.0.0.1", port)


def test_an_address_that_is_not_ours_names_the_reason():
    with pytest.raises(ConfigError, match=r"cannot listen on 192\.0\.2\.1:0: "):
        bind("192.0.2.1", 0)


def test_a_free_port_is_bound_on_ipv4_and_ipv6_loopback():
    with bind("127.0.0.1", 0) as listener:
        assert listener.getsockname()[0] == "127.0.0.1"
    try:
        with bind("[::1]", 0) as listener:
            assert listener.family == socket.AF_INET6
    except ConfigError:
        pytest.skip("no IPv6 loopback here")


def test_the_signing_ca_must_open_before_serving(services):
    check_signing_ca(services)  # opens
    passphrase = services.settings.home_dir / "ca" / "passphrase"
    passphrase.write_text("wrong\n")
    reopened = Services(services.settings, services.clock)
    with pytest.raises(ConfigError, match=r"the CA cannot sign: .*wrong passphrase"):
        check_signing_ca(reopened)
    reopened.close()


def test_ca_check_of_the_local_ca_prints_one_line_per_check(tmp_path):
    config = tmp_path / "certsvc.toml"
    config.write_text(f'home = "{tmp_path / "home"}"\n')
    runner = CliRunner()
    assert runner.invoke(main, ["--config", str(config), "init"]).exit_code == 0
    result = runner.invoke(main, ["--config", str(config), "ca", "check"])
    assert result.exit_code == 0, result.output
    assert [line.split()[:2] for line in result.output.splitlines()] == [
        ["ok", "keys"], ["ok", "chain"], ["ok", "crl"]
    ]  # fmt: skip
    (tmp_path / "home" / "ca" / "passphrase").write_text("wrong\n")
    failed = runner.invoke(main, ["--config", str(config), "ca", "check"])
    assert failed.exit_code == 5
    assert "FAIL  keys" in failed.output


def test_serve_host_and_port_move_the_derived_public_address(tmp_path):
    config = tmp_path / "certsvc.toml"
    config.write_text(f'home = "{tmp_path / "home"}"\n')
    cli = CliContext(str(config))
    settings = cli.listen_on("192.0.2.7", 9000)
    assert (settings.http.host, settings.http.port) == ("192.0.2.7", 9000)
    assert certificate_links(cli.services.settings).base_url == "http://192.0.2.7:9000"
    assert CliContext(str(config)).listen_on(None, None).http.port == 8080
