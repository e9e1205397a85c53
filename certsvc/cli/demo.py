"""``certsvc demo``: the main job end to end on the embedded default, for a first look."""

from __future__ import annotations

from pathlib import Path

import click
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from certsvc.cli.context import CliContext, pass_cli
from certsvc.cli.run import write_gateway_files
from certsvc.directory import NewSubscriber
from certsvc.domain.certificates import ReissueReason, RevokeOld
from certsvc.errors import Conflict
from certsvc.lifecycle.operations import CsrKey


def browser_csr() -> bytes:
    """What a subscriber's browser would send: a fresh P-256 key and its CSR."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "demo browser")])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM)


@click.command()
@pass_cli
def demo(cli: CliContext) -> None:
    """Init, a tenant, a subscriber, issue, reissue (PC change) and the CRL bundle."""
    services = cli.services
    for note in services.initialise():
        click.echo(f"init: {note}")
    actor = cli.actor("DEMO-1")
    try:
        services.directory.add_tenant("1001", "Demo KK", "admin@demo.example.jp", actor)
        services.directory.add_subscriber(
            NewSubscriber("1001", "demo-user", "user@demo.example.jp", "Demo User"), actor
        )
    except Conflict:
        click.echo("tenant 1001 and subscriber demo-user exist already")
    first = services.lifecycle.issue("1001", "demo-user", CsrKey(browser_csr()), actor)
    click.echo(f"issued   {first.certificate.serial} (expires {first.certificate.expiry_date})")
    serial = first.certificate.serial or ""
    second = services.lifecycle.reissue(
        serial, ReissueReason.PC_CHANGE, CsrKey(browser_csr()), actor, revoke_old=RevokeOld.NOW
    )
    click.echo(f"reissued {second.certificate.serial}; {serial} revoked (superseded)")
    chain, bundle = write_gateway_files(services, services.settings.home_dir)
    click.echo(f"CRL bundle for ssl_crl: {bundle}")
    click.echo(f"CA chain for ssl_client_certificate: {chain}")
    click.echo(f"check: openssl crl -in {Path(bundle)} -noout -text | grep -A2 Serial")
