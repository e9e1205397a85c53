"""The outbox's mail sender against a real SMTP server: headers, parts, retries, refusals."""

import hashlib
import io
import json
import re
import socket
from datetime import timedelta

from sqlalchemy import select

from certsvc.lifecycle.operations import CsrKey, Handover
from certsvc.logging import configure_logging
from certsvc.notify.drain import Delivery, OutboxDrainer, OutboxItem, SenderRegistry
from certsvc.notify.outbox import enqueue
from certsvc.storage.db import transaction
from certsvc.storage.models import OutboxMessage
from tests import timestamps
from tests.conftest import OPERATOR, make_mail_services
from tests.integration.test_nightly_life import add_subscriber, issue, night
from tests.keys import make_csr

MINUTE = timedelta(minutes=1)


def outbox_rows(services):
    with services.sessions() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_reminder_has_both_parts_headers_and_the_subscribers_language(mail_services, smtp_server):
    _, recorder = smtp_server
    add_subscriber(mail_services)
    add_subscriber(mail_services, "mary", locale="en")
    issue(mail_services)
    issue(mail_services, user_id="mary")
    recorder.messages.clear()
    mail_services.outbox.drain()
    japanese, english = recorder.messages
    for message in (japanese, english):
        assert message.get_content_type() == "multipart/alternative"
        assert str(message["From"]) == "Certificate Desk <certs@example.jp>"
        assert str(message["Reply-To"]) == "helpdesk@example.jp"
        assert str(message["Auto-Submitted"]) == "auto-generated"
        assert message["Date"].datetime == timestamps.issued
        assert str(message["Message-ID"]).endswith("@example.jp>")
        text, html = message.iter_parts()
        assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
        assert text.get_content_charset() == html.get_content_charset() == "utf-8"
    assert str(japanese["To"]) == "taro@acme.example.jp"
    assert str(japanese["Content-Language"]) == "ja"
    assert "企業番号:     1001" in japanese.get_body(("plain",)).get_content()
    assert '<html lang="ja">' in japanese.get_body(("html",)).get_content()
    assert str(english["Content-Language"]) == "en"
    body = english.get_body(("plain",)).get_content()
    assert "valid until Sunday, 26 November 2028" in body
    assert "User ID:        mary" in body


def test_reminder_names_company_user_expiry_days_left_and_renewal_link(mail_services, smtp_server):
    _, recorder = smtp_server
    add_subscriber(mail_services)
    issue(mail_services)
    night(mail_services, timestamps.expiry_date - timedelta(days=14))
    reminder = recorder.messages[-1]
    text = reminder.get_body(("plain",)).get_content()
    html = reminder.get_body(("html",)).get_content()
    for needle in (
        "Acme KK",
        "taro",
        "2028年11月26日",
        "残り14日",
    ):
        assert needle in text
    link = re.search(r"https://certsvc\.example\.jp/pickup/[\w-]{43}", text)
    assert link is not None  # personal, at the public address (not [reminders] renewal_url)
    assert f'href="{link.group(0)}"' in html
    assert "古い証明書はパソコンから削除" in text


def test_server_down_three_days_then_back_nothing_lost_nothing_twice(mail_services, smtp_server):
    _, recorder = smtp_server
    add_subscriber(mail_services)
    issue(mail_services)
    recorder.refuse = "451 4.3.0 Mail server temporarily unavailable"
    first_try = mail_services.clock.now()
    delays = []
    while mail_services.clock.now() < first_try + timedelta(days=3):
        report = mail_services.outbox.drain()
        assert (report.sent, report.retried, report.failed) == (0, 1, 0)
        (row,) = outbox_rows(mail_services)
        delays.append(row.next_attempt_at - mail_services.clock.now())
        mail_services.clock.set(row.next_attempt_at)
        assert mail_services.outbox.drain().retried == 1  # due again exactly then
        (row,) = outbox_rows(mail_services)
        mail_services.clock.set(row.next_attempt_at)
    assert delays[0] == 1 * MINUTE
    assert max(delays) == 60 * MINUTE
    assert row.status == "queued"
    assert "451" in row.last_error
    recorder.refuse = None
    report = mail_services.outbox.drain()
    assert (report.sent, report.retried) == (1, 0)
    assert len(recorder.messages) == 1
    mail_services.clock.advance(timedelta(days=1))
    assert mail_services.outbox.drain().sent == 0
    assert len(recorder.messages) == 1
    (row,) = outbox_rows(mail_services)
    assert (row.status, row.sent_at) == ("sent", mail_services.clock.now() - timedelta(days=1))


def test_permanent_refusal_is_failed_reported_and_not_retried(mail_services, smtp_server, capsys):
    _, recorder = smtp_server
    add_subscriber(mail_services)
    issue(mail_services)
    recorder.refuse = "550 5.1.1 No such user"
    report = mail_services.outbox.drain()
    assert (report.sent, report.failed) == (0, 1)
    assert report.failures[0][1] == "taro@acme.example.jp"
    assert "550" in report.failures[0][2]
    mail_services.clock.advance(timedelta(days=2))
    recorder.refuse = None
    assert mail_services.outbox.drain().sent == 0
    (row,) = outbox_rows(mail_services)
    assert (row.status, row.attempts) == ("failed", 1)
    assert recorder.attempts == 1


def test_mail_server_unreachable_is_retried(tmp_path, database_url, clock):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    services = make_mail_services(tmp_path / "h", database_url, clock, smtp_port=port)
    add_subscriber(services)
    issue(services)
    assert services.outbox.drain().retried == 1
    (row,) = outbox_rows(services)
    assert row.next_attempt_at == clock.now() + MINUTE
    assert "Connect" in row.last_error
    services.engine.dispose()


def test_unknown_kind_fails_with_a_clear_error(mail_services):
    with transaction(mail_services.sessions) as session:
        enqueue(
            session,
            channel="mail",
            kind="no.such.kind",
            dedupe_key="x",
            recipient="a@example.jp",
            payload={"locale": "ja"},
            at=mail_services.clock.now(),
        )
    report = mail_services.outbox.drain()
    assert report.failed == 1
    assert "no mail template for kind 'no.such.kind'" in report.failures[0][2]


class Webhook:
    """A second channel, plugged in the way certsvc.app does it."""

    def __init__(self):
        self.seen = []

    def deliver(self, items, done):
        self.seen.extend(items)
        return [Delivery(item.id, "sent") for item in items]


def test_a_channel_sender_plugs_in_without_touching_the_drain(mail_services):
    webhook = Webhook()
    registry = SenderRegistry()
    registry.register("webhook", webhook)
    drainer = OutboxDrainer(
        mail_services.sessions, mail_services.clock, registry, mail_services.settings.outbox
    )
    with transaction(mail_services.sessions) as session:
        for channel in ("webhook", "mail"):
            enqueue(
                session,
                channel=channel,
                kind="feed.changed",
                dedupe_key=f"{channel}-1",
                recipient="https://gw.example.jp/hook",
                payload={"version": 7},
                at=mail_services.clock.now(),
            )
    assert drainer.drain().sent == 1
    assert [(i.channel, i.payload) for i in webhook.seen] == [("webhook", {"version": 7})]
    assert isinstance(webhook.seen[0], OutboxItem)
    statuses = {row.channel: row.status for row in outbox_rows(mail_services)}
    assert statuses == {"webhook": "sent", "mail": "queued"}  # no mail sender registered here


def test_password_never_reaches_the_log(tmp_path, database_url, clock, smtp_server, caplog):
    stream = io.StringIO()
    configure_logging("json", "debug", stream)
    services = make_mail_services(
        tmp_path / "h",
        database_url,
        clock,
        smtp_port=smtp_server[0].port,
        username="certsvc",
        password="s3cret-Passw0rd",
    )
    add_subscriber(services)
    issue(services)
    report = services.outbox.drain()  # the server offers no AUTH: a temporary failure
    assert report.retried == 1
    (row,) = outbox_rows(services)
    assert "s3cret" not in (row.last_error or "")
    assert "s3cret" not in stream.getvalue()
    assert "s3cret" not in caplog.text
    services.engine.dispose()


class Killed(BaseException):
    """The drainer dying in mid-batch (kill -9): nothing after this point runs."""


class DyingSender:
    """The real mail sender, killed right after the server accepted its ``after``-th mail."""

    def __init__(self, inner, after):
        self.inner, self.after, self.accepted = inner, after, 0

    def deliver(self, items, done):
        def dying(delivery):
            done(delivery)
            self.accepted += delivery.outcome == "sent"
            if self.accepted == self.after:
                raise Killed

        return self.inner.deliver(items, dying)


def test_a_drain_killed_in_mid_batch_sends_no_mail_twice(mail_services, smtp_server):
    _, recorder = smtp_server
    for user in ("taro", "a2", "a3", "a4", "a5"):
        add_subscriber(mail_services, user)
        issue(mail_services, user_id=user)
    recorder.messages.clear()
    registry = SenderRegistry()
    registry.register("mail", DyingSender(mail_services.outbox.senders.get("mail"), after=3))
    dying = OutboxDrainer(
        mail_services.sessions, mail_services.clock, registry, mail_services.settings.outbox
    )
    try:
        dying.drain()
    except Killed:
        pass
    mail_services.clock.advance(timedelta(seconds=mail_services.settings.outbox.lease_seconds))

    mail_services.outbox.drain()  # the next drain, once the dead one's lease ran out

    ids = [str(message["Message-ID"]) for message in recorder.messages]
    assert len(ids) == len(set(ids)) == 5
    assert {row.status for row in outbox_rows(mail_services)} == {"sent"}


def test_a_sent_pickup_mail_keeps_only_a_digest_of_its_link(mail_services, smtp_server):
    _, recorder = smtp_server
    add_subscriber(mail_services, "taro")
    mail_services.lifecycle.issue(
        "1001", "taro", CsrKey(make_csr()), OPERATOR, Handover(awaiting_pickup=True, mail_link=True)
    )
    (queued,) = [row for row in outbox_rows(mail_services) if row.kind == "pickup.ready"]
    link = queued.payload["link"]

    mail_services.outbox.drain()

    bodies = [message.get_body(("plain",)).get_content() for message in recorder.messages]
    assert any(link in body for body in bodies)  # it was mailed
    (sent,) = [row for row in outbox_rows(mail_services) if row.kind == "pickup.ready"]
    assert sent.status == "sent"
    assert "link" not in sent.payload
    assert sent.payload["link_sha256"] == hashlib.sha256(link.encode()).hexdigest()
    assert link.rsplit("/", 1)[1] not in json.dumps(sent.payload)
