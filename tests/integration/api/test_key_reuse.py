"""A public key in another subscriber's valid certificate is refused (409 / exit 4) at
issue, renew, reissue and pickup; nothing is written. The same person may keep a key."""

from __future__ import annotations

from sqlalchemy import func, select

from certsvc.storage.models import Certificate
from tests.conftest import COMPANY, USER
from tests.integration.api.cli_helpers import make_cli
from tests.integration.api.conftest import OTHER_COMPANY, OTHER_USER, bearer, issue
from tests.integration.api.pickup_helpers import last_link, login
from tests.keys import make_csr
from tests.timestamps import day_after


def certificate_count(services) -> int:
    with services.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Certificate)) or 0)


def test_issue_renew_and_reissue_refuse_another_subscribers_key(api, tokens, services):
    csr = make_csr().decode()
    held = issue(api, tokens["admin"], OTHER_COMPANY, OTHER_USER, csr=csr)["serial"]
    mine = issue(api, tokens["helpdesk"])["serial"]
    before = certificate_count(services)
    body = {"company_number": COMPANY, "user_id": USER, "csr": csr}
    answers = [
        api.post("/api/v1/certificates", json=body, headers=bearer(tokens["helpdesk"])),
        api.post(
            f"/api/v1/certificates/{mine}/renew",
            json={"csr": csr},
            headers=bearer(tokens["helpdesk"]),
        ),
        api.post(
            f"/api/v1/certificates/{mine}/reissue",
            json={"reason": "pc-change", "csr": csr},
            headers=bearer(tokens["helpdesk"]),
        ),
    ]
    for answer in answers:
        assert answer.status_code == 409, answer.text
        assert f"already in certificate {held} of another subscriber" in answer.json()["detail"]
    assert certificate_count(services) == before
    assert services.lifecycle.show(mine).state == "issued"  # the reissue revoked nothing


def test_pickup_with_another_subscribers_key_is_refused_and_the_link_stays(api, tokens, services):
    csr = make_csr().decode()
    issue(api, tokens["admin"], OTHER_COMPANY, OTHER_USER, csr=csr)
    ordered = api.post(
        "/api/v1/certificates",
        json={"company_number": COMPANY, "user_id": USER, "pickup": True},
        headers=bearer(tokens["helpdesk"]),
    )
    assert ordered.status_code == 202, ordered.text
    refused = login(api, last_link(services), csr=csr)
    assert refused.status_code == 409
    assert "of another subscriber" in refused.json()["detail"]
    accepted = login(api, last_link(services), csr=make_csr().decode())
    assert accepted.status_code == 200, accepted.text


def test_a_key_is_free_again_once_its_certificate_is_no_longer_valid(api, tokens, services):
    csr = make_csr().decode()
    held = issue(api, tokens["admin"], OTHER_COMPANY, OTHER_USER, csr=csr)["serial"]
    revoked = api.post(
        f"/api/v1/certificates/{held}/revoke",
        json={"reason": "keyCompromise"},
        headers=bearer(tokens["admin"]),
    )
    assert revoked.status_code == 200, revoked.text
    issue(api, tokens["helpdesk"], csr=csr)  # 201


def test_the_same_subscriber_may_renew_with_the_same_key(api, tokens):
    csr = make_csr().decode()
    serial = issue(api, tokens["helpdesk"], csr=csr)["serial"]
    renewed = api.post(
        f"/api/v1/certificates/{serial}/renew",
        json={"csr": csr},
        headers=bearer(tokens["helpdesk"]),
    )
    assert renewed.status_code == 201, renewed.text


def test_the_cli_refuses_key_reuse_with_exit_4_and_accepts_after_expiry(tmp_path, database_url):
    cli = make_cli(tmp_path, database_url)
    code, _, err = cli.run("subscriber", "add", COMPANY, "hana", "--email", "hana@acme.jp")
    assert code == 0, err
    csr = cli.csr("shared")
    held = cli.issue("hana", csr)
    code, _, err = cli.run("cert", "issue", COMPANY, USER, "--csr", csr)
    assert code == 4
    assert f"already in certificate {held} of another subscriber" in err
    cli.clock.set(day_after)  # hana's certificate is past invalid_from: no longer valid
    assert cli.run("cert", "issue", COMPANY, USER, "--csr", csr)[0] == 0
