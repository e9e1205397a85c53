"""The ``certsvc`` entry point: global options, error-to-exit-code mapping, command groups.

Every ``CertsvcError`` becomes one line on stderr and a non-zero exit code, so scripts
can tell bad input (2) from unknown objects (3), conflicts (4), CA trouble (5) and
configuration problems (6): a database that refuses connections or has no schema yet
(`certsvc init` not run) is one of those, not a traceback.
"""

from __future__ import annotations

import sys
from typing import Any

import click
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, ProgrammingError

from certsvc import __version__
from certsvc.cli import (
    audit,
    backup,
    ca,
    ca_keys,
    ca_ops,
    cert,
    demo,
    directory,
    gateway,
    imports,
    operator,
    run,
    serve,
    setup,
    token,
)
from certsvc.cli.context import CliContext
from certsvc.cli.maintenance import maintenance
from certsvc.cli.scheduling import nightly, outbox, scheduler
from certsvc.clock import Clock
from certsvc.config import CONFIG_ENV
from certsvc.errors import (
    CAError,
    CertsvcError,
    ConfigError,
    Conflict,
    InputError,
    MaintenanceWindow,
    NotFound,
)

EXIT_CODES: tuple[tuple[type[CertsvcError], int], ...] = (
    (InputError, 2),
    (NotFound, 3),
    (Conflict, 4),
    (CAError, 5),
    (ConfigError, 6),
    (MaintenanceWindow, 7),
)


def exit_code_for(error: CertsvcError) -> int:
    for kind, code in EXIT_CODES:
        if isinstance(error, kind):
            return code
    return 1


class CertsvcGroup(click.Group):
    """A click group that turns certsvc errors into one readable line and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CertsvcError as error:
            click.echo(f"certsvc: error: {error}", err=True)
            sys.exit(exit_code_for(error))
        except DBAPIError as error:
            message = database_problem(error)
            if message is None:
                raise
            click.echo(f"certsvc: error: {message}", err=True)
            sys.exit(6)


def database_problem(error: DBAPIError) -> str | None:
    """A database that refuses connections or has no schema yet is a configuration
    problem of the host (one line, exit 6), not a crash with a traceback."""
    text = str(error.orig)
    missing = isinstance(error, ProgrammingError) and "does not exist" in text
    if missing or "no such table" in text:
        return "the database is not initialised: run `certsvc init`"
    if isinstance(error, (OperationalError, InterfaceError)):
        first = text.strip().splitlines()[0] if text.strip() else type(error.orig).__name__
        return f"cannot reach the database: {first}"
    return None


@click.group(cls=CertsvcGroup)
@click.version_option(__version__, prog_name="certsvc", message="%(prog)s %(version)s")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    envvar=CONFIG_ENV,
    help="TOML config file (default: built-in defaults under $CERTSVC_HOME).",
)
@click.pass_context
def main(ctx: click.Context, config_file: str | None) -> None:
    """certsvc: client-certificate lifecycle management."""
    given = ctx.obj  # a Clock handed in by a program embedding the CLI (the tests)
    ctx.obj = CliContext(config_file, given if isinstance(given, Clock) else None)
    ctx.call_on_close(ctx.obj.close)


def _register() -> None:
    commands = (
        setup.init,
        setup.migrate,
        directory.tenant,
        directory.subscriber,
        cert.cert,
        ca.ca,
        ca.crl,
    )
    operations = (
        backup.backup,
        backup.restore,
        imports.import_group,
        audit.audit,
        demo.demo,
        ca_ops.reconcile,
        maintenance,
        token.token,
        nightly,
        outbox,
    )
    gateway_commands = (serve.serve, gateway.gateway_config, gateway.gateway_agent, run.run)
    for command in (*commands, *operations, operator.operator, scheduler, *gateway_commands):
        main.add_command(command)
    ca.ca.add_command(ca_ops.check)
    for ceremony_command in (ca_keys.issuing_csr, ca_keys.root_ceremony, ca_keys.import_root):
        ca.ca.add_command(ceremony_command)


_register()
