"""The credential rules at the pickup door: lock, same answers, resets, reuse, expiry."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.conftest import COMPANY, USER
from tests.integration.api.conftest import NUMBER, PASSWORD, bearer, issue
from tests.integration.api.pickup_helpers import (
    challenge,
    last_link,
    login,
    reset_mails,
    temporaries,
    wrong_digits,
)
from tests.timestamps import JST

CREDENTIALS = f"/api/v1/tenants/{COMPANY}/subscribers/{USER}/credentials"
WEDNESDAY = datetime(2026, 12, 2, 10, 0, tzinfo=JST)
CULTURE_DAY = datetime(2026, 11, 3, 10, 0, tzinfo=JST)
"""A Tuesday and a public holiday in Japan."""
EMAIL = "taro@acme.example.jp"


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


def helpdesk_reset(api, tokens, role="helpdesk", **body):
    answer = api.post(f"{CREDENTIALS}/reset", json=body, headers=bearer(tokens[role]))
    assert answer.status_code == 201, answer.text
    return answer.json()


def self_reset(api, **fields):
    body = {"company_number": COMPANY, "user_id": USER, "email": EMAIL, **fields}
    return api.post("/api/v1/pickup/reset", json=body)


def test_helpdesk_reset_lifts_the_lock_and_mails_both_for_24_hours(
    api, tokens, services, link, clock
):
    for _ in range(3):
        fail(api, link, password="Wrong-pass-1")
    answer = helpdesk_reset(api, tokens, ticket="T-5")
    assert answer["reset"] == "both"
    assert answer["mailed_to"] == EMAIL
    assert "temporary_password" not in answer
    assert datetime.fromisoformat(answer["expires_at"]) - clock.now() == timedelta(hours=24)
    (mail,) = reset_mails(services)
    sent = temporaries(mail)
    assert sent.keys() == {"password", "number"}
    assert "taro のパスワードと登録番号をヘルプデスクが初期化しました" in mail
    assert "2026-11-27 10:00 JST" in mail  # the business zone, as a person writes it
    needs_new = login(
        api, link, password=sent["password"], challenge=challenge(api, link, sent["number"])
    )
    assert needs_new.status_code == 422
    assert needs_new.json()["field"] == "new_password"
    digits = challenge(api, link, sent["number"])
    done = login(api, link, password=sent["password"], challenge=digits, new_password="Momiji-2027")
    assert done.status_code == 200


def test_an_empty_body_is_a_valid_helpdesk_reset(api, tokens):
    answer = api.post(f"{CREDENTIALS}/reset", headers=bearer(tokens["helpdesk"]))
    assert answer.status_code == 201, answer.text
    assert answer.json()["reset"] == "both"


def test_the_helpdesk_may_reset_only_the_registration_number(api, tokens, services, link):
    assert (
        helpdesk_reset(api, tokens, reset="registration_number")["reset"] == "registration_number"
    )
    sent = temporaries(reset_mails(services)[-1])
    assert sent.keys() == {"number"}
    assert login(api, link).status_code == 401  # the old number is gone
    assert login(api, link, challenge=challenge(api, link, sent["number"])).status_code == 200


def test_a_temporary_password_is_refused_after_its_validity(api, tokens, services, link, clock):
    helpdesk_reset(api, tokens, reset="password")
    temporary = temporaries(reset_mails(services)[-1])["password"]
    clock.advance(timedelta(hours=24))
    fail(api, link, password=temporary, new_password="Momiji-2027")


def test_helpdesk_resets_only_on_its_working_days(api, tokens, clock):
    clock.set(WEDNESDAY)
    refused = api.post(f"{CREDENTIALS}/reset", json={}, headers=bearer(tokens["helpdesk"]))
    assert refused.status_code == 409
    detail = refused.json()["detail"]
    assert "Tuesday, Thursday" in detail
    assert "2026-12-02 is a Wednesday; next possible day: 2026-12-03 (Thursday)" in detail
    by_admin = api.post(f"{CREDENTIALS}/reset", json={}, headers=bearer(tokens["admin"]))
    assert by_admin.status_code == 201


def test_a_helpdesk_reset_on_a_public_holiday_is_refused_like_a_monday(
    api, tokens, services, clock
):
    clock.set(CULTURE_DAY)
    refused = api.post(f"{CREDENTIALS}/reset", json={}, headers=bearer(tokens["helpdesk"]))
    assert refused.status_code == 409
    detail = refused.json()["detail"]
    assert "2026-11-03 is a public holiday (Culture Day)" in detail
    assert "next possible day: 2026-11-05 (Thursday)" in detail
    assert reset_mails(services) == []
    clock.set(CULTURE_DAY + timedelta(days=2))
    assert helpdesk_reset(api, tokens)["reset"] == "both"


def test_self_service_reset_mails_a_password_valid_one_hour(api, services, link, clock):
    answer = self_reset(api)
    assert answer.status_code == 202, answer.text
    assert "temporary" not in answer.text.replace("temporary credentials", "")
    mail = reset_mails(services)[-1]
    sent = temporaries(mail)
    assert sent.keys() == {"password"}
    assert "パスワードを初期化しました" in mail
    assert "2026-11-26 11:00 JST" in mail
    clock.advance(timedelta(minutes=59))
    assert (
        login(api, link, password=sent["password"], new_password="Momiji-2027").status_code == 200
    )


def test_self_service_temporary_password_expires_after_an_hour(api, services, link, clock):
    self_reset(api)
    temporary = temporaries(reset_mails(services)[-1])["password"]
    clock.advance(timedelta(hours=1))
    fail(api, link, password=temporary, new_password="Momiji-2027")


def test_a_temporary_registration_number_runs_out_after_an_hour(api, services, link, clock):
    self_reset(api, reset="registration_number")
    number = temporaries(reset_mails(services)[-1])["number"]
    clock.advance(timedelta(hours=1))
    fail(api, link, challenge=challenge(api, link, number))


def test_a_wrong_address_resets_nothing_and_gets_the_same_answer(api, tokens, services, link):
    right = self_reset(api)
    wrong = self_reset(api, email="someone@else.example.jp")
    unknown = self_reset(api, user_id="nobody")
    assert right.status_code == wrong.status_code == unknown.status_code == 202
    assert right.json() == wrong.json() == unknown.json()
    assert len(reset_mails(services)) == 1  # only the right address got a mail
    events = api.get("/api/v1/audit", headers=bearer(tokens["admin"])).json()
    refused = [event for event in events if event["action"] == "credentials.self_reset_refused"]
    assert len(refused) == 1
    assert "else.example.jp" not in str(refused)


def test_a_self_reset_must_name_a_reset_target(api):
    answer = self_reset(api, reset="everything")
    assert answer.status_code == 422
    assert "reset" in answer.json()["detail"]


def test_the_last_two_passwords_cannot_be_reused(api, tokens, services):
    def change(new):
        issue(api, tokens["helpdesk"], pickup=True)
        helpdesk_reset(api, tokens, "admin", reset="password")
        temporary = temporaries(reset_mails(services)[-1])["password"]
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
