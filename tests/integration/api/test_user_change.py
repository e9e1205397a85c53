"""A user change: the new person's name and address, and the old person's notice at the
old address (or nowhere), never at the new person's."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from certsvc.app import Services
from certsvc.directory import NewSubscriber
from certsvc.domain.certificates import ReissueReason
from certsvc.errors import InputError
from certsvc.lifecycle.operations import CsrKey
from certsvc.storage.models import OutboxMessage
from tests.conftest import COMPANY, OPERATOR, USER, make_settings
from tests.integration.api.cli_helpers import make_cli
from tests.integration.api.conftest import bearer, issue
from tests.integration.api.pickup_helpers import last_link, login
from tests.keys import make_csr

SUBSCRIBER = f"/api/v1/tenants/{COMPANY}/subscribers/{USER}"
NEW_EMAIL, NEW_NAME = "ken@acme.example.jp", "Ken Kato"


def mails(services: Services, kind: str) -> list[tuple[str, str]]:
    with services.sessions() as session:
        rows = session.execute(
            select(OutboxMessage.recipient, OutboxMessage.payload)
            .where(OutboxMessage.kind == kind)
            .order_by(OutboxMessage.id)
        ).all()
    return [(recipient, payload.get("display_name", "")) for recipient, payload in rows]


def test_user_change_over_http_names_the_new_person_and_tells_the_old_address(
    api, tokens, services
):
    serial = issue(api, tokens["helpdesk"])["serial"]
    body = {
        "reason": "user-change",
        "new_email": NEW_EMAIL,
        "new_name": NEW_NAME,
        "csr": make_csr().decode(),
    }
    answer = api.post(
        f"/api/v1/certificates/{serial}/reissue", json=body, headers=bearer(tokens["helpdesk"])
    )
    assert answer.status_code == 201, answer.text
    shown = api.get(SUBSCRIBER, headers=bearer(tokens["helpdesk"])).json()
    assert (shown["email"], shown["display_name"]) == (NEW_EMAIL, NEW_NAME)
    assert mails(services, "certificate.reissued") == [(NEW_EMAIL, NEW_NAME)]
    revoked = mails(services, "certificate.revoked")
    assert revoked == [("taro@acme.example.jp", "")]  # greeted by user ID, not the new name


def test_user_change_by_pickup_names_the_new_person_and_revokes_to_the_old_address(
    api, tokens, services
):
    serial = issue(api, tokens["helpdesk"])["serial"]
    body = {
        "reason": "user-change",
        "new_email": NEW_EMAIL,
        "new_name": NEW_NAME,
        "pickup": True,
        "revoke_old": "on-pickup",
    }
    ordered = api.post(
        f"/api/v1/certificates/{serial}/reissue", json=body, headers=bearer(tokens["helpdesk"])
    )
    assert ordered.status_code == 202, ordered.text
    assert mails(services, "pickup.ready") == [(NEW_EMAIL, NEW_NAME)]
    assert mails(services, "certificate.revoked") == []
    collected = login(api, last_link(services), csr=make_csr().decode())
    assert collected.status_code == 200, collected.text
    assert [to for to, _ in mails(services, "certificate.revoked")] == ["taro@acme.example.jp"]


def test_a_new_name_belongs_to_a_user_change_only(api, tokens, services):
    serial = issue(api, tokens["helpdesk"])["serial"]
    body = {"reason": "pc-change", "new_name": NEW_NAME, "csr": make_csr().decode()}
    answer = api.post(
        f"/api/v1/certificates/{serial}/reissue", json=body, headers=bearer(tokens["helpdesk"])
    )
    assert answer.status_code == 422
    assert "only for a user change" in answer.json()["detail"]
    assert api.get(SUBSCRIBER, headers=bearer(tokens["helpdesk"])).json()["display_name"] == (
        "Taro Yamada"
    )
    with pytest.raises(InputError, match="new_name"):
        services.lifecycle.reissue(
            serial,
            ReissueReason.USER_CHANGE,
            CsrKey(make_csr()),
            OPERATOR,
            new_email=NEW_EMAIL,
            new_name="bad\nname",
        )
    assert services.lifecycle.show(serial).state == "issued"


def test_user_change_in_the_cli_with_new_name(tmp_path, database_url):
    cli = make_cli(tmp_path, database_url)
    serial = cli.issue()
    code, _, err = cli.run(
        "cert", "reissue", serial, "--reason", "user-change", "--new-email", NEW_EMAIL,
        "--new-name", NEW_NAME, "--csr", cli.csr("ken"),
    )  # fmt: skip
    assert code == 0, err
    assert cli.mails("certificate.reissued") == [(NEW_EMAIL, NEW_NAME)]
    assert cli.mails("certificate.revoked") == [("taro@acme.jp", "")]


def test_notify_previous_holder_none_tells_nobody(tmp_path, database_url):
    cli = make_cli(tmp_path, database_url, '[reissue]\nnotify_previous_holder = "none"')
    serial = cli.issue()
    code, _, err = cli.run(
        "cert", "reissue", serial, "--reason", "user-change", "--new-email", NEW_EMAIL,
        "--csr", cli.csr("ken"),
    )  # fmt: skip
    assert code == 0, err
    assert cli.mails("certificate.revoked") == []  # neither the old nor the new person
    assert [to for to, _ in cli.mails("certificate.reissued")] == [NEW_EMAIL]


def test_a_plain_revocation_still_tells_the_holder(tmp_path, database_url, clock):
    settings = make_settings(
        tmp_path / "home", database_url, reissue={"notify_previous_holder": "none"}
    )
    services = Services(settings, clock)
    services.initialise()
    try:
        services.directory.add_tenant(COMPANY, "Acme KK", "admin@acme.example.jp", OPERATOR)
        services.directory.add_subscriber(
            NewSubscriber(COMPANY, USER, "taro@acme.example.jp", "Taro Yamada"), OPERATOR
        )
        old = services.lifecycle.issue(COMPANY, USER, CsrKey(make_csr()), OPERATOR)
        serial = old.certificate.serial or ""
        services.lifecycle.reissue(serial, ReissueReason.PC_CHANGE, CsrKey(make_csr()), OPERATOR)
        assert mails(services, "certificate.revoked") == [("taro@acme.example.jp", "Taro Yamada")]
    finally:
        services.close()
