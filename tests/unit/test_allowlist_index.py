"""The in-memory allowlist follows the change log even when versions commit out of order."""

from __future__ import annotations

from sqlalchemy import insert, update

from certsvc.domain.policy import RevocationReason
from certsvc.feed import allowlist as allowlist_module
from certsvc.feed.allowlist import AllowlistIndex, serial_key
from certsvc.feed.compact import Base, Columns
from certsvc.lifecycle.operations import CsrKey
from certsvc.storage.db import transaction
from certsvc.storage.models import Certificate, FeedChange
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
    assert index.by_sha1[entry.sha1] == entry
    assert index.by_serial[entry.serial_key] == entry
    services.lifecycle.revoke(entry.serial, RevocationReason.superseded, OPERATOR)
    with services.sessions() as session:
        index.follow(session)
    assert [len(index.by_sha256), len(index.by_sha1), len(index.by_serial)] == [0, 0, 0]
    assert entry.sha1 not in index.by_sha1
    assert entry.serial_key not in index.by_serial
    assert index.lapsed(entry.invalid_from + 1) == 0


def _columns(rows: list[tuple[str, str, str]]) -> Columns:
    """Rows of (serial, sha1, sha256) under one issuer, valid until 2030."""
    count = len(rows)
    return Columns(
        [serial for serial, _, _ in rows],
        [sha1 for _, sha1, _ in rows],
        [sha256 for _, _, sha256 in rows],
        [0] * count,
        [f"CN=user{number},O=高橋商事" for number in range(count)],
        [1_900_000_000_000_000] * count,
        [1_900_000_000_000_000] * count,
    )


def test_keys_sharing_a_prefix_are_told_apart_by_the_full_key():
    rows = [("0A", "ab" * 4 + "01" * 16, "cd" * 8 + "00" * 24), ("7F01", "ab" * 4 + "02" * 16,
            "cd" * 8 + "ff" * 24), ("01", "00" * 20, "00" * 32)]  # fmt: skip
    base = Base([_columns(rows[:2]), _columns(rows[2:])], ["CN=Issuing CA,O=certsvc"])
    for serial, sha1, sha256 in rows:
        row = base.row_of_sha256(bytes.fromhex(sha256))
        assert base.row_of_sha1(bytes.fromhex(sha1)) == row
        assert base.row_of_serial(bytes.fromhex(serial), 0) == row
        record = base.record(row)
        assert (record.serial, record.sha1, record.sha256) == (serial, sha1, sha256)
    assert base.record(base.row_of_sha256(bytes.fromhex("00" * 32))).subject.endswith("高橋商事")
    assert base.row_of_sha256(bytes.fromhex("cd" * 8 + "01" * 24)) == -1
    assert base.row_of_sha1(bytes.fromhex("ab" * 4 + "03" * 16)) == -1
    assert base.row_of_serial(bytes.fromhex("0A"), 1) == -1  # same serial, other issuer


def test_rows_outside_the_compact_shape_are_still_found(services, subscriber):
    issued = services.lifecycle.issue(*subscriber, CsrKey(make_csr()), OPERATOR)
    odd_serial = "0" + issued.certificate.serial  # odd length: not in gateway form
    with transaction(services.sessions) as session:
        session.execute(
            update(Certificate)
            .where(Certificate.sha256 == issued.certificate.sha256)
            .values(serial=odd_serial)
        )
    index = AllowlistIndex()
    with services.sessions() as session:
        index.load(session)
    entry = index.by_sha256[issued.certificate.sha256]
    assert entry.serial == odd_serial
    assert index.by_sha1[entry.sha1] == entry
    assert len(index.by_sha256) == 1


def test_serial_lookup_accepts_the_issuer_as_a_gateway_spells_it(services, subscriber):
    issued = services.lifecycle.issue(*subscriber, CsrKey(make_csr()), OPERATOR)
    index = AllowlistIndex()
    with services.sessions() as session:
        index.load(session)
    entry = index.by_sha256[issued.certificate.sha256]
    spaced = ", ".join(entry.issuer.split(",")).upper()
    assert index.by_serial.get(serial_key(entry.serial.lower(), spaced)) == entry
    assert index.by_serial.get(serial_key(entry.serial, "CN=Someone Else")) is None
    assert index.by_sha256.get("zz") is None


def test_many_changes_rebuild_the_arrays_with_the_same_answers(services, subscriber, monkeypatch):
    index = AllowlistIndex()
    first = services.lifecycle.issue(*subscriber, CsrKey(make_csr()), OPERATOR)
    with services.sessions() as session:
        index.load(session)
    monkeypatch.setattr(allowlist_module, "COMPACT_OVER", 1)
    second = services.lifecycle.issue(*subscriber, CsrKey(make_csr()), OPERATOR)
    services.lifecycle.revoke(first.certificate.serial, RevocationReason.superseded, OPERATOR)
    with services.sessions() as session:
        index.follow(session)  # one change held beside the arrays
        assert len(index.state.extra) == 1
        third = services.lifecycle.issue(*subscriber, CsrKey(make_csr()), OPERATOR)
        index.follow(session)  # past COMPACT_OVER: reloaded into arrays
    assert not index.state.extra
    assert not index.state.dead
    assert set(index.by_sha256) == {second.certificate.sha256, third.certificate.sha256}
    assert first.certificate.sha256 not in index.by_sha256


def test_lapsed_count_follows_time_and_changes(services, subscriber):
    index = AllowlistIndex()
    issued = services.lifecycle.issue(*subscriber, CsrKey(make_csr()), OPERATOR)
    with services.sessions() as session:
        index.load(session)
    deadline = index.by_sha256[issued.certificate.sha256].invalid_from
    assert index.lapsed(deadline - 1) == 0
    assert index.lapsed(deadline) == 1
    assert [e.sha256 for e in index.snapshot(deadline - 1)[2]] == [issued.certificate.sha256]
    assert index.snapshot(deadline)[2] == []
    later = services.lifecycle.issue(*subscriber, CsrKey(make_csr()), OPERATOR)
    with services.sessions() as session:
        index.follow(session)
    later_deadline = index.by_sha256[later.certificate.sha256].invalid_from
    assert index.lapsed(max(deadline, later_deadline)) == 2
