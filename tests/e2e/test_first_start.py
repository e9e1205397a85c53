"""A new gateway from ``gateway-config --dir`` alone: the config test passes before any agent
run, the gateway starts and refuses every client, and the agent's first round lets them in.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from certsvc.agent.layout import GatewayFiles
from certsvc.agent.loop import FeedClient, GatewayAgent
from certsvc.agent.targets import HAProxyGateway
from certsvc.cli.main import main
from certsvc.clock import SystemClock
from certsvc.errors import GatewayError
from tests.e2e.conftest import (
    Stack,
    agent_cli,
    curl_status,
    free_port,
    needs_curl,
    needs_haproxy,
    needs_nginx,
    wait_until,
)

pytestmark = [pytest.mark.e2e, needs_curl]


def stack_config(stack: Stack, directory: Path) -> Path:
    """The config file of the running certsvc (its home and database), as an operator has it."""
    settings = stack.services.settings
    config = directory / "certsvc.toml"
    config.write_text(f'home = "{settings.home}"\n[database]\nurl = "{settings.database_url}"\n')
    return config


def gateway_config(stack: Stack, kind: str, directory: Path, *options: str) -> str:
    config = stack_config(stack, directory.parent)
    arguments = ["--config", str(config), "gateway-config", kind, "--dir", str(directory)]
    result = CliRunner().invoke(main, [*arguments, "--server-cert-self-signed", *options])
    assert result.exit_code == 0, result.output
    return result.output


@contextmanager
def started(
    command: list[str], output: Path, stop: signal.Signals
) -> Iterator[subprocess.Popen[bytes]]:
    with output.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.send_signal(stop)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def refused_by_all(port: int, stack: Stack) -> bool:
    return all(curl_status(port, client, "/healthz") == 403 for client in stack.clients.values())


@needs_nginx
def test_nginx_starts_from_the_generated_directory_and_refuses_all_until_the_agent_ran(
    stack: Stack,
):
    directory = stack.directory / "first-nginx"
    port, status_port = free_port(), free_port()
    report = gateway_config(
        stack, "nginx", directory,
        "--listen", f"127.0.0.1:{port}", "--status-port", str(status_port),
        "--allowlist", "map", "--upstream", stack.url, "--workers", "1",
    )  # fmt: skip
    assert f"wrote  {directory / 'server.key'}" in report
    assert (directory / "server.key").stat().st_mode & 0o077 == 0
    conf = ["nginx", "-p", str(directory), "-c", str(directory / "nginx.conf")]
    check = subprocess.run([*conf, "-t"], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stderr
    with started([*conf, "-g", "daemon off;"], directory / "nginx.out", signal.SIGQUIT) as nginx:
        wait_until(lambda: curl_status(port, None) != 0 or nginx.poll() is not None, "nginx")
        assert nginx.poll() is None, (directory / "nginx.out").read_text()
        assert refused_by_all(port, stack)  # empty allowlist: nobody yet
        agent = agent_cli(
            "--nginx", str(directory), "--once", "--certsvc-url", stack.url,
            "--nginx-status", f"http://127.0.0.1:{status_port}/certsvc-feed",
            "--token-file", str(stack.token_file),
        )  # fmt: skip
        assert agent.exit_code == 0, agent.output + agent.log
        assert curl_status(port, stack.clients["alice"], "/healthz") == 200
    again = gateway_config(stack, "nginx", directory, "--listen", f"127.0.0.1:{port}")
    assert f"kept   {directory / 'allow.map'}" in again  # the agent's files stay


@needs_haproxy
def test_haproxy_starts_from_the_generated_directory_and_refuses_all_until_the_agent_ran(
    stack: Stack,
):
    directory = stack.directory / "first-haproxy"
    port = free_port()
    upstream = f"http://{urlsplit(stack.url).netloc}"
    gateway_config(
        stack, "haproxy", directory, "--listen", f"127.0.0.1:{port}", "--upstream", upstream
    )
    config = str(directory / "haproxy.cfg")
    check = subprocess.run(
        ["haproxy", "-c", "-f", config], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    files = GatewayFiles(directory)
    gateway = HAProxyGateway(directory / "admin.sock", files)
    with started(
        ["haproxy", "-db", "-f", config], directory / "haproxy.out", signal.SIGTERM
    ) as haproxy:
        wait_until(lambda: _answers(gateway) or haproxy.poll() is not None, "haproxy")
        assert haproxy.poll() is None, (directory / "haproxy.out").read_text()
        assert refused_by_all(port, stack)
        client = FeedClient(stack.url, token=stack.token)
        outcome = GatewayAgent(client, gateway, files, SystemClock()).run_once()
        assert outcome.ok, outcome
        assert curl_status(port, stack.clients["alice"], "/healthz") == 200


def test_without_a_server_certificate_nothing_is_written(stack: Stack):
    directory = stack.directory / "no-cert"
    config = stack_config(stack, stack.directory)
    result = CliRunner().invoke(
        main, ["--config", str(config), "gateway-config", "nginx", "--dir", str(directory)]
    )
    assert result.exit_code == 2
    assert "--server-cert-self-signed" in result.output
    assert not directory.exists()


def _answers(gateway: HAProxyGateway) -> bool:
    try:
        return "Name" in gateway.command("show info\n")
    except GatewayError:
        return False
