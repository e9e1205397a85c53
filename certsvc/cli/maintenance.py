"""``certsvc maintenance next``: when the next maintenance windows are."""

from __future__ import annotations

from datetime import datetime

import click

from certsvc.cli.context import CliContext, pass_cli
from certsvc.cli.options import now_option
from certsvc.cli.output import print_json, print_table


@click.group()
def maintenance() -> None:
    """The monthly maintenance window."""


@maintenance.command("next")
@click.option("--count", default=3, show_default=True, type=click.IntRange(1, 120))
@click.option("--json", "as_json", is_flag=True)
@now_option("List windows ending after this instant (default: now).")
@pass_cli
def next_(cli: CliContext, count: int, as_json: bool, now: datetime | None) -> None:
    """Show the next maintenance windows (an open one first), in the business time zone."""
    services = cli.services
    windows = services.maintenance.next_windows(now or services.clock.now(), count)
    rows = [window.to_dict() for window in windows]
    if as_json:
        print_json(rows)
    elif not rows:
        click.echo("maintenance windows are disabled ([maintenance] enabled = false)")
    else:
        print_table(rows, ("starts_at", "ends_at"))
