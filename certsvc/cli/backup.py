"""``certsvc backup FILE`` and ``certsvc restore FILE``: one encrypted, consistent archive.

The passphrase comes from ``--passphrase-file`` or ``$CERTSVC_BACKUP_PASSPHRASE``; it is
never an argument (shell history, ``ps``) and never logged.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import click

from certsvc.backup.archive import backup as write_backup
from certsvc.backup.archive import restore as read_backup
from certsvc.cli.context import CliContext, pass_cli
from certsvc.cli.options import now_option
from certsvc.errors import InputError

PASSPHRASE_ENV = "CERTSVC_BACKUP_PASSPHRASE"
GAP_FLOOR = 1000

PASSPHRASE_FILE = click.option(
    "--passphrase-file",
    type=click.Path(dir_okay=False),
    help=f"File holding the backup passphrase (default: ${PASSPHRASE_ENV}).",
)


def read_passphrase(passphrase_file: str | None) -> bytes:
    if passphrase_file is None:
        value = os.environ.get(PASSPHRASE_ENV, "").strip()
        if not value:
            raise InputError(f"give --passphrase-file or set ${PASSPHRASE_ENV}")
        return value.encode()
    try:
        return Path(passphrase_file).read_bytes().strip()
    except OSError as exc:
        raise InputError(f"cannot read the passphrase file {passphrase_file}: {exc}") from exc


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@PASSPHRASE_FILE
@now_option()
@pass_cli
def backup(cli: CliContext, file: str, passphrase_file: str | None, now: datetime | None) -> None:
    """Write an encrypted archive: database snapshot, CA material, pepper and home files."""
    passphrase = read_passphrase(passphrase_file)
    when = now or cli.services.clock.now()
    manifest = write_backup(cli.settings, Path(file), passphrase, when)
    click.echo(
        f"backup written: {file} ({manifest.backend} database, {len(manifest.files)} files, "
        f"{when.isoformat()})"
    )


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@PASSPHRASE_FILE
@click.option(
    "--crl-number-above",
    type=click.IntRange(0),
    default=0,
    help="Highest CRL number any gateway holds (its certsvc-agent.json); the next is above.",
)
@now_option()
@pass_cli
def restore(
    cli: CliContext,
    file: str,
    passphrase_file: str | None,
    crl_number_above: int,
    now: datetime | None,
) -> None:
    """Restore a backup into a fresh home and an empty database, then publish new CRLs.

    CRLs published after the backup are not in it; gateways refuse a CRL number lower
    than one they hold. The new CRLs are numbered above the backup's by one per second
    elapsed since the backup plus 1000, or above ``--crl-number-above``, whichever is
    higher.
    """
    passphrase = read_passphrase(passphrase_file)
    services = cli.services
    manifest = read_backup(cli.settings, services.engine, Path(file), passphrase)
    services.migrate()
    elapsed = (now or services.clock.now()) - manifest.created_at
    gap = GAP_FLOOR + max(int(elapsed.total_seconds()), 0)
    published = services.crls.publish_after_gap(gap, crl_number_above)
    click.echo(
        f"restored the backup of {manifest.created_at.isoformat()} "
        f"(certsvc {manifest.version}, {len(manifest.files)} files)"
    )
    for crl in published:
        click.echo(f"CRL {crl.ca_name}: published number {crl.number}")
