"""``certsvc serve``: the HTTP service (gateway feed, OCSP, health and metrics)."""

from __future__ import annotations

import click

from certsvc.cli.context import CliContext, pass_cli
from certsvc.domain.public_address import certificate_links


@click.command()
@click.option("--host", default=None, help="Address to listen on (default: [http] host).")
@click.option("--port", type=int, default=None, help="Port (default: [http] port, 8080).")
@pass_cli
def serve(cli: CliContext, host: str | None, port: int | None) -> None:
    """Serve CRLs, the allowlist, the auth_request check and OCSP over HTTP(S).

    ``--host/--port`` are applied before any part is built (the public address may derive
    from them); ``serve`` opens the CA keys (``Services.open_ca``: they must match the
    recorded CA) before it binds the port, and "serving" is said only once the port is ours.
    """
    from certsvc.api.server import base_url, serve  # noqa: PLC0415 - keeps --help fast

    http = cli.listen_on(host, port).http
    refused = certificate_links(cli.settings).refused
    if refused:
        click.echo(f"certsvc: warning: issuance is refused: {refused}", err=True)
    url = base_url(cli.services, http.host, http.port)
    serve(
        cli.services,
        http.host,
        http.port,
        lambda: click.echo(f"certsvc serving on {url}", err=True),
    )
