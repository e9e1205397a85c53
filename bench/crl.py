"""Seconds and bytes to build the issuing CA's CRL with 10k, 100k and 1M revoked entries.

The CRL is built the way certsvc builds it: revoked rows read from the database (SQLite
here), signed by the local CA. Targets: 1M entries in <= 10 s, and the 1M/100k time
ratio <= 12 (linear). Usage: python bench/crl.py [--sizes 10000,100000,1000000]
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert

from certsvc.app import Services
from certsvc.audit import Actor
from certsvc.clock import FixedClock
from certsvc.config import settings_from_dict
from certsvc.directory import NewSubscriber
from certsvc.feed import crl
from certsvc.logging import configure_logging
from certsvc.storage.db import transaction
from certsvc.storage.models import Certificate, table_of

NOW = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
BATCH = 50_000


def revoked_rows(count: int, subscriber_id: int) -> list[dict[str, object]]:
    """Revoked certificates, not yet expired, with a reason each."""
    reasons = ("keyCompromise", "superseded", "affiliationChanged", "cessationOfOperation")
    return [
        {
            "subscriber_id": subscriber_id,
            "state": "revoked",
            "request_key": str(index),
            "requested_at": NOW,
            "public_key_sha256": "",
            "adapter": "local",
            "email": "",
            "serial": f"{secrets.randbits(128) | 1 << 127:X}",
            "ca_name": "issuing",
            "sha256": f"{index:064x}",
            "not_after": NOW + timedelta(days=700),
            "revoked_at": NOW - timedelta(seconds=index),
            "revocation_reason": reasons[index % 4],
            "awaiting_pickup": False,
            "crl_final": False,
        }
        for index in range(count)
    ]


def build(size: int, home: Path) -> tuple[float, int]:
    database = f"sqlite:///{home / 'crl.db'}"
    services = Services(
        settings_from_dict({"home": str(home), "database": {"url": database}}), FixedClock(NOW)
    )
    services.initialise()
    actor = Actor("bench")
    services.directory.add_tenant("9001", "Bench KK", "admin@bench.example.jp", actor)
    services.directory.add_subscriber(NewSubscriber("9001", "u", "u@bench.example.jp"), actor)
    rows = revoked_rows(size, 1)
    with services.engine.begin() as connection:
        for start in range(0, size, BATCH):
            connection.execute(insert(table_of(Certificate)), rows[start : start + BATCH])
    signer = services.crls.signer()
    started = time.perf_counter()
    with transaction(services.sessions) as session:
        published = crl.publish(session, signer, "issuing", NOW, services.settings.crl)
    seconds = time.perf_counter() - started
    services.close()
    return seconds, len(published.der)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    args = parser.parse_args()
    configure_logging("json", "warning", open(os.devnull, "w"))
    results = {}
    for size in (int(text) for text in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as scratch:
            seconds, size_bytes = build(size, Path(scratch))
        results[size] = seconds
        print(f"{size:>9,} entries: {seconds:7.2f} s  {size_bytes:>12,} bytes DER")
    if 100_000 in results and 1_000_000 in results:
        ratio = results[1_000_000] / results[100_000]
        print(f"1M / 100k time ratio: {ratio:.1f}  (targets: 1M <= 10 s, ratio <= 12)")


if __name__ == "__main__":
    main()
