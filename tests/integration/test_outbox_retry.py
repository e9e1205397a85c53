"""A failed mail can be re-queued (CLI ``outbox retry ID|--failed``, admin API), audited;
a mail that was sent cannot, so nothing goes twice. Delivery through a real SMTP server."""

from __future__ import annotations

from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from certsvc.api.app import create_app
from certsvc.cli.main import main
from certsvc.storage.models import AuditEvent, OutboxMessage
from tests.integration.test_nightly_life import add_subscriber, issue

REFUSED = "550 5.1.1 No such user"


def statuses(services) -> list[str]:
    with services.sessions() as session:
        return list(session.scalars(select(OutboxMessage.status).order_by(OutboxMessage.id)))


def retries_audited(services) -> int:
    with services.sessions() as session:
        count = session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "outbox.retry")
        )
    return int(count or 0)


def cli_for(services, tmp_path):
    config = tmp_path / "cli.toml"
    url = services.settings.database.url
    config.write_text(f'home = "{services.settings.home}"\n[database]\nurl = "{url}"\n')

    def run(*args: str):
        result = CliRunner().invoke(main, ["--config", str(config), *args], obj=services.clock)
        return result.exit_code, result.stdout, result.stderr

    return run


def test_the_cli_requeues_a_failed_mail_once_and_never_a_sent_one(
    mail_services, smtp_server, tmp_path
):
    _, recorder = smtp_server
    cli = cli_for(mail_services, tmp_path)
    add_subscriber(mail_services)
    issue(mail_services)
    recorder.refuse = REFUSED
    assert mail_services.outbox.drain().failed == 1
    recorder.refuse = None
    assert statuses(mail_services) == ["failed"]

    assert cli("outbox", "retry", "1", "--ticket", "INC-9")[:2] == (
        0, "re-queued 1 message(s): 1\n"
    )  # fmt: skip
    assert mail_services.outbox.drain().sent == 1
    assert len(recorder.messages) == 1
    assert recorder.envelopes[0][1] == ["taro@acme.example.jp"]

    code, _, err = cli("outbox", "retry", "1")
    assert code == 4
    assert "is sent, not failed" in err
    assert mail_services.outbox.drain().sent == 0
    assert len(recorder.messages) == 1  # nothing went twice
    assert retries_audited(mail_services) == 1

    assert cli("outbox", "retry")[0] == 2  # neither an ID nor --failed
    assert cli("outbox", "retry", "1", "--failed")[0] == 2
    assert cli("outbox", "retry", "99")[0] == 3
    assert cli("outbox", "retry", "2147483648")[0] == 2


def test_the_admin_api_requeues_every_failed_mail(mail_services, smtp_server):
    _, recorder = smtp_server
    admin = mail_services.tokens.create("admin", "admin-1")
    helpdesk = mail_services.tokens.create("helpdesk", "helpdesk-1")
    api = TestClient(create_app(mail_services))
    add_subscriber(mail_services)
    add_subscriber(mail_services, "hana")
    issue(mail_services)
    issue(mail_services, user_id="hana")
    recorder.refuse = REFUSED
    assert mail_services.outbox.drain().failed == 2
    recorder.refuse = None

    forbidden = api.post(
        "/api/v1/outbox/retry-failed", headers={"Authorization": f"Bearer {helpdesk}"}
    )
    assert forbidden.status_code == 403
    answer = api.post("/api/v1/outbox/retry-failed", headers={"Authorization": f"Bearer {admin}"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"requeued": [1, 2], "count": 2}
    assert mail_services.outbox.drain().sent == 2
    assert sorted(rcpt[0] for _, rcpt in recorder.envelopes) == [
        "hana@acme.example.jp",
        "taro@acme.example.jp",
    ]

    again = api.post(
        "/api/v1/outbox/1/retry",
        json={"ticket": "INC-10"},
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert again.status_code == 409
    assert "not failed" in again.json()["detail"]
    empty = api.post("/api/v1/outbox/retry-failed", headers={"Authorization": f"Bearer {admin}"})
    assert empty.json() == {"requeued": [], "count": 0}
    missing = api.post("/api/v1/outbox/42/retry", headers={"Authorization": f"Bearer {admin}"})
    assert missing.status_code == 404
    too_big = api.post(
        "/api/v1/outbox/2147483648/retry", headers={"Authorization": f"Bearer {admin}"}
    )
    assert too_big.status_code == 422  # an id no row can have: refused at the door
    assert mail_services.outbox.drain().sent == 0
    assert len(recorder.messages) == 2
    assert retries_audited(mail_services) == 1
