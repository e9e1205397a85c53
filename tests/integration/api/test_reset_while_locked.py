"""The self-service reset while the account is locked, with the temporary credentials
read from the mail a real SMTP server (aiosmtpd) received through the outbox drain."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from certsvc.config import Settings
from tests.conftest import COMPANY, USER, make_settings
from tests.integration.api.conftest import CHEAP_ARGON2, issue
from tests.integration.api.pickup_helpers import challenge, last_link, login, temporaries
from tests.smtp import LoopbackController, Recorder

EMAIL = "taro@acme.example.jp"


@pytest.fixture
def settings(
    tmp_path: Path, database_url: str, smtp_server: tuple[LoopbackController, Recorder]
) -> Settings:
    """The API's settings, mailing through the real SMTP server on loopback."""
    mail = {"smtp_host": "127.0.0.1", "smtp_port": smtp_server[0].port, "timeout_seconds": 5}
    return make_settings(tmp_path / "home", database_url, credentials=CHEAP_ARGON2, mail=mail)


def plain_text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def test_self_service_reset_works_while_locked_by_mail_from_a_real_smtp_server(
    api, tokens, services, smtp_server
):
    _, recorder = smtp_server
    issue(api, tokens["helpdesk"], pickup=True)
    link = last_link(services)
    for _ in range(3):
        assert login(api, link, password="Wrong-pass-1").status_code == 401
    assert login(api, link).status_code == 401  # locked: even the right password fails
    body = {"company_number": COMPANY, "user_id": USER, "email": EMAIL, "reset": "both"}
    answer = api.post("/api/v1/pickup/reset", json=body)
    assert answer.status_code == 202, answer.text
    assert services.outbox.drain().failed == 0
    resets = [
        (envelope, message)
        for envelope, message in zip(recorder.envelopes, recorder.messages, strict=True)
        if "仮パスワード" in plain_text(message)
    ]
    assert len(resets) == 1
    (_, recipients), message = resets[0]
    assert recipients == [EMAIL]
    sent = temporaries(plain_text(message))
    assert sent.keys() == {"password", "number"}
    assert sent["password"] not in answer.text
    digits = challenge(api, link, sent["number"])
    collected = login(
        api, link, password=sent["password"], challenge=digits, new_password="Momiji-2027"
    )
    assert collected.status_code == 200, collected.text
