"""``certsvc ca check`` and ``certsvc reconcile``: operating the CA connection."""

from __future__ import annotations

from datetime import timedelta

import click

from certsvc.cli.context import CliContext, pass_cli
from certsvc.cli.output import print_json
from certsvc.feed.ca_check import check_ca

CA_FAILURE = 5


@click.command("check")
@pass_cli
def check(cli: CliContext) -> None:
    """Check the CA: keys or login, policy, quota, chain, CRLs (non-zero exit on failure)."""
    services = cli.services
    lines = check_ca(services.adapter, services.crls, services.clock)
    width = max(len(line.name) for line in lines)
    for line in lines:
        mark = ("WARN" if line.warning else "ok  ") if line.ok else "FAIL"
        click.echo(f"{mark}  {line.name.ljust(width)}  {line.detail}")
    if not all(line.ok for line in lines):
        raise SystemExit(CA_FAILURE)


@click.command()
@click.option(
    "--older-than",
    type=click.IntRange(min=0),
    default=15,
    show_default=True,
    help="Only requests pending this many minutes (keep above the CA's issue deadline).",
)
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def reconcile(cli: CliContext, older_than: int, as_json: bool) -> None:
    """Settle pending requests whose CA answer was lost (never issues twice).

    A request that cannot be settled now stays pending; it is named on stderr and the
    exit code is 5, after every other request has been settled.
    """
    result = cli.services.lifecycle.reconcile(cli.actor(), timedelta(minutes=older_than))
    if as_json:
        failed = [{"request": each.request_id, "error": each.error} for each in result.failed]
        print_json(
            {
                "issued": result.issued,
                "dropped": result.dropped,
                "revoked": result.revoked,
                "failed": failed,
            }
        )
    else:
        click.echo(f"recorded as issued: {', '.join(result.issued) or 'none'}")
        click.echo(f"dropped (never issued, may be retried): {result.dropped}")
        click.echo(f"recorded as revoked: {', '.join(result.revoked) or 'none'}")
        click.echo(f"failed (left pending for the next run): {len(result.failed)}")
    for each in result.failed:
        what = f"request {each.request_id}" if each.request_id else "revocation"
        click.echo(f"certsvc: reconcile: {what}: {each.error}", err=True)
    if result.failed:
        raise SystemExit(CA_FAILURE)
