"""``certsvc import certificates DIR|FILE`` and ``certsvc import subscribers CSV``.

Both check everything before they write: any bad certificate or row is listed (exit 2)
and nothing is imported. ``--dry-run`` shows what would be imported. A progress bar
(tqdm, on stderr) counts the certificates or rows read; ``--no-progress`` hides it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from certsvc.cli.context import CliContext, force_option, pass_cli
from certsvc.cli.output import print_json
from certsvc.domain.imports import FoundCertificate, Owner, read_certificates, read_mapping
from certsvc.errors import InputError
from certsvc.lifecycle.imports import CertificateImport
from certsvc.lifecycle.roster import SubscriberImport

SUFFIXES = (".pem", ".crt", ".cer", ".der")
"""Files taken from a directory (a file named on the command line is always read)."""

DRY_RUN = click.option("--dry-run", is_flag=True, help="Check and count; write nothing.")
AS_JSON = click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
PROGRESS = click.option(
    "--progress/--no-progress", default=True, show_default=True, help="Progress bar on stderr."
)


@click.group("import")
def import_group() -> None:
    """Bring certificates and subscribers over from another CA or service."""


@import_group.command("certificates")
@force_option
@click.argument("source", type=click.Path(exists=True))
@click.option(
    "--mapping",
    type=click.Path(exists=True, dir_okay=False),
    help="CSV: sha256 or serial, company_number, user_id[, email] (else O=, CN=, SAN e-mail).",
)
@DRY_RUN
@AS_JSON
@PROGRESS
@pass_cli
def import_certificates(
    cli: CliContext,
    source: str,
    mapping: str | None,
    dry_run: bool,
    as_json: bool,
    progress: bool,
) -> None:
    """Import the certificates in SOURCE (a PEM/DER file, a PEM bundle or a directory)."""
    found = list(_found_in(Path(source)))
    owners: dict[str, Owner] = read_mapping(_read_text(mapping)) if mapping else {}
    services = cli.services
    job = CertificateImport(services.sessions, services.clock, services.settings)
    with _bar(len(found), "certificates", progress) as advance:
        report = job.run(found, owners, cli.actor(), dry_run=dry_run, progress=advance)
    verb = "would import" if dry_run else "imported"
    summary = (
        f"{verb} {len(report.imported)} certificate(s); skipped {report.known} already known, "
        f"{report.expired} expired, {report.ca_certificates} CA certificate(s); "
        f"{report.subscribers_created} subscriber(s) created"
    )
    _finish(report.to_dict(), report.errors, summary, as_json)


@import_group.command("subscribers")
@force_option
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False))
@DRY_RUN
@AS_JSON
@PROGRESS
@pass_cli
def import_subscribers(
    cli: CliContext, csv_file: str, dry_run: bool, as_json: bool, progress: bool
) -> None:
    """Import subscribers: company_number, user_id, email[, display_name, role, locale,
    needs_certificate]."""
    text = _read_text(csv_file)
    services = cli.services
    job = SubscriberImport(services.sessions, services.clock, services.settings)
    rows = max(text.count("\n") - 1, 0)
    with _bar(rows, "rows", progress) as advance:
        report = job.run(text, cli.actor(), dry_run=dry_run, progress=advance)
    verb = "would add" if dry_run else "added"
    summary = f"{verb} {len(report.added)} subscriber(s); skipped {report.known} already known"
    _finish(report.to_dict(), report.errors, summary, as_json)


def _finish(data: dict[str, Any], errors: list[str], summary: str, as_json: bool) -> None:
    if as_json:
        print_json(data)
    else:
        for error in errors:
            click.echo(f"certsvc: error: {error}", err=True)
        if not errors:
            click.echo(summary)
    if errors:
        raise InputError(f"{len(errors)} problem(s) found; nothing was imported")


def _found_in(source: Path) -> Iterator[FoundCertificate]:
    files = (
        [source]
        if source.is_file()
        else sorted(
            path for path in source.rglob("*") if path.is_file() and path.suffix.lower() in SUFFIXES
        )
    )
    if not files:
        raise InputError(f"no certificate files ({', '.join(SUFFIXES)}) under {source}")
    for path in files:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc}") from exc
        yield from read_certificates(data, str(path))


def _read_text(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path} as UTF-8 text: {exc}") from exc


class _bar:
    """A tqdm bar whose ``advance`` the import calls per item (hidden when disabled)."""

    def __init__(self, total: int, unit: str, shown: bool) -> None:
        self.bar = tqdm(total=total, unit=f" {unit}", disable=not shown, leave=True)

    def __enter__(self) -> Callable[[int], None]:
        return self.advance

    def advance(self, count: int) -> None:
        self.bar.update(count)

    def __exit__(self, *_exc: object) -> None:
        self.bar.close()
