"""Webhook push: Standard Webhooks signatures (checked by the independent
``standardwebhooks`` package), at-least-once delivery through the outbox, secrets kept out
of logs."""

from __future__ import annotations

import base64
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from certsvc.app import Services
from certsvc.errors import ConfigError
from certsvc.feed.webhooks import load_secrets
from certsvc.lifecycle.operations import CsrKey
from certsvc.storage.models import OutboxMessage
from tests.conftest import OPERATOR, make_settings
from tests.keys import make_csr

SECRET = "whsec_" + base64.b64encode(b"gateway-hook-key-0123456789abcdef").decode()
NEXT_SECRET = "whsec_" + base64.b64encode(b"rotated-key-fedcba9876543210").decode()


class Receiver:
    """A real HTTP endpoint on loopback that records what it was sent."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, str], bytes]] = []
        self.status = 204
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.calls.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    built = Receiver()
    yield built
    built.close()


@pytest.fixture
def hooked(tmp_path, database_url, clock, receiver, monkeypatch, subscriber):
    """A second set of services configured to push to ``receiver``."""
    monkeypatch.setenv("CERTSVC_WEBHOOK_SECRETS", f"{SECRET} {NEXT_SECRET}")
    settings = make_settings(tmp_path / "home", database_url, webhooks={"urls": [receiver.url]})
    built = Services(settings, clock)
    yield built
    built.engine.dispose()


def issue(services):
    return services.lifecycle.issue("1001", "taro", CsrKey(make_csr()), OPERATOR)


def test_feed_change_is_pushed_signed_with_every_secret(hooked, receiver, capsys):
    hooked.gateway.poll_once()  # first poll announces the current version
    issue(hooked)
    hooked.gateway.poll_once()
    hooked.gateway.deliver_webhooks()
    assert len(receiver.calls) == 2
    headers, body = receiver.calls[-1]
    for secret in (SECRET, NEXT_SECRET):
        payload = Webhook(secret).verify(body, headers)
        assert payload["type"] == "gateway.feed.changed"
        assert payload["data"] == {"version": 1}
    assert headers["webhook-id"].startswith("msg_")
    with pytest.raises(Exception, match="No matching signature"):
        Webhook("whsec_" + base64.b64encode(b"some other key").decode()).verify(body, headers)
    output = capsys.readouterr()
    for secret in (SECRET, NEXT_SECRET):
        assert secret.removeprefix("whsec_") not in output.out + output.err


def test_failed_delivery_is_retried_until_accepted(hooked, receiver, clock):
    receiver.status = 503
    hooked.gateway.poll_once()
    hooked.gateway.deliver_webhooks()
    with hooked.sessions() as session:
        message = session.scalars(
            select(OutboxMessage).where(OutboxMessage.channel == "webhook")
        ).one()
    assert (message.status, message.attempts) == ("queued", 1)
    assert "HTTP 503" in (message.last_error or "")
    hooked.gateway.deliver_webhooks()
    assert len(receiver.calls) == 1  # not due yet: backoff
    receiver.status = 200
    clock.advance(timedelta(seconds=3))
    hooked.gateway.deliver_webhooks()
    assert len(receiver.calls) == 2
    first, second = receiver.calls
    assert first[0]["webhook-id"] == second[0]["webhook-id"]  # receivers de-duplicate by id
    with hooked.sessions() as session:
        assert session.get_one(OutboxMessage, message.id).status == "sent"
    assert (
        'certsvc_webhook_deliveries_total{outcome="sent"} 1.0'
        in hooked.gateway.metrics.render().decode()
    )


def test_the_same_version_is_queued_once_across_instances(hooked, clock, database_url, tmp_path):
    hooked.gateway.poll_once()
    twin = Services(hooked.settings, clock)
    twin.gateway.poll_once()
    with hooked.sessions() as session:
        payloads = session.scalars(
            select(OutboxMessage.payload).where(OutboxMessage.channel == "webhook")
        ).all()
    assert [json.loads(json.dumps(p)) for p in payloads] == [{"version": 0}]
    twin.engine.dispose()


@pytest.mark.parametrize("value", ["plain-secret", "whsec_***not base64***"])
def test_malformed_secret_is_a_config_error_that_does_not_echo_it(tmp_path, monkeypatch, value):
    monkeypatch.setenv("CERTSVC_WEBHOOK_SECRETS", value)
    settings = make_settings(tmp_path, "sqlite://", webhooks={"urls": ["http://127.0.0.1:9/"]})
    with pytest.raises(ConfigError) as caught:
        load_secrets(settings)
    assert value not in str(caught.value)
    assert "whsec_<base64>" in str(caught.value)


def test_urls_without_a_secret_are_refused(tmp_path, monkeypatch):
    monkeypatch.delenv("CERTSVC_WEBHOOK_SECRETS", raising=False)
    settings = make_settings(tmp_path, "sqlite://", webhooks={"urls": ["http://127.0.0.1:9/"]})
    with pytest.raises(ConfigError, match="no secret"):
        load_secrets(settings)


def test_a_receiver_that_refuses_for_good_is_not_retried(hooked, receiver, clock):
    receiver.status = 410
    hooked.gateway.poll_once()
    hooked.gateway.deliver_webhooks()
    clock.advance(timedelta(hours=1))
    hooked.gateway.deliver_webhooks()
    assert len(receiver.calls) == 1
    with hooked.sessions() as session:
        message = session.scalars(
            select(OutboxMessage).where(OutboxMessage.channel == "webhook")
        ).one()
    assert message.status == "failed"
    assert "HTTP 410" in (message.last_error or "")
