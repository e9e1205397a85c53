"""``certsvc nightly``, ``certsvc outbox`` and the scheduler daemon's leader lock."""

import json
import threading
from datetime import timedelta

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from click.testing import CliRunner
from sqlalchemy import func, select

from certsvc.app import Services
from certsvc.cli.main import main
from certsvc.storage.models import JobRun
from scheduler.daemon import DRAIN_JOB, NIGHTLY_JOB, SchedulerDaemon
from scheduler.leader import FileLeaderLock, PostgresLeaderLock, leader_lock_for
from tests import timestamps
from tests.conftest import POSTGRES_URL
from tests.integration.test_nightly_life import add_subscriber, issue


def write_config(tmp_path, services):
    mail = services.settings.mail
    config = tmp_path / "certsvc.toml"
    config.write_text(
        f'home = "{services.settings.home}"\n'
        f'[database]\nurl = "{services.settings.database_url}"\n'
        f'[mail]\nsmtp_host = "127.0.0.1"\nsmtp_port = {mail.smtp_port}\n'
        f'from = "certs@example.jp"\n'
    )
    return str(config)


def cli(config, *args):
    return CliRunner().invoke(main, ["--config", config, *args])


def test_cli_nightly_dry_run_then_real_run_then_outbox_list(mail_services, smtp_server, tmp_path):
    _, recorder = smtp_server
    add_subscriber(mail_services)
    certificate = issue(mail_services)
    config = write_config(tmp_path, mail_services)
    at = (timestamps.expiry_date - timedelta(days=7)).isoformat() + "T00:05+09:00"

    dry = cli(config, "nightly", "--now", at, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert (
        f"reminder would queue: {certificate.serial} to taro@acme.example.jp (7 days" in dry.output
    )
    assert recorder.messages == []

    real = cli(config, "nightly", "--now", at)
    assert real.exit_code == 0, real.output
    assert f"reminder queued: {certificate.serial}" in real.output
    assert "mail sent: 2, retry later: 0, failed: 0" in real.output  # issued + reminder
    assert len(recorder.messages) == 2

    again = cli(config, "nightly", "--now", at)
    assert "nothing to do" in again.output

    listed = cli(config, "outbox", "list", "--json")
    rows = json.loads(listed.output)
    assert [(r["kind"], r["status"]) for r in rows] == [
        ("certificate.reminder", "sent"),
        ("certificate.issued", "sent"),
    ]


def test_cli_outbox_drain_reports_a_permanent_refusal(mail_services, smtp_server, tmp_path):
    _, recorder = smtp_server
    add_subscriber(mail_services)
    issue(mail_services)
    recorder.refuse = "550 5.1.1 No such user"
    result = cli(
        write_config(tmp_path, mail_services), "outbox", "drain", "--now", "2026-11-26T10:00+09:00"
    )
    assert result.exit_code == 0
    assert "failed: 1" in result.output
    assert "to taro@acme.example.jp: 550 5.1.1 No such user" in result.output
    table = cli(write_config(tmp_path, mail_services), "outbox", "list", "--status", "failed")
    assert "certificate.issued" in table.output


def test_cli_nightly_refuses_a_naive_now(mail_services, tmp_path):
    result = cli(write_config(tmp_path, mail_services), "nightly", "--now", "2028-11-27T00:00")
    assert result.exit_code == 2
    assert "naive datetime refused" in result.output


def test_file_lock_lets_one_instance_lead(tmp_path):
    first, second = FileLeaderLock(tmp_path / "lock"), FileLeaderLock(tmp_path / "lock")
    assert first.acquire()
    assert first.acquire()  # still the leader
    assert not second.acquire()
    first.release()
    assert second.acquire()
    second.release()


def test_daemon_jobs_use_cron_in_the_business_zone_with_coalesce(services):
    scheduler = BackgroundScheduler(timezone=services.settings.zone)
    SchedulerDaemon(
        services, leader_lock_for(services.engine, services.settings), scheduler
    ).install(run_at_start=False)
    nightly, drain = scheduler.get_job(NIGHTLY_JOB), scheduler.get_job(DRAIN_JOB)
    assert isinstance(nightly.trigger, CronTrigger)
    assert str(nightly.trigger.timezone) == "Asia/Tokyo"
    assert "hour='0', minute='5'" in str(nightly.trigger)
    assert nightly.coalesce
    assert drain.coalesce
    assert nightly.misfire_grace_time == services.settings.scheduler.misfire_grace_seconds
    assert drain.trigger.interval == timedelta(seconds=60)


def test_daemon_defers_a_nightly_run_in_the_maintenance_window(services):
    services.clock.set(timestamps.maintenance_opens + timedelta(hours=6))
    scheduler = BackgroundScheduler(timezone=services.settings.zone)
    daemon = SchedulerDaemon(
        services, leader_lock_for(services.engine, services.settings), scheduler
    )
    report = daemon.nightly_job()
    assert report is not None
    assert report.deferred_until == timestamps.maintenance_closes
    assert scheduler.get_job("nightly-deferred").trigger.run_date == timestamps.maintenance_closes
    assert daemon.drain_job() is None
    daemon.leader.release()


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="needs CERTSVC_TEST_DATABASE_URL")
def test_two_schedulers_on_postgresql_exactly_one_acts(services):
    instances = []
    finished = threading.Event()
    results = []

    def listener(event):
        results.append(event)
        if len(results) == 2:
            finished.set()

    for _ in range(2):
        twin = Services(services.settings, services.clock)
        scheduler = BackgroundScheduler(timezone=services.settings.zone)
        scheduler.add_listener(listener, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        daemon = SchedulerDaemon(twin, leader_lock_for(twin.engine, twin.settings), scheduler)
        daemon.install()  # nightly runs at start on both
        scheduler.remove_job(DRAIN_JOB)
        instances.append(daemon)
    for daemon in instances:
        daemon.scheduler.start()
    try:
        assert finished.wait(30), "both schedulers should fire their start-up run"
        assert all(event.exception is None for event in results)
        acted = [event.retval for event in results if event.retval is not None]
        assert len(acted) == 1
        with services.sessions() as session:
            assert session.scalar(select(func.count(JobRun.id))) == 1
        leader = next(
            d
            for d in instances
            if d.leader.acquire()
            and isinstance(d.leader, PostgresLeaderLock)
            and d.leader._connection
        )
        standby = next(d for d in instances if d is not leader)
        assert standby.nightly_job() is None
        leader.leader.release()
        assert standby.nightly_job() is not None  # takes over at its next tick
    finally:
        for daemon in instances:
            daemon.scheduler.shutdown(wait=True)
            daemon.leader.release()
            daemon.services.engine.dispose()
