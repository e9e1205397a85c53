"""Driving a pickup as a subscriber would: the mailed link, the page, the login."""

from __future__ import annotations

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
