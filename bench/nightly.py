"""Benchmark the nightly run: 1,000,000 certificates, 10,000 due a reminder, 1,000 expiring.

Usage: python bench/nightly.py [--certificates N] [--dir DIR]

Builds a SQLite database with bulk core inserts (not through the lifecycle), then runs
the nightly job in a fresh child process, so the peak memory printed is the run's own:

1. the nightly job without its drain (expire, revoke overdue, reconcile, CRL, reminders),
2. the outbox drain to a local aiosmtpd server.

Targets (issue 4): nightly <= 60 s and <= 512 MB on SQLite; >= 200 mails/s.
"""

from __future__ import annotations

import argparse
import resource
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from certsvc.app import Services
from certsvc.clock import FixedClock
from certsvc.config import settings_from_dict
from certsvc.domain.policy import invalid_from_for
from certsvc.logging import configure_logging
from certsvc.storage.models import Certificate, Subscriber, Tenant
from scheduler.daemon import nightly_parts
from scheduler.jobs import run_nightly

JST = ZoneInfo("Asia/Tokyo")
NOW = datetime(2027, 6, 1, 0, 5, tzinfo=JST)
TODAY = NOW.date()
REMINDERS, EXPIRING = 10_000, 1_000
OFFSETS = (60, 30, 14, 7, 1)
PER_SUBSCRIBER = 10
CHUNK = 20_000


def settings_for(home: Path, smtp_port: int = 25) -> Services:
    settings = settings_from_dict(
        {
            "home": str(home),
            "mail": {"smtp_host": "127.0.0.1", "smtp_port": smtp_port, "from": "certs@bench.jp"},
            "outbox": {"batch_size": 500},
            "logging": {"format": "json", "level": "warning"},
        }
    )
    return Services(settings, FixedClock(NOW))


def expiry_for(index: int) -> date:
    """Reminder dates for the first 10,000, yesterday for the next 1,000, else far away."""
    if index < REMINDERS:
        return TODAY + timedelta(days=OFFSETS[index % len(OFFSETS)])
    if index < REMINDERS + EXPIRING:
        return TODAY - timedelta(days=1)
    spread = 2 + index % 700
    while spread in OFFSETS:
        spread += 1
    return TODAY + timedelta(days=spread)


def certificate_row(index: int) -> dict[str, object]:
    expiry = expiry_for(index)
    revoked = index >= REMINDERS + EXPIRING and index % 50 == 49
    not_after = datetime.combine(expiry, datetime.max.time(), tzinfo=JST).replace(microsecond=0)
    issued_at = not_after - timedelta(days=730)
    return {
        "subscriber_id": index // PER_SUBSCRIBER + 1,
        "state": "revoked" if revoked else "issued",
        "request_key": f"bench-{index}",
        "requested_at": issued_at,
        "public_key_sha256": f"{index:064x}",
        "adapter": "local",
        "email": f"user{index // PER_SUBSCRIBER}@bench.example.jp",
        "serial": f"{index + 1:032X}",
        "ca_name": "bench-issuing",
        "sha256": f"{index:064X}",
        "sha1": f"{index:040x}",
        "not_before": issued_at,
        "not_after": not_after,
        "expiry_date": expiry,
        "invalid_from": invalid_from_for(expiry, JST),
        "issued_at": issued_at,
        "revoked_at": issued_at + timedelta(days=1) if revoked else None,
        "revocation_reason": "superseded" if revoked else None,
        "awaiting_pickup": False,
        "crl_final": revoked,
    }


def build(home: Path, count: int) -> None:
    services = settings_for(home)
    services.initialise()
    started = time.perf_counter()
    subscribers = (count + PER_SUBSCRIBER - 1) // PER_SUBSCRIBER
    created = datetime(2025, 1, 1, tzinfo=UTC)
    with services.engine.begin() as connection:
        connection.execute(
            insert(Tenant),
            [
                {
                    "company_number": "9001",
                    "name": "Bench KK",
                    "admin_email": "a@bench.jp",
                    "admin_name": "",
                    "created_at": created,
                }
            ],
        )
        for start in range(0, subscribers, CHUNK):
            connection.execute(
                insert(Subscriber),
                [
                    {
                        "tenant_id": 1,
                        "user_id": f"user{n}",
                        "display_name": f"User {n}",
                        "email": f"user{n}@bench.example.jp",
                        "role": "staff",
                        "locale": "ja" if n % 3 else "en",
                        "needs_certificate": True,
                        "created_at": created,
                    }
                    for n in range(start, min(start + CHUNK, subscribers))
                ],
            )
    for start in range(0, count, CHUNK):
        with services.engine.begin() as connection:
            rows = [certificate_row(n) for n in range(start, min(start + CHUNK, count))]
            connection.execute(insert(Certificate), rows)
    services.close()
    print(f"built {count:,} certificates in {time.perf_counter() - started:.1f} s")


def measure(home: Path) -> None:
    """Child process: the nightly run, then the drain to a local aiosmtpd (own process)."""
    configure_logging("json", "warning")
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{port}",
            "-c",
            "aiosmtpd.handlers.Sink",
        ]
    )
    try:
        wait_for(port)
        services = settings_for(home, port)
        started = time.perf_counter()
        report = run_nightly(nightly_parts(services), drain=False)
        nightly_seconds = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        counts = report.counts()
        print(f"nightly: {nightly_seconds:.2f} s, peak memory {peak_mb:.0f} MB (whole process)")
        print(f"  reminders queued {counts['reminders_queued']:,}, expired {counts['expired']:,}")
        started = time.perf_counter()
        drained = services.outbox.drain()
        drain_seconds = time.perf_counter() - started
        print(
            f"drain: {drained.sent:,} mails accepted by aiosmtpd in {drain_seconds:.2f} s = "
            f"{drained.sent / drain_seconds:.0f} mails/s "
            f"(failed {drained.failed}, retried {drained.retried})"
        )
        print(f"  peak memory after the drain {peak_memory_mb():.0f} MB")
        services.close()
    finally:
        server.terminate()
        server.wait()


def peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for(port: int) -> None:
    """Bounded polling until the SMTP server accepts connections."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("aiosmtpd did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--certificates", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--measure", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure is not None:
        measure(args.measure)
        return
    home = args.dir or Path(tempfile.mkdtemp(prefix="certsvc-bench-"))
    build(home, args.certificates)
    subprocess.run([sys.executable, __file__, "--measure", str(home)], check=True)


if __name__ == "__main__":
    main()
