"""A real HAProxy fed live through its admin socket: no reload for CRLs or the allowlist."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from certsvc.agent.configs import GatewayOptions, haproxy_config
from certsvc.agent.layout import GatewayFiles
from certsvc.agent.loop import FeedClient, GatewayAgent, Outcome
from certsvc.agent.targets import FeedUpdate, HAProxyGateway
from certsvc.agent.verify import VerifiedCRLs
from certsvc.clock import SystemClock
from certsvc.errors import GatewayError
from tests.e2e.conftest import Stack, curl_status, free_port, needs_curl, needs_haproxy, wait_until
from tests.tls import write_server_identity

pytestmark = [pytest.mark.e2e, needs_haproxy, needs_curl]


@dataclass
class HAProxyUnderTest:
    files: GatewayFiles
    port: int
    agent: GatewayAgent

    def status(self, client) -> int:
        return curl_status(self.port, client, "/healthz")


def served_bundle(stack: Stack) -> bytes:
    """The CRL bundle as certsvc serves it (its refresher publishes; the test never races it)."""
    answers: list[requests.Response] = []

    def served() -> bool:
        answers.append(requests.get(f"{stack.url}/crl/bundle.pem", timeout=5))
        return answers[-1].status_code == 200

    wait_until(served, "certsvc's CRL bundle")
    return answers[-1].content


@contextmanager
def running_haproxy(stack: Stack, name: str, acl: str = "") -> Iterator[HAProxyUnderTest]:
    """HAProxy started on the operator's first files (chain, `certsvc crl -o`, the ACL)."""
    directory = stack.directory / name
    directory.mkdir()
    files = GatewayFiles(directory)
    files.chain.write_bytes(stack.chain_pem())
    files.crl_bundle.write_bytes(served_bundle(stack))
    files.haproxy_acl.write_text(acl)
    write_server_identity(directory)
    port = free_port()
    options = GatewayOptions(
        directory,
        listen=f"127.0.0.1:{port}",
        server_cert=directory / "server-combined.pem",
        upstream=f"http://{urlsplit(stack.url).netloc}",
    )
    (directory / "haproxy.cfg").write_text(haproxy_config(options))
    output = directory / "haproxy.out"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            ["haproxy", "-db", "-f", str(directory / "haproxy.cfg")],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    socket_path = directory / "admin.sock"
    gateway = HAProxyGateway(socket_path, files)
    agent = GatewayAgent(FeedClient(stack.url, token=stack.token), gateway, files, SystemClock())
    try:
        wait_until(lambda: _answers(gateway) or process.poll() is not None, "haproxy")
        assert process.poll() is None, output.read_text()
        yield HAProxyUnderTest(files, port, agent)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def haproxy(stack: Stack) -> Iterator[HAProxyUnderTest]:
    """HAProxy started with an empty ACL: nobody is allowed before the agent's first run."""
    with running_haproxy(stack, "haproxy") as started:
        yield started


def _answers(gateway: HAProxyGateway) -> bool:
    try:
        return "Name" in gateway.command("show info\n")
    except GatewayError:
        return False


def test_the_agent_feeds_haproxy_live_and_a_revocation_gives_403(
    stack: Stack, haproxy: HAProxyUnderTest
):
    alice, bob = stack.clients["alice"], stack.clients["bob"]
    assert haproxy.status(bob) == 403  # the ACL is still empty: nobody is allowed yet

    first: Outcome = haproxy.agent.run_once()
    assert first.ok, first
    assert "allowlist (4 entries) committed" in first.gateway
    assert haproxy.status(alice) == 200
    assert haproxy.status(bob) == 200

    stack.revoke(alice)
    second = haproxy.agent.run_once()

    assert second.ok, second
    assert second.gateway.startswith("CRLs committed on the admin socket")
    assert haproxy.status(alice) == 403
    assert haproxy.status(bob) == 200
    assert haproxy.files.crl_bundle.read_bytes() != b""  # the file follows the runtime change


def test_a_crl_too_big_for_the_socket_needs_a_reload_command(haproxy: HAProxyUnderTest):
    gateway = HAProxyGateway(haproxy.files.directory / "admin.sock", haproxy.files, bufsize=64)
    pem = haproxy.files.crl_bundle.read_bytes()
    update = FeedUpdate(VerifiedCRLs(pem, {}, datetime.now(UTC)), None, "big")
    with pytest.raises(GatewayError, match=r"exceeds tune\.bufsize and no --reload-command is set"):
        gateway.apply(update)


def test_admin_socket_missing_is_a_gateway_error(tmp_path: Path):
    gateway = HAProxyGateway(tmp_path / "none.sock", GatewayFiles(tmp_path))
    with pytest.raises(GatewayError, match="admin socket"):
        gateway.command("show info\n")
