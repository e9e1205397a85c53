"""One successor at a time: a direct renewal or reissue is refused (409, exit 4) while a
renewal or reissue of the same certificate waits for the subscriber's key at pickup."""

from __future__ import annotations

from datetime import timedelta

from click.testing import CliRunner

from certsvc.cli.main import main
from tests.integration.api.cli_helpers import make_cli
from tests.integration.api.conftest import bearer, issue
from tests.keys import make_csr
from tests.timestamps import maintenance_opens


def test_a_direct_renewal_or_reissue_waits_for_an_open_order(
    api, tokens, services, clock, tmp_path, database_url
):
    serial = issue(api, tokens["helpdesk"])["serial"]
    helpdesk = bearer(tokens["helpdesk"])
    ordered = api.post(
        f"/api/v1/certificates/{serial}/renew", json={"pickup": True}, headers=helpdesk
    )
    assert ordered.status_code == 202, ordered.text
    csr = make_csr().decode()
    renew = api.post(f"/api/v1/certificates/{serial}/renew", json={"csr": csr}, headers=helpdesk)
    reissue = api.post(
        f"/api/v1/certificates/{serial}/reissue",
        json={"reason": "pc-change", "csr": csr},
        headers=helpdesk,
    )
    for answer in (renew, reissue):
        assert answer.status_code == 409, answer.text
        detail = answer.json()["detail"]
        assert "already has a pending renew waiting for the subscriber's key" in detail
        assert "2026-12-10 10:00 JST" in detail  # the link's end, as a person writes it
    assert services.lifecycle.show(serial).state == "issued"

    config = tmp_path / "cli.toml"
    config.write_text(f'home = "{services.settings.home}"\n[database]\nurl = "{database_url}"\n')
    csr_file = tmp_path / "direct.csr"
    csr_file.write_bytes(make_csr())
    command = ["--config", str(config), "cert", "renew", serial, "--csr", str(csr_file)]
    refused = CliRunner().invoke(main, command, obj=clock)
    assert refused.exit_code == 4
    assert "pending renew waiting for the subscriber's key" in refused.stderr

    clock.advance(timedelta(days=services.settings.pickup.valid_days, seconds=1))
    assert CliRunner().invoke(main, command, obj=clock).exit_code == 0  # the link ran out


def test_the_nightly_deferral_is_written_as_a_person_writes_it(tmp_path, database_url):
    cli = make_cli(tmp_path, database_url)
    code, out, err = cli.run("nightly", "--now", maintenance_opens.isoformat())
    assert code == 0, err
    assert out == "maintenance window: deferred until 2026-11-29 08:00 JST\n"
