"""``certsvc token ...``: API tokens for the helpdesk, tenants and gateways."""

from __future__ import annotations

from dataclasses import asdict

import click

from certsvc.access.tokens import ROLES
from certsvc.cli.context import CliContext, pass_cli
from certsvc.cli.output import print_json, print_table


@click.group()
def token() -> None:
    """API tokens (shown once, stored hashed)."""


@token.command("create")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--name", required=True, help="Who holds the token (unique).")
@click.option("--company", help="The tenant of a tenant-admin token.")
@pass_cli
def create(cli: CliContext, role: str, name: str, company: str | None) -> None:
    """Create a token; it is printed once, alone on the last line."""
    secret = cli.services.tokens.create(role, name, company)
    click.echo(f"token {name} ({role}) created; store it now, it is not shown again:")
    click.echo(secret)


@token.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def list_(cli: CliContext, as_json: bool) -> None:
    """List tokens (never their secrets)."""
    rows = [asdict(info) for info in cli.services.tokens.list()]
    if as_json:
        print_json(rows)
    else:
        columns = ("name", "role", "company_number", "created_at", "last_used_at", "revoked_at")
        print_table(rows, columns)


@token.command("revoke")
@click.argument("name")
@pass_cli
def revoke(cli: CliContext, name: str) -> None:
    """Revoke token NAME; it is refused from now on."""
    cli.services.tokens.revoke(name)
    click.echo(f"token {name} revoked")
