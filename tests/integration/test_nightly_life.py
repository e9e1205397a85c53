"""The nightly run over a certificate's whole life, with mail to a real SMTP server."""

import time as host_time
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from certsvc.app import Services
from certsvc.directory import NewSubscriber
from certsvc.domain.policy import RevocationReason
from certsvc.lifecycle.operations import CsrKey
from certsvc.storage.models import JobRun, OutboxMessage
from scheduler.daemon import nightly_parts
from scheduler.jobs import run_nightly
from tests import timestamps
from tests.conftest import OPERATOR, make_settings
from tests.keys import make_csr

NIGHTLY_AT = time(0, 5)


def add_subscriber(services, user_id="taro", locale="ja", company="1001"):
    if user_id == "taro" or company != "1001":
        services.directory.add_tenant(company, "Acme KK", "admin@acme.example.jp", OPERATOR)
    services.directory.add_subscriber(
        NewSubscriber(company, user_id, f"{user_id}@acme.example.jp", "山田 太郎", locale=locale),
        OPERATOR,
    )
    return company, user_id


def issue(services, company="1001", user_id="taro"):
    return services.lifecycle.issue(company, user_id, CsrKey(make_csr()), OPERATOR).certificate


def night(services, day, at=NIGHTLY_AT):
    """Run the nightly job at ``at`` on business date ``day``; follow a deferral like the daemon."""
    services.clock.set(datetime.combine(day, at, tzinfo=timestamps.JST))
    report = run_nightly(nightly_parts(services))
    if report.deferred_until is not None:
        services.clock.set(report.deferred_until)
        report = run_nightly(nightly_parts(services))
    return report


def subjects(recorder):
    return [str(message["Subject"]) for message in recorder.messages]


def test_whole_life_reminders_then_expiry_the_day_after(mail_services, smtp_server):
    _, recorder = smtp_server
    add_subscriber(mail_services)
    certificate = issue(mail_services)
    run_nightly(nightly_parts(mail_services))  # the issue day's run sends the "issued" mail
    assert subjects(recorder) == [
        "クライアント証明書を発行しました（有効期限 2028年11月26日（日））"
    ]

    day = timestamps.expiry_date - timedelta(days=70)
    while day <= timestamps.expiry_date:
        night(mail_services, day)
        day += timedelta(days=1)
    reminders = [s for s in subjects(recorder) if s.startswith("【重要】")]
    assert reminders == [
        f"【重要】クライアント証明書の有効期限まであと{n}日です（2028年11月26日（日））"
        for n in (60, 30, 14, 7, 1)
    ]
    mail_services.clock.set(timestamps.expiry_evening)
    run_nightly(nightly_parts(mail_services))  # a second run on the expiry date: nothing
    assert mail_services.lifecycle.show(certificate.serial).state == "issued"

    mail_services.clock.set(timestamps.day_after)
    report = run_nightly(nightly_parts(mail_services))
    assert report.expired == [certificate.serial]
    assert mail_services.lifecycle.show(certificate.serial).state == "expired"
    assert len(recorder.messages) == 6  # issued + five reminders, nothing twice


def test_expiry_not_one_second_early_even_when_run_at_the_last_second(mail_services):
    add_subscriber(mail_services)
    certificate = issue(mail_services)
    mail_services.clock.set(timestamps.expiry_evening)
    assert run_nightly(nightly_parts(mail_services)).expired == []
    assert mail_services.lifecycle.show(certificate.serial).state == "issued"
    mail_services.clock.set(timestamps.day_after)
    assert run_nightly(nightly_parts(mail_services)).expired == [certificate.serial]


@pytest.mark.parametrize("host_zone", ["Asia/Tokyo", "UTC"])
def test_business_dates_follow_tokyo_whatever_the_host_zone(mail_services, host_zone, monkeypatch):
    monkeypatch.setenv("TZ", host_zone)
    host_time.tzset()
    try:
        add_subscriber(mail_services)
        certificate = issue(mail_services)
        last_second_utc = datetime(2028, 11, 26, 14, 59, 59, tzinfo=UTC)  # 23:59:59 JST
        mail_services.clock.set(last_second_utc)
        report = run_nightly(nightly_parts(mail_services))
        assert report.business_dates[-1].isoformat() == "2028-11-26"
        assert report.expired == []
        mail_services.clock.set(last_second_utc + timedelta(seconds=1))
        report = run_nightly(nightly_parts(mail_services))
        assert report.business_dates == [timestamps.day_after.date()]
        assert report.expired == [certificate.serial]
    finally:
        monkeypatch.undo()
        host_time.tzset()


def test_utc_business_zone_expires_at_utc_midnight(tmp_path, database_url, clock):
    settings = make_settings(tmp_path / "home", database_url, business={"timezone": "UTC"})
    services = Services(settings, clock)
    services.initialise()
    add_subscriber(services)
    clock.set(datetime(2026, 11, 26, 20, 0, tzinfo=UTC))  # 05:00 the 27th in Tokyo
    certificate = issue(services)
    assert certificate.expiry_date == "2028-11-26"
    clock.set(datetime(2028, 11, 26, 23, 59, 59, tzinfo=UTC))
    assert run_nightly(nightly_parts(services), drain=False).expired == []
    clock.set(datetime(2028, 11, 27, 0, 0, tzinfo=UTC))
    assert run_nightly(nightly_parts(services), drain=False).expired == [certificate.serial]
    services.engine.dispose()


def test_leap_day_expiry_and_reminder(mail_services, smtp_server):
    _, recorder = smtp_server
    add_subscriber(mail_services)
    add_subscriber(mail_services, "hanako", locale="en")
    mail_services.clock.set(datetime(2026, 2, 28, 10, 0, tzinfo=timestamps.JST))
    feb = issue(mail_services)  # expires 2028-02-28; invalid from the leap day
    mail_services.clock.set(datetime(2026, 3, 1, 10, 0, tzinfo=timestamps.JST))
    march = issue(mail_services, user_id="hanako")  # expires 2028-03-01
    assert (feb.expiry_date, march.expiry_date) == ("2028-02-28", "2028-03-01")
    night(mail_services, timestamps.leap_day.date() - timedelta(days=1))
    recorder.messages.clear()
    mail_services.clock.set(datetime(2028, 2, 28, 23, 59, 59, tzinfo=timestamps.JST))
    assert run_nightly(nightly_parts(mail_services)).expired == []
    report = night(mail_services, timestamps.leap_day.date(), time(0, 0))
    assert report.expired == [feb.serial]
    assert [(r.serial, r.days_before) for r in report.reminders] == [(march.serial, 1)]
    assert subjects(recorder) == [
        "Action needed: your client certificate expires in 1 day (Wednesday, 1 March 2028)"
    ]


def test_missed_nights_catch_up_in_order_with_only_the_latest_reminder(mail_services, smtp_server):
    _, recorder = smtp_server
    add_subscriber(mail_services)
    certificate = issue(mail_services)
    night(mail_services, timestamps.expiry_date - timedelta(days=8))
    recorder.messages.clear()
    # Nights -7 .. -2 are missed; the run on the eve of expiry catches up.
    report = night(mail_services, timestamps.expiry_date - timedelta(days=1))
    assert report.business_dates == [
        timestamps.expiry_date - timedelta(days=n) for n in range(7, 0, -1)
    ]
    assert [(r.serial, r.days_before) for r in report.reminders] == [(certificate.serial, 1)]
    assert subjects(recorder) == [
        "【重要】クライアント証明書の有効期限まであと1日です（2028年11月26日（日））"
    ]
    with mail_services.sessions() as session:
        dates = session.scalars(select(JobRun.business_date).order_by(JobRun.business_date))
        assert list(dates)[-7:] == report.business_dates


def test_missed_reminder_is_sent_late_when_it_is_still_the_latest(mail_services, smtp_server):
    _, recorder = smtp_server
    add_subscriber(mail_services)
    issue(mail_services)
    night(mail_services, timestamps.expiry_date - timedelta(days=32))
    report = night(mail_services, timestamps.expiry_date - timedelta(days=28))  # 30 was missed
    assert [r.days_before for r in report.reminders] == [30]
    assert "あと28日です" in subjects(recorder)[-1]  # days left counted at sending time


def test_two_runs_the_same_day_do_nothing_twice(mail_services, smtp_server):
    _, recorder = smtp_server
    add_subscriber(mail_services)
    issue(mail_services)
    first = night(mail_services, timestamps.expiry_date - timedelta(days=7))
    second = night(mail_services, timestamps.expiry_date - timedelta(days=7), time(13, 0))
    assert first.reminders_queued == 1
    assert second.business_dates == []
    assert second.reminders == []
    assert len(recorder.messages) == 2  # issued + the 7-day reminder
    with mail_services.sessions() as session:
        assert session.scalar(select(func.count(OutboxMessage.id))) == 2


def test_no_reminder_for_a_renewed_or_revoked_certificate(mail_services):
    add_subscriber(mail_services)
    add_subscriber(mail_services, "jiro")
    renewed = issue(mail_services)
    revoked = issue(mail_services, user_id="jiro")
    mail_services.clock.set(timestamps.reminder_30 - timedelta(days=1))
    successor = mail_services.lifecycle.renew(renewed.serial, CsrKey(make_csr()), OPERATOR)
    mail_services.lifecycle.revoke(revoked.serial, RevocationReason.keyCompromise, OPERATOR)
    report = night(mail_services, timestamps.expiry_date - timedelta(days=30))
    assert report.reminders == []
    assert successor.certificate.state == "issued"


def test_dry_run_changes_nothing(mail_services, smtp_server):
    _, recorder = smtp_server
    add_subscriber(mail_services)
    certificate = issue(mail_services)
    mail_services.clock.set(timestamps.day_after)
    report = run_nightly(nightly_parts(mail_services), dry_run=True)
    assert report.expired == [certificate.serial]
    assert mail_services.lifecycle.show(certificate.serial).state == "issued"
    with mail_services.sessions() as session:
        assert session.scalar(select(func.count(JobRun.id))) == 0
        assert session.scalar(select(OutboxMessage.status)) == "queued"
    assert recorder.messages == []


def test_nightly_in_the_maintenance_window_is_deferred_to_its_end(mail_services):
    add_subscriber(mail_services)
    mail_services.clock.set(timestamps.maintenance_opens + timedelta(hours=5))
    report = run_nightly(nightly_parts(mail_services))
    assert report.deferred_until == timestamps.maintenance_closes
    assert report.business_dates == []
    mail_services.clock.set(timestamps.maintenance_closes)
    assert run_nightly(nightly_parts(mail_services)).business_dates == [
        timestamps.maintenance_closes.date()
    ]
