"""``certsvc operator add|list|reset|disable``: console accounts, made on the box.

The initial password comes from ``--password-file`` (its first line) or, without it,
from a hidden prompt typed twice; it is temporary, so the first sign-in must replace it.
The TOTP enrolment is printed as an ``otpauth://`` URI alone on the last line (for
scripts and tests) and, with ``--qr FILE``, drawn as a QR code (SVG, or PNG when FILE
ends in ``.png``) to hand to the operator.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Literal

import click

from certsvc.access.operators import ROLES
from certsvc.access.totp import Enrolment, qr_image
from certsvc.cli.context import CliContext, pass_cli
from certsvc.cli.output import print_json, print_table
from certsvc.errors import InputError


def _password(password_file: str | None) -> str:
    if password_file is None:
        typed: str = click.prompt(
            "initial password", hide_input=True, confirmation_prompt=True, err=True
        )
        return typed
    try:
        lines = Path(password_file).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read --password-file {password_file}: {exc}") from exc
    if not lines or not lines[0]:
        raise InputError(f"--password-file {password_file} is empty", "password")
    return lines[0]


def _show(enrolment: Enrolment, qr: str | None) -> None:
    """The QR file (0600: it holds the secret) if asked, then the URI on the last line."""
    if qr is not None:
        kind: Literal["svg", "png"] = "png" if qr.lower().endswith(".png") else "svg"
        try:
            descriptor = os.open(qr, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            raise InputError(f"cannot create --qr file {qr}: {exc}") from exc
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(qr_image(enrolment.uri, kind))
        click.echo(f"QR code of the TOTP enrolment written to {qr}")
    click.echo("TOTP enrolment (scan or type into the authenticator app; shown once):")
    click.echo(enrolment.uri)


password_option = click.option(
    "--password-file",
    type=click.Path(dir_okay=False),
    help="File whose first line is the initial password (default: prompt).",
)
qr_option = click.option(
    "--qr",
    type=click.Path(dir_okay=False),
    help="Write the enrolment as a QR code to this new file (.svg or .png).",
)


@click.group()
def operator() -> None:
    """Console operator accounts (password + TOTP)."""


@operator.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--company", help="The tenant of a tenant-admin.")
@password_option
@qr_option
@pass_cli
def add(
    cli: CliContext,
    name: str,
    role: str,
    company: str | None,
    password_file: str | None,
    qr: str | None,
) -> None:
    """Add operator NAME; the password must be changed at the first sign-in."""
    enrolment = cli.services.operators.add(
        name, role, company, _password(password_file), cli.actor()
    )
    click.echo(f"operator {name} ({role}) added; the first sign-in must set a new password")
    _show(enrolment, qr)


@operator.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def list_(cli: CliContext, as_json: bool) -> None:
    """List operators (never a password hash or TOTP secret)."""
    rows = []
    for info in cli.services.operators.list():
        row = asdict(info)
        rows.append({k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in row.items()})
    if as_json:
        print_json(rows)
        return
    columns = ("name", "role", "company_number", "last_sign_in_at", "locked_until", "disabled_at")
    print_table(rows, columns)


@operator.command("reset")
@click.argument("name")
@password_option
@qr_option
@pass_cli
def reset(cli: CliContext, name: str, password_file: str | None, qr: str | None) -> None:
    """New temporary password and TOTP secret for NAME; unlocks and ends its sessions."""
    enrolment = cli.services.operators.reset(name, _password(password_file), cli.actor())
    click.echo(f"operator {name} reset; the old authenticator entry no longer works")
    _show(enrolment, qr)


@operator.command("disable")
@click.argument("name")
@pass_cli
def disable(cli: CliContext, name: str) -> None:
    """Disable NAME for good: no more sign-ins, open sessions end now."""
    cli.services.operators.disable(name, cli.actor())
    click.echo(f"operator {name} disabled")
