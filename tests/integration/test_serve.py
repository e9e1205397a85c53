"""``certsvc serve`` as operators run it: a real uvicorn on a free loopback port."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from certsvc.app import Services
from certsvc.clock import SystemClock
from certsvc.directory import NewSubscriber
from certsvc.domain.policy import RevocationReason
from certsvc.lifecycle.operations import CsrKey
from tests.conftest import COMPANY, OPERATOR, USER, make_settings
from tests.keys import make_csr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_config(home: Path, database_url: str, extra: str = "") -> Path:
    config = home / "certsvc.toml"
    config.write_text(
        f'home = "{home}"\n[database]\nurl = "{database_url}"\n[logging]\nformat = "json"\n{extra}'
    )
    return config


@contextmanager
def running_server(config: Path, port: int, scheme: str = "http") -> Iterator[str]:
    """Start ``certsvc serve``, wait (bounded) until /healthz answers, stop it afterwards."""
    process = subprocess.Popen(
        [sys.executable, "-m", "certsvc", "--config", str(config), "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "CERTSVC_CONFIG": ""},
    )
    url = f"{scheme}://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{url}/healthz", verify=False, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read().decode() if process.stdout else ""
                pytest.fail(f"certsvc serve did not come up:\n{output}")
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()


def wait_ready(url: str) -> None:
    """Ready once the first feed round has loaded the allowlist (a load balancer polls)."""
    deadline = time.monotonic() + 20
    while httpx.get(f"{url}/readyz", verify=False).status_code != 200:
        assert time.monotonic() < deadline, httpx.get(f"{url}/readyz", verify=False).text
        time.sleep(0.05)


@pytest.fixture
def initialised(tmp_path, database_url) -> Path:
    home = tmp_path / "serve-home"
    services = Services(make_settings(home, database_url), SystemClock())
    services.initialise()
    services.engine.dispose()
    return home


def test_serve_answers_health_readiness_metrics_and_crls(initialised, database_url):
    config = write_config(initialised, database_url)
    with running_server(config, free_port()) as url:
        wait_ready(url)
        crl = httpx.get(f"{url}/crl/issuing.crl")
        assert crl.headers["content-type"] == "application/pkix-crl"
        next_update = x509.load_der_x509_crl(crl.content).next_update_utc
        assert next_update is not None
        assert next_update > datetime.now(UTC)
        assert "certsvc_crl_number" in httpx.get(f"{url}/metrics").text


def _self_signed(home: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder(
            issuer_name=name,
            subject_name=name,
            public_key=key.public_key(),
            serial_number=1,
            not_valid_before=now - timedelta(minutes=5),
            not_valid_after=now + timedelta(days=1),
        )
    ).sign(key, hashes.SHA256())
    (home / "tls.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (home / "tls.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def test_serve_with_tls_refuses_tls_1_1(initialised, database_url):
    _self_signed(initialised)
    extra = '[http]\ntls_cert = "tls.pem"\ntls_key = "tls.key"\n'
    with running_server(
        write_config(initialised, database_url, extra), free_port(), "https"
    ) as url:
        wait_ready(url)
        assert httpx.get(f"{url}/healthz", verify=_client_tls(ssl.TLSVersion.TLSv1_2)).is_success
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{url}/healthz", verify=_client_tls(ssl.TLSVersion.TLSv1_1))


def _client_tls(highest: ssl.TLSVersion) -> ssl.SSLContext:
    """A client that offers nothing newer than ``highest`` (old versions allowed on our side)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_ciphers("DEFAULT@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = highest
    return context


def test_openssl_ocsp_client_against_serve(initialised, database_url, tmp_path):
    services = Services(make_settings(initialised, database_url), SystemClock())
    services.directory.add_tenant(COMPANY, "Acme KK", "admin@acme.example.jp", OPERATOR)
    services.directory.add_subscriber(NewSubscriber(COMPANY, USER, "t@acme.example.jp"), OPERATOR)
    issued = services.lifecycle.issue(COMPANY, USER, CsrKey(make_csr()), OPERATOR)
    issuing, root = (
        c.public_bytes(serialization.Encoding.PEM) for c in services.adapter.trust_chain()
    )
    (tmp_path / "issuing.pem").write_bytes(issuing)
    (tmp_path / "chain.pem").write_bytes(issuing + root)
    (tmp_path / "leaf.pem").write_text(issued.certificate_pem)

    def ask(url: str) -> str:
        result = subprocess.run(
            ["openssl", "ocsp", "-issuer", "issuing.pem", "-cert", "leaf.pem",
             "-CAfile", "chain.pem", "-url", f"{url}/ocsp"],
            capture_output=True, text=True, check=True, cwd=tmp_path,
        )  # fmt: skip
        assert "Response verify OK" in result.stderr
        return result.stdout

    with running_server(write_config(initialised, database_url), free_port()) as url:
        assert "leaf.pem: good" in ask(url)
        services.lifecycle.revoke(
            issued.certificate.serial or "", RevocationReason.keyCompromise, OPERATOR
        )
        answer = ask(url)
        assert "leaf.pem: revoked" in answer
        assert "Reason: keyCompromise" in answer
    services.engine.dispose()


def test_serve_answers_the_gateway_feed_only_with_a_gateway_token(initialised, database_url):
    services = Services(make_settings(initialised, database_url), SystemClock())
    gateway, helpdesk = (
        services.tokens.create(role, f"{role}-serve") for role in ("gateway", "helpdesk")
    )
    services.engine.dispose()
    unknown = {"X-Client-Cert-Fingerprint": "ab" * 20}
    with running_server(write_config(initialised, database_url), free_port()) as url:
        deadline = time.monotonic() + 10  # the first poll loads the tokens and the allowlist
        while httpx.get(f"{url}/readyz").status_code != 200:
            assert time.monotonic() < deadline, "not ready"
            time.sleep(0.05)
        for path in ("/gateway/check", "/gateway/allowlist"):
            nobody = httpx.get(f"{url}{path}", headers=unknown)
            assert nobody.status_code == 401, path
            assert nobody.headers["content-type"] == "application/problem+json"
            as_helpdesk = {**unknown, "Authorization": f"Bearer {helpdesk}"}
            refused = httpx.get(f"{url}{path}", headers=as_helpdesk)
            assert refused.status_code == 403, path
            assert "role helpdesk may not read the gateway feed" in refused.json()["detail"]
        as_gateway = {**unknown, "Authorization": f"Bearer {gateway}"}
        assert (
            httpx.get(f"{url}/gateway/check", headers=as_gateway).status_code == 403
        )  # unknown cert
        assert httpx.get(f"{url}/gateway/allowlist", headers=as_gateway).status_code == 200
        assert httpx.get(f"{url}/crl/bundle.pem").status_code == 200


def _serve(config: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "certsvc", "--config", str(config), "serve", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "CERTSVC_CONFIG": "", "CERTSVC_CA_PASSPHRASE": ""},
    )


def test_a_port_in_use_exits_6_with_one_line(initialised, database_url):
    config = write_config(initialised, database_url)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _serve(config, "--port", str(port))
    assert result.returncode == 6, result.stderr
    assert (
        result.stderr == f"certsvc: error: cannot listen on 127.0.0.1:{port}: the port is in use\n"
    )


def test_a_ca_key_that_does_not_open_exits_6_and_never_listens(initialised, database_url):
    config = write_config(initialised, database_url)
    (initialised / "ca" / "passphrase").write_text("not the passphrase\n")
    port = free_port()
    result = _serve(config, "--port", str(port))
    assert result.returncode == 6
    assert "the CA cannot sign" in result.stderr
    assert "wrong passphrase" in result.stderr
    assert "serving on" not in result.stderr
    with socket.socket() as probe:  # nothing was left listening
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_serving_beyond_loopback_with_loopback_urls_warns_and_refuses_issuance(
    initialised, database_url
):
    """`serve --host 0.0.0.0` without a public address: certificates would name loopback."""
    config = write_config(initialised, database_url)
    with socket.socket() as taken:  # stop right after the warning: the port is taken
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _serve(config, "--host", "0.0.0.0", "--port", str(port))
    assert result.returncode == 6
    warning, error = result.stderr.splitlines()
    assert warning.startswith("certsvc: warning: issuance is refused: certificates would point")
    assert f"http://127.0.0.1:{port}" in warning
    assert "set [http] public_url" in warning
    assert error == f"certsvc: error: cannot listen on 0.0.0.0:{port}: the port is in use"
