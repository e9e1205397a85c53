"""One structured event per operation, and secrets never in a log."""

import base64
import io
import json

from certsvc.domain.policy import RevocationReason
from certsvc.lifecycle.operations import ServerKey
from certsvc.logging import configure_logging, get_logger
from tests.conftest import OPERATOR

PASSWORD = "s3cret-Pkcs12-pass"


def test_lifecycle_events_are_structured_and_carry_no_secret(services, subscriber):
    stream = io.StringIO()
    configure_logging("json", "info", stream)
    try:
        issued = services.lifecycle.issue(*subscriber, ServerKey(PASSWORD.encode()), OPERATOR)
        services.lifecycle.revoke(
            issued.certificate.serial, RevocationReason.keyCompromise, OPERATOR
        )
    finally:
        configure_logging("json", "info")
    text = stream.getvalue()
    events = [json.loads(line) for line in text.splitlines()]
    issue_event = next(event for event in events if event["event"] == "certificate.issue")
    assert issue_event["serial"] == issued.certificate.serial
    assert (issue_event["tenant"], issue_event["actor"], issue_event["ticket"]) == (
        "1001",
        "test:operator",
        "TICKET-1",
    )
    assert issue_event["outcome"] == "ok"
    assert any(event["event"] == "certificate.revoke" for event in events)
    assert PASSWORD not in text
    assert base64.b64encode(issued.pkcs12[:48]).decode()[:40] not in text
    assert issued.pkcs12[:48].hex() not in text
    passphrase = (services.settings.home_dir / "ca" / "passphrase").read_text().strip()
    assert passphrase not in text


def test_fields_named_like_secrets_are_redacted():
    stream = io.StringIO()
    configure_logging("json", "info", stream)
    try:
        get_logger("test").info(
            "login", password="hunter22", api_secret="abc", token="t0k", user="taro"
        )
    finally:
        configure_logging("json", "info")
    event = json.loads(stream.getvalue())
    assert event["user"] == "taro"
    assert {event["password"], event["api_secret"], event["token"]} == {"[redacted]"}
    assert "hunter22" not in stream.getvalue()
