"""The in-memory allowlist follows the change log even when versions commit out of order."""

from __future__ import annotations

from sqlalchemy import insert

from certsvc.domain.policy import RevocationReason
from certsvc.feed import allowlist as allowlist_module
from certsvc.feed.allowlist import AllowlistIndex
from certsvc.lifecycle.operations import CsrKey
from certsvc.storage.db import transaction
from certsvc.storage.models import FeedChange
from tests.conftest import OPERATOR
from tests.keys import make_csr


def _row(services, version: int, sha256: str) -> None:
    with transaction(services.sessions) as session:
        session.execute(
            insert(FeedChange).values(
                version=version, op="add", serial="01", sha256=sha256, at=services.clock.now()
            )
        )


def test_version_waits_for_a_lower_version_that_commits_late(services, subscriber, monkeypatch):
    index = AllowlistIndex()
    with services.sessions() as session:
        index.load(session)
    issued = services.lifecycle.issue(*subscriber, CsrKey(make_csr()), OPERATOR)  # version 1
    _row(services, 3, "f" * 64)  # version 3 is visible before version 2
    with services.sessions() as session:
        assert index.follow(session) == [1, 3]
    assert index.version == 1  # never announce past the gap
    assert issued.certificate.sha256 in index.by_sha256
    _row(services, 2, "e" * 64)
    with services.sessions() as session:
        index.follow(session)
    assert index.version == 3


def test_a_gap_that_never_fills_is_given_up_after_the_grace(services, subscriber, monkeypatch):
    index = AllowlistIndex()
    with services.sessions() as session:
        index.load(session)
    _row(services, 2, "f" * 64)  # version 1 was rolled back: it never appears
    monkeypatch.setattr(allowlist_module, "GAP_GRACE_SECONDS", 0.0)
    with services.sessions() as session:
        index.follow(session)
    assert index.version == 2


def test_revocation_removes_every_lookup_key(services, subscriber):
    index = AllowlistIndex()
    issued = services.lifecycle.issue(*subscriber, CsrKey(make_csr()), OPERATOR)
    with services.sessions() as session:
        index.load(session)
    entry = index.by_sha256[issued.certificate.sha256]
    assert index.by_sha1[entry.sha1] is entry
    assert index.by_serial[entry.serial_key] is entry
    services.lifecycle.revoke(entry.serial, RevocationReason.superseded, OPERATOR)
    with services.sessions() as session:
        index.follow(session)
    assert (index.by_sha256, index.by_sha1, index.by_serial) == ({}, {}, {})
    assert index.lapsed(entry.invalid_from + 1) == 0
