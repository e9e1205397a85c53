"""``certsvc gateway-config nginx|haproxy`` and ``certsvc gateway-agent``."""

from __future__ import annotations

import os
import signal
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from certsvc.agent.configs import GatewayOptions, checked_token, haproxy_config, nginx_config
from certsvc.agent.layout import STATUS_PATH, GatewayFiles
from certsvc.agent.loop import FeedClient, GatewayAgent
from certsvc.agent.targets import Gateway, HAProxyGateway, NginxGateway
from certsvc.cli.context import CliContext, pass_cli
from certsvc.cli.gateway_files import certsvc_files, report, write_gateway_directory
from certsvc.clock import SystemClock
from certsvc.domain.public_address import serving_url
from certsvc.errors import InputError
from certsvc.logging import configure_logging

DEFAULT_DIR = "/etc/certsvc-gateway"
TOKEN_ENV = "CERTSVC_GATEWAY_TOKEN"


def _absolute(value: str) -> Path:
    return Path(value).expanduser().absolute()


def read_token(token_file: str | None, env: str | None = None) -> str | None:
    """The gateway token from ``token_file`` (else from ``$env``); never echoed anywhere."""
    if token_file is None:
        value = os.environ.get(env, "") if env else ""
        return checked_token(value.strip()) if value.strip() else None
    path = _absolute(token_file)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the token file {path}: {exc.__class__.__name__}") from exc
    if path.stat().st_mode & 0o077:
        click.echo(f"WARNING: {path} holds a secret; make it private: chmod 0600", err=True)
    return checked_token(text.strip())


TOKEN_FILE = click.option(
    "--token-file",
    type=click.Path(dir_okay=False),
    help="File holding a gateway API token (`certsvc token create --role gateway`); mode 0600.",
)


@click.command("gateway-config")
@click.argument("kind", type=click.Choice(["nginx", "haproxy"]))
@click.option(
    "--dir",
    "directory",
    help="Gateway directory: write the config and every file it names there "
    "(default: print a config for /etc/certsvc-gateway).",
)
@click.option("--print", "print_only", is_flag=True, help="With --dir: only print the config.")
@click.option("--listen", default="0.0.0.0:443", show_default=True, help="HOST:PORT for TLS.")
@click.option("--server-name", default="_", show_default=True)
@click.option("--server-cert", help="Server certificate (HAProxy: certificate + key in one PEM).")
@click.option("--server-key", help="Server key (nginx). Default: beside the certificate.")
@click.option(
    "--server-cert-self-signed",
    "self_signed",
    is_flag=True,
    help="For a trial: make a self-signed server certificate in DIR when there is none.",
)
@click.option(
    "--upstream",
    default="http://127.0.0.1:8000",
    show_default=True,
    help="The protected application.",
)
@click.option("--certsvc-url", help="certsvc as the gateway reaches it [from [http] host/port].")
@click.option(
    "--allowlist",
    type=click.Choice(["auth-request", "map", "none"]),
    default="auth-request",
    show_default=True,
    help="nginx: ask certsvc per request, or a map file the agent keeps fresh.",
)
@click.option(
    "--ocsp/--no-ocsp",
    default=False,
    show_default=True,
    help="nginx: ask certsvc's OCSP responder at each handshake.",
)
@click.option(
    "--status-port",
    type=int,
    default=8081,
    show_default=True,
    help="nginx: loopback port where the agent sees which feed is loaded.",
)
@click.option("--workers", default="auto", show_default=True, help="nginx worker_processes.")
@TOKEN_FILE
@pass_cli
def gateway_config(
    cli: CliContext,
    /,
    kind: str,
    directory: str | None,
    print_only: bool,
    server_cert: str | None,
    token_file: str | None,
    self_signed: bool,
    **options: Any,
) -> None:
    """Write (--dir) or print a commented gateway config for mutual TLS fed by certsvc.

    With ``--dir`` every file the config names is written too, so ``nginx -t`` /
    ``haproxy -c`` pass before any agent run: the CA chain and CRL bundle of this certsvc,
    an empty allowlist (every client refused until ``gateway-agent`` loads it). With
    ``--allowlist auth-request`` (nginx) the config carries the token of ``--token-file``.
    """
    folder = _absolute(directory or DEFAULT_DIR)
    cert = _absolute(server_cert) if server_cert else folder / "server.pem"
    key = options.pop("server_key")
    gateway = GatewayOptions(
        directory=folder,
        server_cert=cert,
        server_key=_absolute(key) if key else cert.with_suffix(".key"),
        token=read_token(token_file),
        **{**options, "certsvc_url": options["certsvc_url"] or serving_url(cli.settings.http)},
    )
    config = nginx_config(gateway) if kind == "nginx" else haproxy_config(gateway)
    if directory is None or print_only:
        click.echo(config, nl=False)
        return
    first = certsvc_files(cli.services)
    report(kind, write_gateway_directory(kind, gateway, config, first, self_signed), folder)


@click.command("gateway-agent")
@click.option("--nginx", "nginx_dir", help="Gateway directory of an nginx made by gateway-config.")
@click.option("--haproxy-socket", help="HAProxy admin socket (level admin).")
@click.option("--dir", "directory", help="HAProxy: feed directory (default: the socket's).")
@click.option("--certsvc-url", help="certsvc's URL [from [http] host/port of the config].")
@click.option("--interval", type=float, default=60.0, show_default=True, help="Seconds per poll.")
@click.option("--once", is_flag=True, help="One round, then exit (non-zero when not all good).")
@click.option(
    "--warn-hours",
    type=float,
    default=48.0,
    show_default=True,
    help="Warn this long before the held CRL's nextUpdate.",
)
@click.option(
    "--allowlist/--no-allowlist",
    default=True,
    show_default=True,
    help="Fetch the allowlist (not needed with auth_request).",
)
@click.option("--nginx-bin", default="nginx", show_default=True)
@click.option("--nginx-status", help=f"Status URL [http://127.0.0.1:8081{STATUS_PATH}].")
@click.option("--reload-command", help="HAProxy: run when a CRL is too big for the socket.")
@TOKEN_FILE
@pass_cli
def gateway_agent(
    cli: CliContext,
    /,
    certsvc_url: str | None,
    interval: float,
    once: bool,
    warn_hours: float,
    allowlist: bool,
    **gateway_options: Any,
) -> None:
    """Keep a gateway's CRLs and allowlist fresh from certsvc (verified, atomic, reloaded).

    The allowlist needs a gateway token: ``--token-file`` or ``$CERTSVC_GATEWAY_TOKEN``.
    """
    token = read_token(gateway_options.pop("token_file"), TOKEN_ENV)
    files, gateway = _gateway(**gateway_options)
    configure_logging()
    warn_before = timedelta(hours=warn_hours)
    client = FeedClient(certsvc_url or serving_url(cli.settings.http), token=token)
    agent = GatewayAgent(client, gateway, files, SystemClock(), warn_before, allowlist)
    if once:
        outcome = agent.run_once()
        click.echo(f"crls: {outcome.crls}\nallowlist: {outcome.allowlist}")
        click.echo(f"gateway: {outcome.gateway}")
        for warning in outcome.warnings:
            click.echo(f"WARNING: {warning}", err=True)
        sys.exit(0 if outcome.ok else 1)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        agent.run(interval, stop)
    except KeyboardInterrupt:
        stop.set()


def _gateway(
    nginx_dir: str | None,
    haproxy_socket: str | None,
    directory: str | None,
    nginx_bin: str,
    nginx_status: str | None,
    reload_command: str | None,
) -> tuple[GatewayFiles, Gateway]:
    if (nginx_dir is None) == (haproxy_socket is None):
        raise InputError("give exactly one of --nginx DIR or --haproxy-socket PATH")
    if nginx_dir is not None:
        files = GatewayFiles(_absolute(nginx_dir))
        status = nginx_status or f"http://127.0.0.1:8081{STATUS_PATH}"
        return files, NginxGateway(files, status, nginx_bin)
    socket_path = _absolute(haproxy_socket or "")
    files = GatewayFiles(_absolute(directory) if directory else socket_path.parent)
    return files, HAProxyGateway(socket_path, files, reload_command)
