"""``certsvc tenant ...`` and ``certsvc subscriber ...``."""

from __future__ import annotations

import click

from certsvc import directory
from certsvc.cli.context import CliContext, force_option, pass_cli
from certsvc.cli.output import print_json, print_table


@click.group()
def tenant() -> None:
    """Customer companies."""


@tenant.command("add")
@force_option
@click.argument("company_number")
@click.option("--name", required=True, help="Company name (the O= of its certificates).")
@click.option("--admin-email", required=True, help="Representative administrator's e-mail.")
@click.option("--admin-name", default="", help="Representative administrator's name.")
@pass_cli
def tenant_add(
    cli: CliContext, company_number: str, name: str, admin_email: str, admin_name: str
) -> None:
    """Register a tenant."""
    cli.services.directory.add_tenant(company_number, name, admin_email, cli.actor(), admin_name)
    click.echo(f"tenant {company_number} added")


@click.group()
def subscriber() -> None:
    """Users of a tenant."""


@subscriber.command("add")
@force_option
@click.argument("company_number")
@click.argument("user_id")
@click.option("--email", required=True)
@click.option("--name", "display_name", default="", help="Display name.")
@click.option("--no-certificate", is_flag=True, help="The user needs no certificate.")
@click.option("--locale", type=click.Choice(["ja", "en"]), default="ja", show_default=True)
@click.option("--role", type=click.Choice(["officer", "staff"]), default="staff", show_default=True)
@pass_cli
def subscriber_add(
    cli: CliContext,
    company_number: str,
    user_id: str,
    email: str,
    display_name: str,
    no_certificate: bool,
    locale: str,
    role: str,
) -> None:
    """Register a subscriber of tenant COMPANY_NUMBER."""
    new = directory.NewSubscriber(
        company_number, user_id, email, display_name, not no_certificate, role, locale
    )
    cli.services.directory.add_subscriber(new, cli.actor())
    click.echo(f"subscriber {company_number}/{user_id} added")


TENANT_COLUMNS = ("company_number", "name", "admin_email", "subscribers", "created_at")
SUBSCRIBER_COLUMNS = ("user_id", "display_name", "email", "role", "needs_certificate")


@tenant.command("list")
@click.option("--limit", type=click.IntRange(1, 100_000), default=1000, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0)
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def tenant_list(cli: CliContext, limit: int, offset: int, as_json: bool) -> None:
    """Tenants by company number (the API's GET /api/v1/tenants)."""
    views, total = cli.services.directory.list_tenants(limit, offset)
    rows = [view.to_dict() for view in views]
    if as_json:
        print_json(rows)
        return
    print_table(rows, TENANT_COLUMNS)
    click.echo(f"{len(rows)} of {total} tenant(s)", err=True)


@subscriber.command("list")
@click.argument("company_number")
@click.option("--limit", type=click.IntRange(1, 100_000), default=1000, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0)
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def subscriber_list(
    cli: CliContext, company_number: str, limit: int, offset: int, as_json: bool
) -> None:
    """Subscribers of COMPANY_NUMBER in registration order (GET .../subscribers)."""
    directory_ = cli.services.directory
    rows = [view.to_dict() for view in directory_.list_subscribers(company_number, limit, offset)]
    if as_json:
        print_json(rows)
        return
    print_table(rows, SUBSCRIBER_COLUMNS)
    click.echo(
        f"{len(rows)} of {directory_.count_subscribers(company_number)} subscriber(s)", err=True
    )
