"""``certsvc audit``: the audit trail with the filters of ``GET /api/v1/audit``."""

from __future__ import annotations

from datetime import datetime

import click

from certsvc import audit as trail
from certsvc.audit import AuditFilter
from certsvc.cli.context import CliContext, pass_cli
from certsvc.cli.options import Instant
from certsvc.cli.output import print_json, print_table
from certsvc.domain.fingerprints import normalise_serial

COLUMNS = ("at", "actor", "action", "outcome", "ticket", "company_number", "serial")


@click.command("audit")
@click.option("--company", "company_number", default=None, help="Company number.")
@click.option("--serial", default=None, help="Certificate serial (any case, colons).")
@click.option("--actor", default=None, help="Exact actor, e.g. cli:alice or api:helpdesk-1.")
@click.option("--ticket", default=None, help="Ticket reference, by prefix, any case.")
@click.option("--since", type=Instant(), default=None, help="From this instant (with offset).")
@click.option("--until", type=Instant(), default=None, help="Before this instant.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=100, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0)
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def audit(  # noqa: PLR0913, PLR0917 - one option per filter of the API
    cli: CliContext,
    company_number: str | None,
    serial: str | None,
    actor: str | None,
    ticket: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    offset: int,
    as_json: bool,
) -> None:
    """Audit events, oldest first: who changed what, under which ticket."""
    wanted = AuditFilter(
        company_number=company_number,
        serials=(normalise_serial(serial),) if serial else (),
        actor=actor,
        ticket=ticket,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    with cli.services.sessions() as session:
        events, total = trail.query(session, wanted), trail.count(session, wanted)
    if as_json:
        print_json(events)
        return
    print_table(events, COLUMNS)
    click.echo(f"{len(events)} of {total} event(s)", err=True)
