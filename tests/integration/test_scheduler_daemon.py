"""``certsvc scheduler`` as a real process: it runs the nightly job at start-up, stops on
SIGTERM and lets go of the leader lock."""

import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from certsvc.storage.models import JobRun
from scheduler.leader import FileLeaderLock


def test_scheduler_process_runs_at_start_and_stops_on_sigterm(services, tmp_path):
    if services.engine.dialect.name != "sqlite":
        pytest.skip("the file lock is SQLite's; PostgreSQL's lock is tested in-process")
    config = tmp_path / "certsvc.toml"
    config.write_text(
        f'home = "{services.settings.home}"\n'
        f'[database]\nurl = "{services.settings.database_url}"\n'
        "[maintenance]\nenabled = false\n"
        '[logging]\nformat = "json"\n'
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "certsvc", "--config", str(config), "scheduler"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        done = 0
        while time.monotonic() < deadline and not done:  # bounded wait for the process
            with services.sessions() as session:
                done = session.scalar(select(func.count(JobRun.id))) or 0
            if not done:
                time.sleep(0.1)
        assert done == 1
        lock = FileLeaderLock(
            __import__("pathlib").Path(f"{services.engine.url.database}.scheduler.lock")
        )
        assert not lock.acquire()  # the daemon leads
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
        assert process.returncode == 0
        assert '"event": "nightly.run"' in stderr
        assert lock.acquire()  # released on exit
        lock.release()
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
