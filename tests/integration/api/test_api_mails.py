"""The API's mails render with the outbox templates, in Japanese and English."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from certsvc.storage.models import OutboxMessage
from tests.conftest import COMPANY, USER
from tests.integration.api.conftest import bearer, issue

KINDS = ("pickup.ready", "credentials.reset", "tenant.admin_changed")


@pytest.mark.parametrize("locale", ["ja", "en"])
def test_every_api_mail_renders_without_secrets(api, tokens, services, clock, locale):
    issue(api, tokens["helpdesk"], pickup=True)
    reset = api.post(
        f"/api/v1/tenants/{COMPANY}/subscribers/{USER}/credentials/reset",
        json={},
        headers=bearer(tokens["admin"]),
    )
    api.post(
        f"/api/v1/tenants/{COMPANY}/administrator",
        json={"name": "Ken Ito", "email": "ken@acme.example.jp"},
        headers=bearer(tokens["admin"]),
    )
    with services.sessions() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.kind.in_(KINDS))).all()
    assert sorted({row.kind for row in rows}) == sorted(KINDS)
    for row in rows:
        mail = services.mail_renderer.render(
            row.kind, {**row.payload, "locale": locale}, clock.now()
        )
        assert mail.locale == locale
        assert mail.subject
        assert "temporary_password" not in reset.json()
        if row.kind == "credentials.reset":  # the mail, not the answer, carries them
            assert row.payload["temporary_password"] in mail.text
            assert row.payload["temporary_registration_number"] in mail.html
        if row.kind == "pickup.ready":
            assert row.payload["link"] in mail.text
            assert row.payload["link"] in mail.html
        if row.kind == "tenant.admin_changed":
            assert "ken@acme.example.jp" in mail.text
