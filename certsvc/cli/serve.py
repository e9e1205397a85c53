"""``certsvc serve``: the HTTP service (gateway feed, OCSP, health and metrics)."""

from __future__ import annotations

import click

from certsvc.cli.context import CliContext, pass_cli


@click.command()
@click.option("--host", default=None, help="Address to listen on (default: [http] host).")
@click.option("--port", type=int, default=None, help="Port (default: [http] port, 8080).")
@pass_cli
def serve(cli: CliContext, host: str | None, port: int | None) -> None:
    """Serve CRLs, the allowlist, the auth_request check and OCSP over HTTP(S)."""
    from certsvc.api.server import base_url, serve  # noqa: PLC0415 - keeps --help fast

    cli.services.open_ca()
    http = cli.settings.http
    chosen_host = host or http.host
    chosen_port = http.port if port is None else port
    click.echo(f"certsvc serving on {base_url(cli.services, chosen_host, chosen_port)}", err=True)
    serve(cli.services, chosen_host, chosen_port)
