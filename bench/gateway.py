"""Gateway feed benchmark: 1,000,000 issued certificates, 100,000 of them revoked.

Rows are bulk-inserted (not via lifecycle), then it measures: building the issuing-CA
CRL, the full allowlist export, 304 revalidation latency, and ``/gateway/check`` under
``wrk`` with 64 connections against one uvicorn worker (``certsvc serve``), every request
carrying a gateway token as nginx's ``auth_request`` does.

    python bench/gateway.py [--certificates N] [--revoked N] [--database-url URL]
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert, text

from certsvc.app import Services
from certsvc.clock import SystemClock
from certsvc.config import settings_from_dict
from certsvc.storage.models import Certificate, FeedChange, Subscriber, Tenant

BATCH = 50_000
ISSUER = "CN=certsvc Issuing CA 1,O=certsvc"


def rows(count: int, revoked: int, now: datetime) -> Iterator[dict[str, object]]:
    not_after = now + timedelta(days=700)
    for number in range(count):
        serial = f"{secrets.randbits(127) | (1 << 126):032X}"
        is_revoked = number < revoked
        yield {
            "subscriber_id": 1,
            "state": "revoked" if is_revoked else "issued",
            "request_key": f"bench-{number}",
            "requested_at": now,
            "public_key_sha256": secrets.token_hex(32),
            "adapter": "local",
            "email": "bench@example.jp",
            "serial": serial,
            "ca_ref": serial,
            "ca_name": "issuing",
            "sha256": secrets.token_hex(32),
            "sha1": secrets.token_hex(20),
            "subject": f"CN=user{number},O=Bench KK",
            "issuer": ISSUER,
            "not_before": now,
            "not_after": not_after,
            "expiry_date": not_after.date(),
            "invalid_from": not_after + timedelta(seconds=1),
            "issued_at": now,
            "revoked_at": now if is_revoked else None,
            "revocation_reason": "keyCompromise" if is_revoked else None,
            "awaiting_pickup": False,
            "crl_final": False,
        }


def load(services: Services, count: int, revoked: int) -> None:
    now = datetime.now(UTC)
    with services.engine.begin() as connection:
        connection.execute(
            insert(Tenant), [{"company_number": "9", "name": "Bench KK", "admin_email": "a@b.jp",
                              "admin_name": "", "created_at": now}],
        )  # fmt: skip
        connection.execute(
            insert(Subscriber), [{"tenant_id": 1, "user_id": "bench", "email": "b@b.jp",
                                  "display_name": "", "role": "staff", "locale": "ja",
                                  "needs_certificate": True, "created_at": now}],
        )  # fmt: skip
        batch: list[dict[str, object]] = []
        for row in rows(count, revoked, now):
            batch.append(row)
            if len(batch) == BATCH:
                connection.execute(insert(Certificate), batch)
                batch = []
        if batch:
            connection.execute(insert(Certificate), batch)
        connection.execute(
            insert(FeedChange), [{"op": "add", "serial": "01", "sha256": "0" * 64, "at": now}]
        )


def timed(label: str, work):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = work()
    print(f"{label}: {time.perf_counter() - started:.2f} s")
    return result


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def revalidation(url: str, path: str, token: str, rounds: int = 300) -> str:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as client:
        etag = client.get(path, timeout=300).headers["etag"]
        latencies = []
        for _ in range(rounds):
            started = time.perf_counter()
            answer = client.get(path, headers={"If-None-Match": etag})
            latencies.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 304
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    return f"p50 {statistics.median(latencies):.2f} ms, p99 {p99:.2f} ms"


PACE_SCRIPT = "function delay()\n  return {ms}\nend\n"
"""A wrk script that waits between a connection's requests: with 64 connections and 20 ms,
about 3,000 requests/s are offered, so latency is measured at the target's load rather
than at saturation (plain wrk has no rate option)."""


def run_wrk(
    url: str,
    sha1: str,
    token: str,
    seconds: int,
    path: str = "/gateway/check",
    pace_ms: int | None = None,
) -> str:
    extra: list[str] = []
    if pace_ms is not None:
        script = Path(tempfile.mkdtemp()) / "pace.lua"
        script.write_text(PACE_SCRIPT.format(ms=pace_ms))
        extra = ["-s", str(script)]
    result = subprocess.run(
        ["wrk", "-t1", "-c64", f"-d{seconds}s", "--latency", *extra,
         "-H", f"X-Client-Cert-Fingerprint: {sha1}",
         "-H", f"Authorization: Bearer {token}", f"{url}{path}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    out = result.stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return (
        f"{float(rps.group(1)) if rps else 0:.0f} req/s, p50 {p50.group(1) if p50 else '?'}, "
        f"p99 {p99.group(1) if p99 else '?'}, non-2xx {non2xx.group(1) if non2xx else 0}"
    )


BASELINE_APP = """
async def app(scope, receive, send):
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
"""


def baseline(home: Path, token: str, seconds: int) -> str:
    """The same wrk against a do-nothing ASGI app under uvicorn: this machine's floor."""
    (home / "baseline_app.py").write_text(BASELINE_APP)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "baseline_app:app", "--port", str(port),
         "--log-level", "warning", "--no-access-log"],
        cwd=home, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        return run_wrk(f"http://127.0.0.1:{port}", "00", token, seconds, "/")
    finally:
        process.terminate()
        process.wait(timeout=10)


def serve(home: Path, database_url: str, args: argparse.Namespace, sha1: str, token: str) -> None:
    config = home / "bench.toml"
    config.write_text(
        f'home = "{home}"\n[database]\nurl = "{database_url}"\n[logging]\nlevel = "warning"\n'
        f"[gateway]\npoll_seconds = {args.poll_seconds}\n"
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "certsvc", "--config", str(config), "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        started = time.perf_counter()
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        print(
            "serve start-up until /readyz (loads the allowlist): "
            f"{time.perf_counter() - started:.1f} s"
        )
        allowlist = revalidation(url, "/gateway/allowlist", token)
        print(f"304 revalidation /gateway/allowlist: {allowlist}")
        print(f"304 revalidation /crl/bundle.pem: {revalidation(url, '/crl/bundle.pem', token)}")
        checks = run_wrk(url, sha1, token, args.wrk_seconds)
        print(f"/gateway/check with a gateway token (wrk -c64, 1 uvicorn worker): {checks}")
        paced = run_wrk(url, sha1, token, args.wrk_seconds, pace_ms=20)
        print(f"/gateway/check at ~3,000 req/s offered (wrk -c64, 20 ms pacing): {paced}")
        print(f"baseline, empty ASGI app (same wrk): {baseline(home, token, args.wrk_seconds)}")
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--certificates", type=int, default=1_000_000)
    parser.add_argument("--revoked", type=int, default=100_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--wrk-seconds", type=int, default=10)
    parser.add_argument("--poll-seconds", type=float, default=0.5)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="certsvc-bench-"))
    database_url = args.database_url or f"sqlite:///{home / 'certsvc.db'}"
    try:
        settings = settings_from_dict({"home": str(home), "database": {"url": database_url}})
        services = Services(settings, SystemClock())
        if args.database_url:
            with services.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        services.initialise()
        print(
            f"{args.certificates} certificates, {args.revoked} revoked "
            f"({services.engine.url.get_backend_name()})"
        )
        timed("bulk insert", lambda: load(services, args.certificates, args.revoked))
        files = timed("build CRLs (root + issuing)", services.crls.current)
        issuing = next(f for f in files if f.ca_name == "issuing")
        print(f"issuing-CA CRL: {len(issuing.der):,} bytes DER, {len(issuing.pem):,} bytes PEM")
        gateway = services.gateway
        with services.sessions() as session:
            timed("load allowlist into memory", lambda: gateway.allowlist.load(session))
        now = services.clock.now()
        for format_ in ("json", "nginx-map"):
            rendered = timed(
                f"export allowlist {format_}", lambda f=format_: gateway.exports.render(f, now)
            )
            print(f"  {format_}: {len(rendered.body):,} bytes")
        sha1 = next(iter(gateway.allowlist.by_sha1))
        token = services.tokens.create("gateway", "bench-gateway")
        services.engine.dispose()
        serve(home, database_url, args, sha1, token)
    finally:
        if os.environ.get("KEEP_BENCH_HOME") is None:
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
