"""``certsvc run``: from an empty data directory to a serving certsvc in one command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
from cryptography import x509

from tests.integration.test_serve import free_port, write_config


def test_run_initialises_serves_and_says_where_everything_is(tmp_path: Path, database_url):
    home = tmp_path / "fresh-home"  # nothing initialised yet
    home.mkdir()
    config, port = write_config(home, database_url), free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "certsvc", "--config", str(config), "run", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "CERTSVC_CONFIG": ""},
    )
    url = f"http://127.0.0.1:{port}"
    lines: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 30
        while not any(line.startswith("scheduler:") for line in lines):
            assert time.monotonic() < deadline, "".join(lines)
            lines.append(process.stdout.readline())
        _wait_healthy(url, process)
        bundle = requests.get(f"{url}/crl/bundle.pem", timeout=5)
    finally:
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=15)
    output = "".join(lines)
    assert f"certsvc running on {url}" in output
    assert f"{url}/crl/bundle.pem" in output
    assert f"{url}/gateway/check" in output
    chain = x509.load_pem_x509_certificates((home / "chain.pem").read_bytes())
    assert [c.subject.rfc4514_string() for c in chain] == [
        "CN=certsvc Issuing CA 1,O=certsvc",
        "CN=certsvc Root CA,O=certsvc",
    ]
    assert f"CA chain for client certs:     {home / 'chain.pem'}" in output
    assert bundle.status_code == 200
    assert bundle.content.count(b"-----BEGIN X509 CRL-----") == 2
    # uvicorn shuts down gracefully, then re-raises SIGTERM as its exit status
    assert process.returncode in (0, -signal.SIGTERM), rest
    assert "Application shutdown complete" in rest


def _wait_healthy(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 20
    while process.poll() is None and time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/healthz", timeout=1).ok:
                return
        except requests.RequestException:
            time.sleep(0.05)
    raise AssertionError("certsvc run did not answer /healthz")
