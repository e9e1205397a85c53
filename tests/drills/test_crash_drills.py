"""Crash drills: kill -9 of the CLI and of ``certsvc serve`` at random points of issue,
reissue, revoke and the outbox drain, against the GlobalSign fake with dropped answers;
then reconcile, and check certificate by certificate that the CA and certsvc agree
(state and reason) and that no mail reached the SMTP server twice.

Seeded (``CERTSVC_DRILL_SEED``) and bounded (a fixed number of rounds, each with a
timeout), so a failure can be replayed. Run with ``pytest -m drill -s``: the figures
(attempts, killed, survived, lost, doubled) are printed at the end.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from certsvc.app import Services
from certsvc.audit import Actor
from certsvc.cli.main import main
from certsvc.clock import FixedClock, SystemClock
from certsvc.config import load_settings
from certsvc.domain.certificates import CertState
from certsvc.domain.fingerprints import format_serial, public_key_sha256
from certsvc.domain.policy import load_csr
from certsvc.storage.models import Certificate
from tests.fakes.globalsign import FakeGlobalSign
from tests.integration.test_serve import free_port
from tests.keys import make_csr
from tests.smtp import LoopbackController, Recorder

pytestmark = pytest.mark.drill

SEED = int(os.environ.get("CERTSVC_DRILL_SEED", "20261126"))
CLI_ROUNDS = 14
SERVE_ROUNDS = 4
ROUND_TIMEOUT = 30.0
DRILL = Actor("drill")


@dataclass
class Attempt:
    """One operation started (and maybe killed); ``key`` or ``serial`` names its certificate."""

    op: str
    key: str | None = None
    serial: str | None = None
    killed: bool = False


@dataclass
class Drill:
    config: Path
    settings_path: Path
    fake: FakeGlobalSign
    recorder: Recorder
    home: Path
    rng: random.Random
    attempts: list[Attempt] = field(default_factory=list)

    def cli(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "certsvc", "--config", str(self.config), *args]

    def csr(self, attempt: Attempt) -> str:
        pem = make_csr()
        attempt.key = public_key_sha256(load_csr(pem).public_key())
        path = self.home / f"csr-{len(self.attempts)}.pem"
        path.write_bytes(pem)
        return str(path)

    def services(self, clock: SystemClock | FixedClock | None = None) -> Services:
        return Services(load_settings(self.config), clock or SystemClock())


@pytest.fixture
def drill(tmp_path: Path, database_url: str) -> Iterator[Drill]:
    fake = FakeGlobalSign(tmp_path / "hvca").start()
    recorder = Recorder()
    smtp = LoopbackController(recorder)
    smtp.start()
    home = tmp_path / "home"
    section = {**fake.settings(), "poll_initial_seconds": 0.05, "retry_initial_seconds": 0.01}
    lines = [f'home = "{home}"', "[database]", f'url = "{database_url}"']
    lines += ["[logging]", 'level = "warning"']
    lines += ["[mail]", 'smtp_host = "127.0.0.1"', f"smtp_port = {smtp.port}"]
    lines += ['from = "certs@example.jp"']
    lines += ["[ca]", 'adapter = "globalsign"', "[ca.globalsign]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in section.items()]
    config = tmp_path / "certsvc.toml"
    config.write_text("\n".join(lines) + "\n")
    runner = CliRunner()
    for args in (
        ["init"],
        ["tenant", "add", "1001", "--name", "Acme KK", "--admin-email", "admin@acme.example.jp"],
        ["subscriber", "add", "1001", "taro", "--email", "taro@acme.example.jp"],
    ):
        result = runner.invoke(main, ["--config", str(config), *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    yield Drill(config, config, fake, recorder, home, random.Random(SEED))
    smtp.stop()
    fake.stop()


def issued_serials(drill: Drill) -> list[str]:
    services = drill.services()
    try:
        with services.sessions() as session:
            query = select(Certificate.serial).where(Certificate.state == "issued")
            return sorted(serial for serial in session.scalars(query) if serial)
    finally:
        services.close()


def run_and_kill(drill: Drill, command: list[str], attempt: Attempt, window: float) -> None:
    """Start ``command``; kill -9 it at a random instant of ``window`` seconds if still alive."""
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env()
    )
    try:
        process.wait(timeout=drill.rng.uniform(0.2, 1.0) * window)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        attempt.killed = True
    process.wait(timeout=ROUND_TIMEOUT)
    drill.attempts.append(attempt)


def _env() -> dict[str, str]:
    return {**os.environ, "CERTSVC_CONFIG": ""}


def cli_round(drill: Drill, window: float) -> None:
    """One CLI operation with random faults at the CA, killed at a random point."""
    rng, faults = drill.rng, drill.fake.faults
    faults.drop_after_issue = int(rng.random() < 0.3)
    faults.drop_after_revoke = int(rng.random() < 0.2)
    faults.pending_polls = rng.randint(0, 3)
    serials = issued_serials(drill)
    op = rng.choice(["issue", "reissue", "revoke", "drain"] if serials else ["issue"])
    attempt = Attempt(op)
    if op == "issue":
        command = drill.cli("cert", "issue", "1001", "taro", "--csr", drill.csr(attempt))
    elif op == "reissue":
        attempt.serial = rng.choice(serials)
        command = drill.cli(
            "cert", "reissue", attempt.serial, "--reason", "pc-change",
            "--revoke-old", "now", "--csr", drill.csr(attempt),
        )  # fmt: skip
    elif op == "revoke":
        attempt.serial = rng.choice(serials)
        command = drill.cli("cert", "revoke", attempt.serial, "--reason", "keyCompromise")
    else:
        command = drill.cli("outbox", "drain")
    run_and_kill(drill, command, attempt, window)
    faults.unavailable = 0  # a dropped revocation answer took the CA down; bring it back


def serve_round(drill: Drill, token: str) -> None:
    """``certsvc serve`` killed while it handles an issuance over HTTP."""
    port = free_port()
    process = subprocess.Popen(
        drill.cli("serve", "--port", str(port)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_env(),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process)
        attempt = Attempt("serve-issue")
        pem = Path(drill.csr(attempt)).read_text()
        drill.fake.faults.drop_after_issue = int(drill.rng.random() < 0.3)
        drill.fake.faults.pending_polls = drill.rng.randint(0, 3)
        body = {"company_number": "1001", "user_id": "taro", "csr": pem}
        headers = {"Authorization": f"Bearer {token}"}
        thread = threading.Thread(
            target=_post_quietly, args=(f"{url}/api/v1/certificates", body, headers)
        )
        thread.start()
        time.sleep(drill.rng.uniform(0.0, 0.4))
        attempt.killed = process.poll() is None
        process.send_signal(signal.SIGKILL)
        thread.join(timeout=ROUND_TIMEOUT)
        drill.attempts.append(attempt)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=ROUND_TIMEOUT)


def _post_quietly(url: str, body: dict[str, str], headers: dict[str, str]) -> None:
    try:
        httpx.post(url, json=body, headers=headers, timeout=ROUND_TIMEOUT)
    except httpx.HTTPError:
        pass  # the server was killed under it


def _wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + ROUND_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    pytest.fail("certsvc serve did not come up")


SETTLE_ROUNDS = 20
"""Reconcile runs an operator would make after a crash before calling it a failure."""


def settle(drill: Drill) -> int:
    """What operators run after a crash: reconcile until nothing is pending (bounded), the
    overdue revocations, the drain. A certificate still "being issued" at the CA is a
    failure reported for that row only ("try the next run"); the fake finishes it as it
    is polled, so the next round records it. The rounds used are returned."""
    drill.fake.faults = type(drill.fake.faults)()
    services = drill.services()
    try:
        rounds = 0
        while rounds < SETTLE_ROUNDS:
            rounds += 1
            result = services.lifecycle.reconcile(DRILL, older_than=timedelta(0))
            if not result.failed and pending_rows(services) == 0:
                break
        assert (result.failed, pending_rows(services)) == ([], 0)
        services.lifecycle.revoke_overdue(DRILL)
    finally:
        services.close()
    later = drill.services(FixedClock(SystemClock().now() + timedelta(hours=1)))
    try:
        later.outbox.drain()  # once the killed drains' leases have run out
    finally:
        later.close()
    return rounds


def pending_rows(services: Services) -> int:
    with services.sessions() as session:
        query = select(func.count()).select_from(Certificate)
        return session.scalar(query.where(Certificate.state == CertState.PENDING)) or 0


def ca_view(drill: Drill) -> dict[str, tuple[str, str | None, str]]:
    """serial -> (state, reason, key hash) as the CA has it, the serial spelt as certsvc
    stores it (whole bytes: one in sixteen serials has a leading zero digit)."""
    with drill.fake.ca.lock:
        return {
            format_serial(serial): (record.status.lower(), record.reason, record.spki_sha256)
            for serial, record in drill.fake.ca.records.items()
        }


def certsvc_view(drill: Drill) -> dict[str, tuple[str, str | None, str]]:
    services = drill.services()
    try:
        with services.sessions() as session:
            rows = session.execute(
                select(
                    Certificate.serial,
                    Certificate.state,
                    Certificate.revocation_reason,
                    Certificate.public_key_sha256,
                )
            ).all()
    finally:
        services.close()
    return {
        (serial or f"pending-{n}"): (state.value, reason, key)
        for n, (serial, state, reason, key) in enumerate(rows)
    }


def test_kill_9_at_random_points_loses_and_doubles_nothing(drill: Drill) -> None:
    started = time.monotonic()
    warm = Attempt("issue")
    subprocess.run(
        drill.cli("cert", "issue", "1001", "taro", "--csr", drill.csr(warm)),
        check=True,
        capture_output=True,
        env=_env(),
        timeout=ROUND_TIMEOUT,
    )
    window = max(time.monotonic() - started, 0.5)  # one whole command: kills land inside it
    drill.attempts.append(warm)
    for _ in range(CLI_ROUNDS):
        cli_round(drill, window)
    services = drill.services()
    token = services.tokens.create("helpdesk", "drill")
    services.close()
    for _ in range(SERVE_ROUNDS):
        serve_round(drill, token)

    rounds = settle(drill)

    ca, ours = ca_view(drill), certsvc_view(drill)
    mails = Counter(str(message["Message-ID"]) for message in drill.recorder.messages)
    figures = tally(drill.attempts, ca, ours, mails)
    print(
        f"\ndrill (seed {SEED}): attempts={figures['attempts']} killed={figures['killed']} "
        f"survived={figures['survived']} lost={figures['lost']} doubled={figures['doubled']} "
        f"certificates={len(ca)} mails={sum(mails.values())} settle_rounds={rounds} "
        f"in {time.monotonic() - started:.0f} s"
    )
    assert [serial for serial in ours if serial.startswith("pending-")] == []
    assert {serial: view[:2] for serial, view in ours.items()} == {
        serial: view[:2] for serial, view in ca.items()
    }  # certificate by certificate: the same state and reason
    assert [message for message, count in mails.items() if count > 1] == []
    assert (figures["lost"], figures["doubled"]) == (0, 0)


def tally(
    attempts: list[Attempt],
    ca: dict[str, tuple[str, str | None, str]],
    ours: dict[str, tuple[str, str | None, str]],
    mails: Counter[str],
) -> dict[str, int]:
    """Per attempt: lost when the CA and certsvc disagree on its certificate, doubled when
    the CA issued its key twice (or, for a drain, a mail arrived twice)."""
    per_key = Counter(key for _, _, key in ca.values())
    lost = doubled = 0
    for attempt in attempts:
        if attempt.key is not None:
            doubled += per_key[attempt.key] > 1
            at_ca = {s: v[:2] for s, v in ca.items() if v[2] == attempt.key}
            here = {s: v[:2] for s, v in ours.items() if v[2] == attempt.key}
            lost += at_ca != here
        if attempt.serial is not None:
            lost += ca.get(attempt.serial, ("",))[:2] != ours.get(attempt.serial, ("",))[:2]
        if attempt.op == "drain":
            doubled += any(count > 1 for count in mails.values())
    return {
        "attempts": len(attempts),
        "killed": sum(attempt.killed for attempt in attempts),
        "survived": len(attempts) - lost - doubled,
        "lost": lost,
        "doubled": doubled,
    }
