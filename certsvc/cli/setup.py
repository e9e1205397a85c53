"""``certsvc init``: data directory, database schema, local CA."""

from __future__ import annotations

import click

from certsvc.cli.context import CliContext, pass_cli


@click.command()
@pass_cli
def init(cli: CliContext) -> None:
    """Create the database schema and the CA when missing (safe to run again)."""
    for note in cli.services.initialise():
        click.echo(note)
