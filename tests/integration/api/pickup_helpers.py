"""Driving a pickup as a subscriber would: the mailed link, the page, the login."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from certsvc.access.credentials import challenge_answer
from certsvc.app import Services
from certsvc.storage.models import OutboxMessage
from tests.conftest import USER
from tests.integration.api.conftest import NUMBER, PASSWORD


def mailed_links(services: Services) -> list[str]:
    """The pickup tokens mailed so far, oldest first (what the subscriber clicks)."""
    with services.sessions() as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "pickup.ready")
            .order_by(OutboxMessage.id)
        ).all()
        return [row.payload["link"].rsplit("/", 1)[1] for row in rows]


def reset_mails(services: Services) -> list[str]:
    """The text of every credentials.reset mail, rendered as the subscriber reads it."""
    with services.sessions() as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "credentials.reset")
            .order_by(OutboxMessage.id)
        ).all()
        payloads = [(dict(row.payload), row.created_at) for row in rows]
    render = services.mail_renderer.render
    return [render("credentials.reset", payload, at).text for payload, at in payloads]


def temporaries(text: str) -> dict[str, str]:
    """The temporary password and/or registration number a reset mail (en or ja) names."""
    found = {}
    for label, key in (
        (r"Temporary password:\s+|仮パスワード: ", "password"),
        (r"Temporary registration number:\s+|仮登録番号: ", "number"),
    ):
        match = re.search(rf"(?:{label})(\S+)", text)
        if match:
            found[key] = match.group(1)
    return found


def last_link(services: Services) -> str:
    return mailed_links(services)[-1]


def challenge(api: TestClient, token: str, number: str = NUMBER) -> str:
    page = api.get(f"/api/v1/pickup/{token}")
    assert page.status_code == 200, page.text
    return challenge_answer(number, page.json()["challenge_position"])


def wrong_digits(right: str) -> str:
    return "".join(str((int(digit) + 1) % 10) for digit in right)


def login(api: TestClient, token: str, **fields):
    """POST the pickup login; by default with the right user, password and digits."""
    body = {"user_id": USER, "password": PASSWORD, **fields}
    if "challenge" not in body:
        body["challenge"] = challenge(api, token)
    return api.post(f"/api/v1/pickup/{token}", json=body)
