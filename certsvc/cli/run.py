"""``certsvc run``: the all-in-one embedded mode, one process for everything.

Initialises when needed (data directory, database, local CA), writes the files a gateway
is set up with, then serves HTTP (the ``certsvc serve`` machinery, whose lifespan also
keeps the CRLs and the allowlist current) with the scheduler beside it.
"""

from __future__ import annotations

from pathlib import Path

import click
from cryptography.hazmat.primitives import serialization

from certsvc.agent.layout import CHAIN, CRL_BUNDLE, write_atomically
from certsvc.app import Services
from certsvc.cli.context import CliContext, pass_cli
from certsvc.feed.crl import bundle_pem, gateway_chain
from scheduler.daemon import start_in_background


def write_gateway_files(services: Services, directory: Path) -> tuple[Path, Path]:
    """The CA chain (``ssl_client_certificate``) and a CRL bundle snapshot (``ssl_crl``)."""
    chain = gateway_chain(services.adapter)
    chain_path, bundle_path = directory / CHAIN, directory / CRL_BUNDLE
    write_atomically(
        chain_path, b"".join(ca.public_bytes(serialization.Encoding.PEM) for ca in chain)
    )
    write_atomically(bundle_path, bundle_pem(services.crls.current()))
    return chain_path, bundle_path


def scheduler_note(services: Services) -> str:
    """What the scheduler daemon started beside HTTP will do (nightly run, outbox drain).
    With several instances the leader lock lets one act."""
    rules = services.settings.scheduler
    return (
        f"scheduler:                     nightly run at {rules.nightly_at} "
        f"({services.settings.business.timezone}), outbox drain every "
        f"{rules.drain_interval_seconds} s"
    )


@click.command("run")
@click.option("--host", default=None, help="Address to listen on (default: [http] host).")
@click.option("--port", type=int, default=None, help="Port (default: [http] port, 8080).")
@pass_cli
def run(cli: CliContext, host: str | None, port: int | None) -> None:
    """Initialise when needed, then serve HTTP and run the scheduler in one process."""
    from certsvc.api.server import base_url, serve  # noqa: PLC0415 - keeps --help fast

    http = cli.listen_on(host, port).http
    chosen_host, chosen_port = http.host, http.port
    services = cli.services
    for note in services.initialise():
        click.echo(f"init: {note}")
    url = base_url(services, chosen_host, chosen_port)
    chain, bundle = write_gateway_files(services, services.settings.home_dir)
    for line in (
        f"certsvc running on {url}  (health {url}/healthz, metrics {url}/metrics)",
        f"CRL bundle for ssl_crl:        {url}/crl/bundle.pem  (snapshot: {bundle})",
        f"CA chain for client certs:     {chain}",
        f"allowlist:                     {url}/gateway/allowlist?format=nginx-map",
        f"auth_request hook:             {url}/gateway/check",
        f"OCSP responder:                {url}/ocsp",
        "gateway token (allowlist, check): certsvc token create --role gateway --name NAME",
        f"gateway config:                certsvc gateway-config nginx --certsvc-url {url} "
        "--token-file F",
        scheduler_note(services),
    ):
        click.echo(line)
    # started after the notes: its log lines (stderr) never split one of them
    stop_scheduler = start_in_background(services)
    try:
        serve(services, chosen_host, chosen_port)
    finally:
        stop_scheduler()
