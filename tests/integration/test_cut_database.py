"""An instance cut off from its database: ``/gateway/check`` refuses once its view of the
feed is older than ``[gateway] max_view_age_seconds`` (a revocation made meanwhile is
never admitted for longer), and the API answers 503 problem+json, not 500.

On PostgreSQL the instance reaches the database through a TCP proxy that the test cuts;
on SQLite its database file is replaced by something that cannot be opened.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import SQLAlchemyError

from certsvc.api.app import create_app
from certsvc.app import Services
from certsvc.clock import FixedClock
from certsvc.domain.policy import RevocationReason
from certsvc.lifecycle.operations import CsrKey
from tests.conftest import COMPANY, OPERATOR, USER, make_settings
from tests.fakes.timer import FakeTimer
from tests.keys import make_csr
from tests.proxy import CuttableProxy


@pytest.fixture
def cut_off(
    tmp_path: Path, database_url: str, services: Services, subscriber: tuple[str, str]
) -> Iterator[tuple[Services, Callable[[], None]]]:
    """A second instance on the same database, and the cut that isolates it."""
    if database_url.startswith("sqlite"):
        path = Path(urlsplit(database_url).path)
        instance = Services(make_settings(tmp_path / "home", database_url), services.clock)

        def cut() -> None:
            services.close()
            instance.engine.dispose()
            for each in path.parent.glob(path.name + "*"):
                each.rename(tmp_path / f"aside-{each.name}")
            path.mkdir()  # "unable to open database file" for every new connection

        yield instance, cut
    else:
        parts = urlsplit(database_url)
        proxy = CuttableProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
        netloc = f"{parts.username}@127.0.0.1:{proxy.port}"
        url = urlunsplit(parts._replace(netloc=netloc))
        instance = Services(make_settings(tmp_path / "home", url), services.clock)
        yield instance, proxy.cut
        proxy.cut()
    instance.close()


def test_a_cut_off_instance_refuses_within_the_bound(services, cut_off, clock: FixedClock):
    instance, cut = cut_off
    issued = services.lifecycle.issue(COMPANY, USER, CsrKey(make_csr()), OPERATOR)
    gateway_token = services.tokens.create("gateway", "edge-1")
    helpdesk = services.tokens.create("helpdesk", "desk")
    timer = FakeTimer()
    instance.gateway.checker.timer = timer
    instance.gateway.poll_once()
    api = TestClient(create_app(instance), raise_server_exceptions=False)  # as a server would
    check = {
        "X-Client-Cert-Fingerprint": issued.certificate.sha1,
        "Authorization": f"Bearer {gateway_token}",
    }
    assert api.get("/gateway/check", headers=check).status_code == 204

    services.lifecycle.revoke(issued.certificate.serial, RevocationReason.keyCompromise, OPERATOR)
    cut()  # before the instance could read the revocation
    with pytest.raises(SQLAlchemyError):
        instance.gateway.poll_once()  # what the serving loop's round meets (and logs)

    timer.sleep(instance.settings.gateway.max_view_age_seconds - 1)
    assert api.get("/gateway/check", headers=check).status_code == 204  # its last view
    timer.sleep(2)  # past the bound: the revocation it cannot see must not be admitted
    refused = api.get("/gateway/check", headers=check)
    assert refused.status_code == 503
    assert refused.headers["content-type"] == "application/problem+json"
    assert "last read over 10 s ago" in refused.json()["detail"]

    shown = api.get(
        f"/api/v1/certificates/{issued.certificate.serial}",
        headers={"Authorization": f"Bearer {helpdesk}"},
    )
    assert shown.status_code == 503
    assert shown.headers["content-type"] == "application/problem+json"
    assert shown.json()["title"] == "database-unavailable"
    assert "retry-after" in shown.headers
