"""The credential rules at the pickup door: lock, same answers, resets, reuse, expiry."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.conftest import COMPANY, USER
from tests.integration.api.conftest import NUMBER, PASSWORD, bearer, issue
from tests.integration.api.pickup_helpers import challenge, last_link, login, wrong_digits
from tests.timestamps import JST

CREDENTIALS = f"/api/v1/tenants/{COMPANY}/subscribers/{USER}/credentials"
WEDNESDAY = datetime(2026, 12, 2, 10, 0, tzinfo=JST)


@pytest.fixture
def link(api, tokens, services) -> str:
    """A certificate waiting for taro, and the link mailed to him."""
    issue(api, tokens["helpdesk"], pickup=True)
    return last_link(services)


def fail(api, link, **fields):
    answer = login(api, link, **fields)
    assert answer.status_code == 401, answer.text
    return answer.json()


def test_three_failures_lock_until_the_next_day(api, link, clock):
    for _ in range(3):
        fail(api, link, password="Wrong-pass-1")
    assert login(api, link).status_code == 401  # the right credentials, but locked
    clock.set(datetime(2026, 11, 26, 23, 59, tzinfo=JST))
    assert login(api, link).status_code == 401
    clock.set(datetime(2026, 11, 27, 0, 0, tzinfo=JST))
    assert login(api, link).status_code == 200


def test_two_failures_then_success_starts_counting_again(api, tokens, services, link):
    fail(api, link, password="Wrong-pass-1")
    fail(api, link, password="Wrong-pass-2")
    assert login(api, link).status_code == 200
    issue(api, tokens["helpdesk"], pickup=True)
    second = last_link(services)
    fail(api, second, password="Wrong-pass-3")
    fail(api, second, password="Wrong-pass-4")
    assert login(api, second).status_code == 200


def test_every_failure_gets_the_same_answer(api, link):
    right = challenge(api, link)
    wrong_user = fail(api, link, user_id="nobody", challenge=right)
    right = challenge(api, link)
    wrong_password = fail(api, link, password="Wrong-pass-1", challenge=right)
    wrong_challenge = fail(api, link, challenge=wrong_digits(challenge(api, link)))
    locked = fail(api, link)
    assert wrong_user == wrong_password == wrong_challenge == locked


def test_the_challenge_moves_only_after_an_attempt(api, link):
    first = api.get(f"/api/v1/pickup/{link}").json()["challenge_position"]
    again = api.get(f"/api/v1/pickup/{link}").json()["challenge_position"]
    assert first == again  # asking twice does not let a caller pick the position


def test_helpdesk_reset_lifts_the_lock_and_gives_24_hours(api, tokens, link, clock):
    for _ in range(3):
        fail(api, link, password="Wrong-pass-1")
    reset = api.post(
        f"{CREDENTIALS}/reset", json={"ticket": "T-5"}, headers=bearer(tokens["helpdesk"])
    )
    assert reset.status_code == 201, reset.text
    assert reset.headers["cache-control"] == "no-store"
    temporary = reset.json()["temporary_password"]
    expires = datetime.fromisoformat(reset.json()["expires_at"])
    assert expires - clock.now() == timedelta(hours=24)
    needs_new = login(api, link, password=temporary)
    assert needs_new.status_code == 422
    assert needs_new.json()["field"] == "new_password"
    assert login(api, link, password=temporary, new_password="Momiji-2027").status_code == 200


def test_a_temporary_password_is_refused_after_its_validity(api, tokens, link, clock):
    reset = api.post(f"{CREDENTIALS}/reset", json={}, headers=bearer(tokens["helpdesk"]))
    temporary = reset.json()["temporary_password"]
    clock.advance(timedelta(hours=24))
    fail(api, link, password=temporary, new_password="Momiji-2027")


def test_helpdesk_resets_only_on_its_working_days(api, tokens, clock):
    clock.set(WEDNESDAY)
    refused = api.post(f"{CREDENTIALS}/reset", json={}, headers=bearer(tokens["helpdesk"]))
    assert refused.status_code == 409
    assert "tuesday, thursday" in refused.json()["detail"]
    by_admin = api.post(f"{CREDENTIALS}/reset", json={}, headers=bearer(tokens["admin"]))
    assert by_admin.status_code == 201


def test_self_service_reset_gives_one_hour(api, link, clock):
    body = {"company_number": COMPANY, "user_id": USER, "registration_number": NUMBER}
    reset = api.post("/api/v1/pickup/reset", json=body)
    assert reset.status_code == 201, reset.text
    temporary = reset.json()["temporary_password"]
    assert datetime.fromisoformat(reset.json()["expires_at"]) - clock.now() == timedelta(hours=1)
    clock.advance(timedelta(minutes=59))
    assert login(api, link, password=temporary, new_password="Momiji-2027").status_code == 200


def test_self_service_temporary_password_expires_after_an_hour(api, link, clock):
    body = {"company_number": COMPANY, "user_id": USER, "registration_number": NUMBER}
    temporary = api.post("/api/v1/pickup/reset", json=body).json()["temporary_password"]
    clock.advance(timedelta(hours=1))
    fail(api, link, password=temporary, new_password="Momiji-2027")


def test_self_service_reset_answers_the_same_for_unknown_users_and_counts(api, link):
    unknown = {"company_number": COMPANY, "user_id": "nobody", "registration_number": NUMBER}
    wrong = {"company_number": COMPANY, "user_id": USER, "registration_number": "87654321"}
    first = api.post("/api/v1/pickup/reset", json=unknown)
    second = api.post("/api/v1/pickup/reset", json=wrong)
    assert first.status_code == second.status_code == 401
    assert first.json() == second.json()
    api.post("/api/v1/pickup/reset", json=wrong)
    api.post("/api/v1/pickup/reset", json=wrong)
    assert login(api, link).status_code == 401  # three wrong numbers locked the account


def test_the_last_two_passwords_cannot_be_reused(api, tokens, services):
    def change(new):
        issue(api, tokens["helpdesk"], pickup=True)
        reset = api.post(f"{CREDENTIALS}/reset", json={}, headers=bearer(tokens["admin"]))
        temporary = reset.json()["temporary_password"]
        return login(api, last_link(services), password=temporary, new_password=new)

    reused = change(PASSWORD)
    assert reused.status_code == 422
    assert "cannot be reused" in reused.json()["detail"]
    assert change("Momiji-2027").status_code == 200
    assert change(PASSWORD).status_code == 422  # still one of the last two
    assert change("Kaede-2028").status_code == 200
    assert change(PASSWORD).status_code == 200  # three changes ago: allowed again


def test_a_password_expires_90_days_after_it_was_set(api, tokens, services, clock):
    clock.advance(timedelta(days=90))
    issue(api, tokens["helpdesk"], pickup=True)
    link = last_link(services)
    expired = login(api, link)
    assert expired.status_code == 422
    assert "expired" in expired.json()["detail"]
    assert login(api, link, new_password="Momiji-2027").status_code == 200


@pytest.mark.parametrize(
    ("password", "number", "field"),
    [
        ("short1", NUMBER, "password"),
        ("onlyletters", NUMBER, "password"),
        (PASSWORD, "11111111", "registration_number"),
        (PASSWORD, "1234", "registration_number"),
    ],
)
def test_registering_credentials_enforces_the_rules(api, tokens, password, number, field):
    body = {"password": password, "registration_number": number}
    answer = api.post(CREDENTIALS, json=body, headers=bearer(tokens["helpdesk"]))
    assert answer.status_code == 422
    assert answer.json()["field"] == field


def test_registering_credentials_hides_them_in_the_audit(api, tokens):
    body = {"password": "Fuji-san-3776", "registration_number": "24681357", "ticket": "T-3"}
    answer = api.post(CREDENTIALS, json=body, headers=bearer(tokens["helpdesk"]))
    assert answer.status_code == 200, answer.text
    assert answer.json()["credentials_registered"] is True
    events = api.get("/api/v1/audit?ticket=T-3", headers=bearer(tokens["admin"])).text
    assert "credentials.set" in events
    assert "Fuji" not in events
    assert "2468" not in events
