"""``certsvc gateway-config ... --dir D``: every file the gateway needs, written into D.

The chain and the CRL bundle come from this certsvc (its config and database), as with
``certsvc ca show --pem`` and ``certsvc crl -o``; run it where certsvc runs and copy the
directory to the gateway host when that is another machine.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from cryptography.hazmat.primitives import serialization

from certsvc.agent.bootstrap import (
    FirstFile,
    FirstFiles,
    feed_files,
    require_server_identity,
    self_signed_server,
    write_private,
)
from certsvc.agent.configs import GatewayOptions
from certsvc.agent.layout import write_atomically
from certsvc.app import Services
from certsvc.clock import SystemClock


def certsvc_files(services: Services) -> FirstFiles:
    """The chain (issuing CA first) and a CRL for every CA, as certsvc serves them now."""
    chain = services.adapter.trust_chain()
    pem = b"".join(ca.public_bytes(serialization.Encoding.PEM) for ca in chain)
    return FirstFiles(pem, b"".join(crl.pem for crl in services.crls.current()))


def server_identity(
    kind: str, options: GatewayOptions, self_signed: bool, now: datetime
) -> list[FirstFile]:
    """A trial certificate when asked for (never over an existing one); else check it exists.

    HAProxy takes certificate and key in one PEM (``crt``); nginx two files.
    """
    cert, key = options.server_cert, options.server_key
    if not self_signed or cert.exists():
        require_server_identity(cert, key if kind == "nginx" else None)
        return [FirstFile(cert, False)]
    cert_pem, key_pem = self_signed_server(options.server_name, now)
    if kind == "haproxy":
        write_private(cert, cert_pem + key_pem)
        return [FirstFile(cert, True)]
    write_atomically(cert, cert_pem)
    write_private(key, key_pem)
    return [FirstFile(cert, True), FirstFile(key, True)]


def write_gateway_directory(
    kind: str, options: GatewayOptions, config: str, first: FirstFiles, self_signed: bool
) -> list[FirstFile]:
    """Server identity first (a missing one writes nothing), then feed files and the config."""
    if not self_signed:
        require_server_identity(
            options.server_cert, options.server_key if kind == "nginx" else None
        )
    options.directory.mkdir(parents=True, exist_ok=True)
    written = server_identity(kind, options, self_signed, SystemClock().now())
    written += feed_files(options.files, first, kind)
    target = options.directory / ("nginx.conf" if kind == "nginx" else "haproxy.cfg")
    write_atomically(target, config.encode())
    if options.token is not None:
        target.chmod(0o600)  # it carries the gateway token
    return [*written, FirstFile(target, True)]


def report(kind: str, written: list[FirstFile], directory: Path) -> None:
    """What was written or kept, and how to start the gateway and its agent."""
    for each in written:
        click.echo(f"{'wrote' if each.written else 'kept '}  {each.path}")
    if kind == "nginx":
        click.echo(f"check:  nginx -t -p {directory} -c {directory}/nginx.conf")
        click.echo(f"start:  nginx -p {directory} -c {directory}/nginx.conf")
        click.echo(f"feed:   certsvc gateway-agent --nginx {directory} --token-file F")
    else:
        click.echo(f"check:  haproxy -c -f {directory}/haproxy.cfg")
        click.echo(f"start:  haproxy -f {directory}/haproxy.cfg")
        click.echo(
            f"feed:   certsvc gateway-agent --haproxy-socket {directory}/admin.sock --token-file F"
        )
    click.echo("every client is refused until the agent has loaded the allowlist")
