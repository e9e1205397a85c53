"""``certsvc gateway-config``: configs that the real nginx and HAProxy accept."""

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization

from certsvc.agent.layout import GatewayFiles
from certsvc.agent.targets import nginx_feed_conf
from certsvc.cli.main import main
from certsvc.feed.crl import bundle_pem
from tests.tls import write_server_identity

needs_nginx = pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx not installed")
needs_haproxy = pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy not installed")


def generate(*arguments: str) -> str:
    """The printed config (``--print``: nothing is written into ``--dir``)."""
    result = CliRunner().invoke(main, ["gateway-config", *arguments, "--print"])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def gateway_dir(tmp_path: Path, services) -> Path:
    """A gateway directory holding what the agent and the operator put there."""
    directory = tmp_path / "gw"
    directory.mkdir()
    files = GatewayFiles(directory)
    chain = services.adapter.trust_chain()
    files.chain.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain))
    files.crl_bundle.write_bytes(bundle_pem(services.crls.current()))
    files.nginx_map.write_text("")
    files.haproxy_acl.write_text("")
    files.nginx_feed.write_bytes(nginx_feed_conf("crl=1,1 allow=0 seq=1"))
    write_server_identity(directory)
    return directory


@needs_nginx
@pytest.mark.parametrize(
    "mode",
    [["--allowlist", "map"], ["--allowlist", "auth-request", "--ocsp"], ["--allowlist", "none"]],
)
def test_nginx_accepts_the_generated_config(gateway_dir: Path, mode):
    text = generate("nginx", "--dir", str(gateway_dir), "--listen", "127.0.0.1:8443", *mode)
    config = gateway_dir / "nginx.conf"
    config.write_text(text)
    result = subprocess.run(
        ["nginx", "-t", "-p", str(gateway_dir), "-c", str(config)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in text
    assert f"ssl_crl {gateway_dir}/crl-bundle.pem;" in text
    assert ("auth_request /_certsvc_check;" in text) == ("auth-request" in mode)
    assert ("include " + str(gateway_dir) + "/allow.map;" in text) == ("map" in mode)
    assert ("ssl_ocsp leaf;" in text) == ("--ocsp" in mode)
    for line in text.splitlines():  # everything nginx writes stays in the gateway directory
        if line.strip().startswith(("pid ", "error_log ", "access_log ")) or "_temp_path" in line:
            assert str(gateway_dir) in line or line.strip() == "access_log off;", line


@needs_haproxy
def test_haproxy_accepts_the_generated_config(gateway_dir: Path):
    text = generate(
        "haproxy",
        "--dir",
        str(gateway_dir),
        "--listen",
        "127.0.0.1:8443",
        "--server-cert",
        str(gateway_dir / "server-combined.pem"),
    )
    config = gateway_dir / "haproxy.cfg"
    config.write_text(text)
    result = subprocess.run(
        ["haproxy", "-c", "-f", str(config)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ssl-min-ver TLSv1.2" in text
    assert f"crl-file {gateway_dir}/crl-bundle.pem" in text
    assert f"-f {gateway_dir}/allow.acl" in text


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["nginx", "--upstream", "ftp://x"], "--upstream must be an http(s) URL"),
        (["nginx", "--listen", "443"], "--listen must be HOST:PORT"),
        (["nginx", "--status-port", "70000"], "--status-port out of range"),
        (["haproxy", "--upstream", "https://app:443"], "plain http://HOST:PORT"),
    ],
)
def test_bad_options_name_the_problem(arguments, message):
    result = CliRunner().invoke(main, ["gateway-config", *arguments])
    assert result.exit_code == 2
    assert message in result.output


TOKEN = "csv_" + "Ab3-_x" * 8


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "gateway.token"
    path.write_text(TOKEN + "\n")
    path.chmod(0o600)
    return path


@needs_nginx
def test_the_auth_request_hook_carries_the_token_and_nginx_accepts_it(gateway_dir, token_file):
    text = generate("nginx", "--dir", str(gateway_dir), "--listen", "127.0.0.1:8443",
                    "--token-file", str(token_file))  # fmt: skip
    hook = text[text.index("location = /_certsvc_check") :]
    assert f'proxy_set_header Authorization "Bearer {TOKEN}";' in hook
    assert "THIS FILE NOW HOLDS A SECRET" in hook
    assert "chmod 0600" in hook
    config = gateway_dir / "nginx.conf"
    config.write_text(text)
    result = subprocess.run(
        ["nginx", "-t", "-p", str(gateway_dir), "-c", str(config)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_without_a_token_the_hook_drops_the_client_header_and_says_what_certsvc_needs(tmp_path):
    text = generate("nginx", "--dir", str(tmp_path))
    hook = text[text.index("location = /_certsvc_check") :]
    assert 'proxy_set_header Authorization "";' in hook
    assert "require_token = false" in hook
    assert "Bearer" not in hook


def test_a_world_readable_token_file_is_used_with_a_warning(tmp_path, token_file):
    token_file.chmod(0o644)
    result = CliRunner().invoke(
        main,
        [
            "gateway-config",
            "nginx",
            "--dir",
            str(tmp_path),
            "--print",
            "--token-file",
            str(token_file),
        ],
    )
    assert result.exit_code == 0
    assert f"Bearer {TOKEN}" in result.stdout
    assert "make it private: chmod 0600" in result.stderr


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        ('csv_abc" ; return 200; "xxxxxxxxxx', [], "the token file must hold one API token"),
        ("short", [], "the token file must hold one API token"),
        ("", [], "the token file must hold one API token"),
        (TOKEN, ["--allowlist", "map"], "--token-file is for --allowlist auth-request"),
        (TOKEN, ["--allowlist", "none"], "--token-file is for --allowlist auth-request"),
    ],
)
def test_a_token_nginx_cannot_take_is_refused(tmp_path, content, extra, message):
    path = tmp_path / "gateway.token"
    path.write_text(content)
    path.chmod(0o600)
    arguments = ["gateway-config", "nginx", "--dir", str(tmp_path), "--token-file", str(path)]
    result = CliRunner().invoke(main, [*arguments, *extra])
    assert result.exit_code == 2
    assert message in result.output
    assert "return 200" not in result.stdout


def test_haproxy_needs_no_token_in_its_config(tmp_path, token_file):
    arguments = [
        "gateway-config",
        "haproxy",
        "--dir",
        str(tmp_path),
        "--token-file",
        str(token_file),
    ]
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 2
    assert "give the token to `certsvc gateway-agent --token-file`" in result.output
    assert TOKEN not in result.output


def test_a_missing_token_file_is_a_clear_error(tmp_path):
    missing = tmp_path / "none.token"
    result = CliRunner().invoke(
        main, ["gateway-config", "nginx", "--dir", str(tmp_path), "--token-file", str(missing)]
    )
    assert result.exit_code == 2
    assert f"cannot read the token file {missing}" in result.output


def _renew_block(config: str) -> str:
    return config.split("location ^~ /renew {", 1)[1].split("}", 1)[0]


def test_nginx_routes_renew_to_certsvc_with_the_certificate_and_the_token(tmp_path: Path):
    token_file = tmp_path / "gateway.token"
    token_file.write_text("gw_" + "a" * 40 + "\n")
    config = generate(
        "nginx",
        "--dir",
        str(tmp_path),
        "--certsvc-url",
        "http://10.0.0.5:8080",
        "--token-file",
        str(token_file),
    )
    block = _renew_block(config)
    assert "proxy_pass http://10.0.0.5:8080;" in block  # the path (and /renew/static) kept
    assert "proxy_set_header X-Client-Cert $ssl_client_escaped_cert;" in block
    assert f'proxy_set_header Authorization "Bearer gw_{"a" * 40}";' in block
    assert "auth_request /_certsvc_check;" in block  # a revoked certificate cannot renew


def test_nginx_without_a_token_sends_no_authorization_on_renew(tmp_path: Path):
    block = _renew_block(generate("nginx", "--dir", str(tmp_path), "--allowlist", "map"))
    assert 'proxy_set_header Authorization "";' in block
    assert "auth_request" not in block
