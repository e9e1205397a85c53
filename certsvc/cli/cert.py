"""``certsvc cert ...``: issue, renew, reissue, revoke, collect, show, list."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from certsvc.cli.context import CliContext, force_option, pass_cli
from certsvc.cli.options import ValueChoice
from certsvc.cli.output import SUMMARY_COLUMNS, print_certificate, print_json, print_table
from certsvc.domain.certificates import CertState, ReissueReason, RevokeOld
from certsvc.domain.policy import RevocationReason
from certsvc.errors import InputError
from certsvc.lifecycle.operations import CsrKey, Issued, KeySource, ServerKey, list_views
from certsvc.storage import queries
from certsvc.storage.queries import CertificateFilter

REASONS = [reason.value for reason in RevocationReason]


@click.group()
def cert() -> None:
    """Client certificates."""


@dataclass(frozen=True)
class KeyDelivery:
    """How the key is made and where the results go: ``--csr`` or ``--pkcs12``, ``--out``."""

    csr: str | None
    pkcs12: str | None
    password_file: str | None
    out: str | None
    as_json: bool

    def key_source(self) -> KeySource:
        """Exactly one way to get a key; output files are checked before anything is issued."""
        if (self.csr is None) == (self.pkcs12 is None):
            raise InputError("give either --csr FILE or --pkcs12 OUT --password-file F")
        if self.out is not None:
            _check_writable(Path(self.out))
        if self.csr is not None:
            return CsrKey(Path(self.csr).read_bytes())
        if self.password_file is None:
            raise InputError("--pkcs12 needs --password-file F")
        _check_writable(Path(self.pkcs12 or ""))
        lines = Path(self.password_file).read_bytes().splitlines()
        return ServerKey(lines[0] if lines else b"")

    def deliver(self, issued: Issued) -> None:
        """Write the PKCS#12 (mode 0600) and the PEM if asked, then show the certificate."""
        if issued.pkcs12 is not None and self.pkcs12 is not None:
            descriptor = os.open(self.pkcs12, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(issued.pkcs12)
        if self.out is not None:
            Path(self.out).write_text(issued.certificate_pem)
        print_certificate(issued.certificate, self.as_json)


def key_options(function: Callable[..., None]) -> Callable[..., None]:
    """Add the key options to a command and hand them over as one ``delivery`` argument."""

    @functools.wraps(function)
    def wrapper(
        *args: Any,
        csr: str | None,
        pkcs12: str | None,
        password_file: str | None,
        out: str | None,
        as_json: bool,
        **kwargs: Any,
    ) -> None:
        delivery = KeyDelivery(csr, pkcs12, password_file, out, as_json)
        function(*args, delivery=delivery, **kwargs)

    options = [
        click.option(
            "--csr",
            type=click.Path(exists=True, dir_okay=False),
            help="PEM CSR made by the subscriber.",
        ),
        click.option(
            "--pkcs12",
            type=click.Path(dir_okay=False),
            help="Make the key here; write PKCS#12 to this file.",
        ),
        click.option(
            "--password-file",
            type=click.Path(exists=True, dir_okay=False),
            help="PKCS#12 password (first line).",
        ),
        click.option(
            "--out", type=click.Path(dir_okay=False), help="Also write the certificate (PEM) here."
        ),
        click.option("--json", "as_json", is_flag=True, help="Print JSON."),
    ]
    decorated: Callable[..., None] = wrapper
    for option in reversed(options):
        decorated = option(decorated)
    return decorated


def _check_writable(path: Path) -> None:
    if path.exists():
        raise InputError(f"refusing to overwrite {path}")
    if not path.parent.is_dir() or not os.access(path.parent, os.W_OK):
        raise InputError(f"cannot write to {path.parent}")


@cert.command("issue")
@force_option
@click.argument("company_number")
@click.argument("user_id")
@key_options
@pass_cli
def issue(cli: CliContext, company_number: str, user_id: str, delivery: KeyDelivery) -> None:
    """Issue a certificate to subscriber USER_ID of tenant COMPANY_NUMBER."""
    key = delivery.key_source()
    delivery.deliver(cli.services.lifecycle.issue(company_number, user_id, key, cli.actor()))


@cert.command("renew")
@force_option
@click.argument("serial")
@key_options
@click.option("--revoke-old", type=ValueChoice(RevokeOld), help="Default: keep the old one valid.")
@click.option("--ticket", help="Ticket reference for the audit trail.")
@pass_cli
def renew(
    cli: CliContext,
    serial: str,
    delivery: KeyDelivery,
    revoke_old: RevokeOld | None,
    ticket: str | None,
) -> None:
    """Issue a successor of SERIAL for the same subscriber."""
    key = delivery.key_source()
    delivery.deliver(
        cli.services.lifecycle.renew(serial, key, cli.actor(ticket), revoke_old=revoke_old)
    )


@cert.command("reissue")
@force_option
@click.argument("serial")
@click.option("--reason", required=True, type=ValueChoice(ReissueReason))
@click.option("--new-email", help="The new user's e-mail (user change).")
@click.option("--new-name", help="The new user's display name (user change).")
@click.option("--revoke-old", type=ValueChoice(RevokeOld), help="Default from config.")
@click.option("--ticket", help="Ticket reference for the audit trail.")
@key_options
@pass_cli
def reissue(
    cli: CliContext,
    serial: str,
    reason: ReissueReason,
    new_email: str | None,
    new_name: str | None,
    revoke_old: RevokeOld | None,
    ticket: str | None,
    delivery: KeyDelivery,
) -> None:
    """Replace SERIAL after a PC change or a user change."""
    key = delivery.key_source()
    issued = cli.services.lifecycle.reissue(
        serial,
        reason,
        key,
        cli.actor(ticket),
        revoke_old=revoke_old,
        new_email=new_email,
        new_name=new_name,
    )
    delivery.deliver(issued)


@cert.command("revoke")
@force_option
@click.argument("serial")
@click.option("--reason", required=True, type=click.Choice(REASONS))
@click.option("--ticket", help="Ticket reference for the audit trail.")
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def revoke(cli: CliContext, serial: str, reason: str, ticket: str | None, as_json: bool) -> None:
    """Revoke SERIAL (final)."""
    view = cli.services.lifecycle.revoke(serial, RevocationReason(reason), cli.actor(ticket))
    print_certificate(view, as_json)


@cert.command("collect")
@force_option
@click.argument("serial")
@click.option("--ticket", help="Ticket reference for the audit trail.")
@pass_cli
def collect(cli: CliContext, serial: str, ticket: str | None) -> None:
    """Record that SERIAL was picked up (revokes an on-pickup predecessor)."""
    view = cli.services.lifecycle.collect(serial, cli.actor(ticket))
    print_certificate(view, False)


@cert.command("show")
@click.argument("serial")
@click.option("--json", "as_json", is_flag=True)
@click.option("--pem", "as_pem", is_flag=True, help="Print the certificate in PEM.")
@pass_cli
def show(cli: CliContext, serial: str, as_json: bool, as_pem: bool) -> None:
    """Show one certificate."""
    if as_pem:
        click.echo(cli.services.lifecycle.pem(serial), nl=False)
        return
    print_certificate(cli.services.lifecycle.show(serial), as_json)


@cert.command("list")
@click.option("--company", help="Only this tenant.")
@click.option("--state", type=ValueChoice(CertState))
@click.option("--expiring-within", type=int, help="Expiry date within DAYS days from today.")
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def list_(
    cli: CliContext,
    company: str | None,
    state: CertState | None,
    expiring_within: int | None,
    as_json: bool,
) -> None:
    """List certificates."""
    lifecycle = cli.services.lifecycle
    before = None
    if expiring_within is not None:
        today = lifecycle.clock.now().astimezone(lifecycle.settings.zone).date()
        before = queries.expiring_within(today, expiring_within)
    views = list_views(lifecycle, CertificateFilter(company, state, before, limit=10_000))
    if as_json:
        print_json([view.to_dict() for view in views])
    else:
        print_table([view.to_dict() for view in views], SUMMARY_COLUMNS)
