"""The offline-root ceremony: ``certsvc ca issuing-csr``, ``ca root-ceremony``, ``ca import-root``.

The online node exports its issuing CA request; the offline box (its own certsvc home,
no database needed) signs it and a long-lived root CRL; the online node imports both.
Files travel on disk (removable media); nothing here talks to the network.
"""

from __future__ import annotations

from pathlib import Path

import click
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pydantic import ValidationError

from ca_adapters.base import CAAdapter
from ca_adapters.local.adapter import LocalCA, key_store
from ca_adapters.local.ceremony import OfflineRootNode, RootCeremony
from ca_adapters.local.identity import ROOT
from ca_adapters.local.options import LocalOptions
from certsvc.agent.layout import write_atomically
from certsvc.cli.context import CliContext, pass_cli
from certsvc.config import Settings
from certsvc.errors import ConfigError
from certsvc.feed.root_crl import store_imported
from certsvc.storage.db import transaction


def _node(adapter: CAAdapter) -> OfflineRootNode:
    if not isinstance(adapter, LocalCA):
        raise ConfigError(f"CA adapter {adapter.name!r} has no offline root")
    return OfflineRootNode.of(adapter)


def local_options(settings: Settings) -> LocalOptions:
    try:
        return LocalOptions.model_validate(settings.ca.tables.get("local", {}))
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        raise ConfigError(f"config key ca.local.{where}: {problem['msg']}") from exc


@click.command("issuing-csr")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True)
@pass_cli
def issuing_csr(cli: CliContext, output: str) -> None:
    """Make this node's next issuing CA key and write its CSR for the root ceremony."""
    pem, notes = _node(cli.services.adapter).issuing_csr()
    write_atomically(Path(output), pem)
    for note in notes:
        click.echo(note)
    click.echo(f"wrote {output}: take it to the offline box (certsvc ca root-ceremony --csr)")


@click.command("root-ceremony")
@click.option("--csr", type=click.Path(exists=True, dir_okay=False), help="An issuing-csr file.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True)
@click.option(
    "--crl-days",
    type=click.IntRange(min=1, max=3650),
    default=365,
    show_default=True,
    help="Days until the root CRL's nextUpdate.",
)
@pass_cli
def root_ceremony(cli: CliContext, csr: str | None, out_dir: str, crl_days: int) -> None:
    """On the offline box: make (or open) the root, sign the issuing CA and a root CRL.

    Without --csr only a new root CRL is signed (its yearly renewal). The box needs no
    database: its certsvc home holds the root key (file or token) and certificate.
    """
    settings = cli.settings
    options = local_options(settings)
    home = settings.home_dir
    directory = home / (options.dir or "ca")
    keys = key_store(options, directory, home)
    ceremony = RootCeremony(options, keys, directory, cli.clock, cli.services.certificate_urls())
    root, notes = ceremony.root()
    issuing = ceremony.sign_issuing(root, Path(csr).read_bytes()) if csr else None
    crl = ceremony.root_crl(root, crl_days)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pem = serialization.Encoding.PEM
    write_atomically(out / "root.pem", root.certificate.public_bytes(pem))
    if issuing is not None:
        write_atomically(out / "issuing.pem", issuing.public_bytes(pem))
        notes.append(f"signed {issuing.subject.rfc4514_string()} into {out / 'issuing.pem'}")
    write_atomically(out / "root.crl", crl.public_bytes(pem))
    number = crl.extensions.get_extension_for_class(x509.CRLNumber).value
    notes.append(
        f"signed root CRL #{number.crl_number} until {crl.next_update_utc:%Y-%m-%d %H:%M}"
        f" into {out / 'root.crl'}: import it before then (certsvc ca import-root --crl)"
    )
    for note in notes:
        click.echo(note)


@click.command("import-root")
@click.option("--root", "root_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--issuing", "issuing_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--crl", "crl_file", type=click.Path(exists=True, dir_okay=False), required=True)
@pass_cli
def import_root(
    cli: CliContext, root_file: str | None, issuing_file: str | None, crl_file: str
) -> None:
    """Import what the root ceremony signed: the chain (--root, --issuing) and the root CRL.

    With --crl alone, a renewed root CRL. Everything is checked before anything is kept.
    """
    if (root_file is None) != (issuing_file is None):
        raise click.UsageError("--root and --issuing go together")
    services = cli.services
    node = _node(services.adapter)
    root_pem = Path(root_file).read_bytes() if root_file else None
    crl = node.verify_root_crl(Path(crl_file).read_bytes(), root_pem)
    notes = []
    if root_pem is not None and issuing_file is not None:
        notes += node.import_chain(root_pem, Path(issuing_file).read_bytes())
    with transaction(services.sessions) as session:
        stored, new = store_imported(session, ROOT, crl, services.clock.now())
    state = "imported" if new else "already served:"
    notes.append(
        f"{state} root CRL #{stored.number} until {stored.next_update:%Y-%m-%d %H:%M}"
        " (served as is; renew it in the ceremony before then)"
    )
    for note in notes:
        click.echo(note)
