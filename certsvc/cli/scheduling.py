"""``certsvc nightly``, ``certsvc outbox drain|list|retry`` and ``certsvc scheduler``."""

from __future__ import annotations

from datetime import datetime

import click

from certsvc.app import Services
from certsvc.cli.context import CliContext, force_option, pass_cli
from certsvc.cli.options import now_option
from certsvc.cli.output import print_json, print_table
from certsvc.clock import FixedClock, local_text
from certsvc.errors import InputError
from certsvc.notify.drain import DrainReport, list_messages
from scheduler.daemon import nightly_parts, run_forever
from scheduler.jobs import run_nightly

OUTBOX_COLUMNS = (
    "id",
    "channel",
    "kind",
    "recipient",
    "status",
    "attempts",
    "next_attempt_at",
    "sent_at",
    "last_error",
)


def _services_at(cli: CliContext, now: datetime | None) -> Services:
    """The CLI's services, or a copy whose clock stands at ``--now``."""
    if now is None:
        return cli.services
    services = Services(cli.settings, FixedClock(now))
    click.get_current_context().call_on_close(services.close)
    return services


@click.command()
@now_option("Run as if it were this instant (cron catch-up, tests).")
@click.option("--dry-run", is_flag=True, help="Print what would be done; change nothing.")
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def nightly(cli: CliContext, now: datetime | None, dry_run: bool, as_json: bool) -> None:
    """Run the nightly job once: reminders, expiry, overdue revocations, CRL, outbox."""
    report = run_nightly(nightly_parts(_services_at(cli, now)), dry_run=dry_run)
    if as_json:
        print_json(report.to_dict())
        return
    if report.deferred_until is not None:
        until = local_text(report.deferred_until, cli.settings.zone)
        click.echo(f"maintenance window: deferred until {until}")
        return
    if not report.business_dates:
        click.echo("nothing to do: today's run is done already")
        return
    verb = "would queue" if dry_run else "queued"
    dates = ", ".join(day.isoformat() for day in report.business_dates)
    click.echo(f"business dates: {dates}")
    for reminder in report.reminders:
        click.echo(
            f"reminder {verb}: {reminder.serial} to {reminder.recipient} "
            f"({reminder.days_before} days before {reminder.expiry_date.isoformat()})"
        )
    for serial in report.expired:
        click.echo(f"{'would expire' if dry_run else 'expired'}: {serial}")
    for serial in report.revoked:
        click.echo(f"{'would revoke' if dry_run else 'revoked'}: {serial}")
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    if report.drain is not None:
        _echo_drain(report.drain)


@click.group()
def outbox() -> None:
    """Queued mails and webhooks."""


@outbox.command("drain")
@now_option("Send what is due at this instant.")
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def drain(cli: CliContext, now: datetime | None, as_json: bool) -> None:
    """Send every due message once; failures are retried later with backoff."""
    report = _services_at(cli, now).outbox.drain()
    if as_json:
        print_json(report.to_dict())
    else:
        _echo_drain(report)


@outbox.command("list")
@click.option("--status", type=click.Choice(["queued", "sent", "failed"]))
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def list_(cli: CliContext, status: str | None, limit: int, as_json: bool) -> None:
    """List messages, newest first."""
    with cli.services.sessions() as session:
        rows = [
            {
                "id": row.id,
                "channel": row.channel,
                "kind": row.kind,
                "recipient": row.recipient,
                "status": row.status,
                "attempts": row.attempts,
                "next_attempt_at": row.next_attempt_at.isoformat(),
                "sent_at": row.sent_at.isoformat() if row.sent_at else None,
                "last_error": row.last_error,
            }
            for row in list_messages(session, status, limit)
        ]
    if as_json:
        print_json(rows)
    else:
        print_table(rows, OUTBOX_COLUMNS)


@outbox.command("retry")
@force_option
@click.argument("message_id", required=False, type=click.IntRange(1, 2**31 - 1))
@click.option("--failed", "every_failed", is_flag=True, help="Every failed message.")
@click.option("--ticket", help="Ticket reference for the audit trail.")
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def retry(
    cli: CliContext,
    message_id: int | None,
    every_failed: bool,
    ticket: str | None,
    as_json: bool,
) -> None:
    """Put a failed message (ID) or every failed one (--failed) back in the queue."""
    if (message_id is None) == (not every_failed):
        raise InputError("give a message ID or --failed (not both)")
    retrying = cli.services.outbox_retry
    by = cli.actor(ticket)
    done = retrying.retry_failed(by) if every_failed else retrying.retry(message_id or 0, by)
    if as_json:
        print_json(done.to_dict())
        return
    shown = ", ".join(str(id_) for id_ in done.ids) or "none"
    click.echo(f"re-queued {len(done.ids)} message(s): {shown}")


@click.command()
@pass_cli
def scheduler(cli: CliContext) -> None:
    """Run the scheduler daemon (nightly job, outbox drain) until interrupted."""
    run_forever(cli.services)


def _echo_drain(report: DrainReport) -> None:
    click.echo(f"mail sent: {report.sent}, retry later: {report.retried}, failed: {report.failed}")
    for id_, recipient, error in report.failures:
        click.echo(f"failed: message {id_} to {recipient}: {error}", err=True)
