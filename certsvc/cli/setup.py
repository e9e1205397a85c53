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


@click.command()
@pass_cli
def migrate(cli: CliContext) -> None:
    """Bring the database schema up to this version's (no CA work; safe to run again).

    Run it after installing a new version, before starting ``certsvc serve``; ``init`` does
    the same and then prepares the CA.
    """
    before, after = cli.services.migrate()
    if before == after:
        click.echo(f"database schema current: {after}")
    else:
        click.echo(f"database schema migrated: {before or 'empty'} -> {after}")
