"""``certsvc ca show`` and ``certsvc crl``."""

from __future__ import annotations

from pathlib import Path

import click
from cryptography.hazmat.primitives import serialization

from ca_adapters.base import IssuingRollover
from certsvc.agent.layout import write_atomically
from certsvc.cli.context import CliContext, pass_cli
from certsvc.cli.output import print_table
from certsvc.domain.fingerprints import format_serial, sha256_hex
from certsvc.errors import ConfigError
from certsvc.feed.crl import bundle_pem, gateway_chain


@click.group()
def ca() -> None:
    """The certificate authority."""


@ca.command("show")
@click.option(
    "--pem", "as_pem", is_flag=True, help="Print the gateway chain: issuing CAs first, then root."
)
@pass_cli
def show(cli: CliContext, as_pem: bool) -> None:
    """Show the CA adapter and every CA a gateway must trust (older issuing CAs included)."""
    adapter = cli.services.adapter
    chain = gateway_chain(adapter)
    if as_pem:
        for certificate in chain:
            click.echo(certificate.public_bytes(serialization.Encoding.PEM).decode(), nl=False)
        return
    click.echo(f"adapter: {adapter.name}")
    rows = [
        {
            "subject": certificate.subject.rfc4514_string(),
            "serial": format_serial(certificate.serial_number),
            "not_after": certificate.not_valid_after_utc.isoformat(),
            "sha256": sha256_hex(certificate),
        }
        for certificate in chain
    ]
    print_table(rows, ("subject", "serial", "not_after", "sha256"))


@ca.command("rollover")
@pass_cli
def rollover(cli: CliContext) -> None:
    """Make a new issuing CA under the same root; new certificates come from it."""
    adapter = cli.services.adapter
    if not isinstance(adapter, IssuingRollover):
        raise ConfigError(f"CA adapter {adapter.name!r} cannot roll over its issuing CA")
    for note in adapter.rollover():
        click.echo(note)


@click.command()
@click.option("--pem", "as_pem", is_flag=True, help="Print every CA's CRL as PEM (for ssl_crl).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the PEM bundle here.")
@pass_cli
def crl(cli: CliContext, as_pem: bool, output: str | None) -> None:
    """Publish the CRLs when due and show them (--pem: the bundle a gateway loads)."""
    files = cli.services.crls.current()
    if output is not None:
        write_atomically(Path(output), bundle_pem(files))
    if as_pem and output is None:
        click.echo(bundle_pem(files).decode(), nl=False)
        return
    rows = [
        {
            "ca": crl_file.ca_name,
            "number": crl_file.number,
            "this_update": crl_file.this_update.isoformat(),
            "next_update": crl_file.next_update.isoformat(),
            "bytes": len(crl_file.der),
        }
        for crl_file in files
    ]
    print_table(rows, ("ca", "number", "this_update", "next_update", "bytes"))
