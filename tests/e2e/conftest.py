"""Real gateways on loopback, fed by a real certsvc: the parts every e2e module shares.

certsvc runs in-process (uvicorn in a thread) around ``Services`` with a ``FixedClock``
the test moves; the gateways (nginx, HAProxy) run as child processes from a temp
directory with the config ``certsvc gateway-config`` generates, and judge certificates
by the real clock. Clients are the real ``curl`` with client certificates.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
import uvicorn
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from certsvc.agent.layout import GatewayFiles
from certsvc.agent.loop import FeedClient, GatewayAgent, Outcome
from certsvc.agent.targets import NginxGateway
from certsvc.api.server import server_config
from certsvc.app import Services
from certsvc.cli.main import main
from certsvc.clock import FixedClock, SystemClock
from certsvc.directory import NewSubscriber
from certsvc.domain.policy import RevocationReason
from certsvc.feed.crl import gateway_chain
from certsvc.lifecycle.operations import CsrKey
from tests.conftest import COMPANY, OPERATOR, POSTGRES_URL, empty_postgres, make_settings
from tests.tls import write_server_identity

needs_nginx = pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx not installed")
needs_haproxy = pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy not installed")
needs_curl = pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
READY_SECONDS = 20


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(ready: Callable[[], bool], what: str) -> None:
    """Bounded polling for a real process to come up (never to let time pass)."""
    deadline = time.monotonic() + READY_SECONDS
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not ready within {READY_SECONDS} s")
        time.sleep(0.05)


@dataclass(frozen=True)
class ClientCert:
    """A subscriber's certificate and key on disk, as a browser would present them."""

    user_id: str
    serial: str
    cert: Path
    key: Path
    invalid_from: datetime


def issue_client(services: Services, user_id: str, directory: Path) -> ClientCert:
    """Register ``user_id`` and issue it a certificate through the lifecycle (CSR path)."""
    services.directory.add_subscriber(
        NewSubscriber(COMPANY, user_id, f"{user_id}@acme.example.jp", user_id.title()), OPERATOR
    )
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, user_id)])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    issued = services.lifecycle.issue(
        COMPANY, user_id, CsrKey(csr.public_bytes(serialization.Encoding.PEM)), OPERATOR
    )
    cert_path, key_path = directory / f"{user_id}.pem", directory / f"{user_id}.key"
    cert_path.write_text(issued.certificate_pem)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    assert issued.certificate.serial
    assert issued.certificate.invalid_from
    invalid_from = datetime.fromisoformat(issued.certificate.invalid_from)
    return ClientCert(user_id, issued.certificate.serial, cert_path, key_path, invalid_from)


def curl_status(port: int, client: ClientCert | None, path: str = "/") -> int:
    """The HTTP status a browser holding ``client`` gets; 0 when TLS itself failed."""
    command = ["curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10"]
    if client is not None:
        command += ["--cert", str(client.cert), "--key", str(client.key)]
    result = subprocess.run(
        [*command, f"https://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=False
    )
    return int(result.stdout or "0")


@dataclass
class Stack:
    """certsvc serving on loopback, its services and the clock the test moves; ``token``
    is a gateway token, also in ``token_file`` (mode 0600), as an operator keeps it."""

    services: Services
    clock: FixedClock
    url: str
    directory: Path
    clients: dict[str, ClientCert]
    token: str
    token_file: Path

    def revoke(self, client: ClientCert) -> None:
        """Revoke through the lifecycle; return once certsvc serves a CRL without it."""
        with self.new_crl():
            self.services.lifecycle.revoke(client.serial, RevocationReason.keyCompromise, OPERATOR)
            self.clock.advance(timedelta(seconds=1))  # the CRL is built after the revocation

    def move_clock(self, instant: datetime) -> None:
        """Move certsvc's clock; return once it serves the CRL published at that time."""
        with self.new_crl():
            self.clock.set(instant)

    @contextmanager
    def new_crl(self) -> Iterator[None]:
        def etag() -> str:
            return requests.get(f"{self.url}/crl/bundle.pem", timeout=5).headers["ETag"]

        before = etag()
        yield
        wait_until(lambda: etag() != before, "a new CRL from certsvc")

    def chain_pem(self) -> bytes:
        chain = gateway_chain(self.services.adapter)
        return b"".join(ca.public_bytes(serialization.Encoding.PEM) for ca in chain)


@contextmanager
def certsvc_http(services: Services, port: int | None = None) -> Iterator[str]:
    """certsvc's HTTP app (``certsvc serve`` machinery) in a thread on ``port`` or a free one."""
    port = port or free_port()
    server = uvicorn.Server(server_config(services, "127.0.0.1", port))
    thread = threading.Thread(target=server.run, name="certsvc-http", daemon=True)
    thread.start()
    wait_until(lambda: server.started, "certsvc HTTP")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, postgres_ready: bool) -> Iterator[Stack]:
    """certsvc with clients alice, bob, dave (issued now) and carol (issued 3 days ago).

    Gateways check TLS validity by the real clock, so certsvc's clock starts from it too.
    """
    directory = tmp_path_factory.mktemp("e2e")
    if postgres_ready:
        empty_postgres()
    database_url = POSTGRES_URL or f"sqlite:///{directory / 'certsvc.db'}"
    real_now = datetime.now(UTC).replace(microsecond=0)
    clock = FixedClock(real_now - timedelta(days=3))
    settings = make_settings(
        directory / "home",
        database_url,
        gateway={"crl_check_seconds": 1, "poll_seconds": 0.2},
        # the clock is the real one, three days back: it may fall in a window, which
        # these gateway tests do not exercise (tests/integration/api/test_maintenance_gate)
        maintenance={"enabled": False},
    )
    services = Services(settings, clock)
    services.initialise()
    services.directory.add_tenant(COMPANY, "Acme KK", "admin@acme.example.jp", OPERATOR)
    clients = {"carol": issue_client(services, "carol", directory)}
    clock.set(real_now)
    for user_id in ("alice", "bob", "dave"):
        clients[user_id] = issue_client(services, user_id, directory)
    token = services.tokens.create("gateway", "e2e-gateway")
    token_file = directory / "gateway.token"
    token_file.write_text(token + "\n")
    token_file.chmod(0o600)
    with certsvc_http(services) as url:
        yield Stack(services, clock, url, directory, clients, token, token_file)
    services.engine.dispose()


@dataclass
class NginxUnderTest:
    """A private nginx started from ``directory`` with a generated config."""

    directory: Path
    port: int
    status_port: int
    certsvc_url: str
    agent_options: tuple[str, ...]
    token_file: Path

    def status(self, client: ClientCert | None) -> int:
        return curl_status(self.port, client)

    def agent_once(self) -> Outcome:
        """One agent round in-process (fast); ``agent_cli`` runs the real command."""
        files = GatewayFiles(self.directory)
        nginx = NginxGateway(files, f"http://127.0.0.1:{self.status_port}/certsvc-feed")
        allowlist = "--no-allowlist" not in self.agent_options
        client = FeedClient(self.certsvc_url, token=self.token_file.read_text().strip())
        agent = GatewayAgent(client, nginx, files, SystemClock(), allowlist=allowlist)
        return agent.run_once()

    def agent_cli(self) -> Agent:
        """``certsvc gateway-agent --nginx DIR --once``, as cron would run it."""
        return agent_cli(
            "--nginx",
            str(self.directory),
            "--once",
            "--certsvc-url",
            self.certsvc_url,
            "--nginx-status",
            f"http://127.0.0.1:{self.status_port}/certsvc-feed",
            "--token-file",
            str(self.token_file),
            *self.agent_options,
        )

    def error_log(self) -> str:
        return (self.directory / "error.log").read_text()


@dataclass(frozen=True)
class Agent:
    """What one ``gateway-agent --once`` run printed: a summary on stdout, logs on stderr."""

    exit_code: int
    output: str
    log: str


def agent_cli(*arguments: str, env: dict[str, str] | None = None) -> Agent:
    """``certsvc gateway-agent ARGUMENTS`` as a real process (``env`` added to ours)."""
    result = subprocess.run(
        [sys.executable, "-m", "certsvc", "gateway-agent", *arguments],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "CERTSVC_CONFIG": "", **(env or {})},
    )
    return Agent(result.returncode, result.stdout, result.stderr)


@contextmanager
def nginx_gateway(
    stack: Stack,
    name: str,
    *options: str,
    agent_options: tuple[str, ...] = (),
    hook_token: bool = True,
) -> Iterator[NginxUnderTest]:
    """Generate the config, let the agent write the feed files, start nginx, stop it after.

    With ``--allowlist auth-request`` the config carries the stack's gateway token
    (``--token-file``) unless ``hook_token`` is false.
    """
    directory = stack.directory / name
    directory.mkdir()
    write_server_identity(directory)
    (directory / "chain.pem").write_bytes(stack.chain_pem())
    gateway = NginxUnderTest(
        directory, free_port(), free_port(), stack.url, agent_options, stack.token_file
    )
    if hook_token and "auth-request" in options:
        options = (*options, "--token-file", str(stack.token_file))
    config = CliRunner().invoke(
        main,
        [
            "gateway-config",
            "nginx",
            "--dir",
            str(directory),
            "--listen",
            f"127.0.0.1:{gateway.port}",
            "--status-port",
            str(gateway.status_port),
            "--upstream",
            f"{stack.url}/healthz",
            "--certsvc-url",
            stack.url,
            "--workers",
            "1",
            "--print",
            *options,
        ],
    )
    assert config.exit_code == 0, config.output
    (directory / "nginx.conf").write_text(config.output)
    first = gateway.agent_once()
    assert first.ok, first
    assert first.gateway == "files written (nginx not running)"
    output = directory / "nginx.out"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [
                "nginx",
                "-p",
                str(directory),
                "-c",
                str(directory / "nginx.conf"),
                "-g",
                "daemon off;",
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: _answers(gateway.status_port) or process.poll() is not None, "nginx")
        assert process.poll() is None, output.read_text()
        yield gateway
    finally:
        process.send_signal(signal.SIGQUIT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _answers(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/certsvc-feed", timeout=1).ok
    except requests.RequestException:
        return False
