"""Two nodes initialising one database at the same moment: one CA, no orphan keys.

Both nodes find no CA recorded and make their keys; the first to record wins. The loser
stops with the one-line "this database belongs to CA ..." error and removes every key
and the passphrase it made, so its home looks as if it had never tried (and copying the
winner's CA directory is all it needs).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ca_adapters.local.keys import FileKeyStore, SigningKey
from certsvc.app import Services
from certsvc.clock import FixedClock
from certsvc.errors import ConfigError
from tests.conftest import make_settings
from tests.integration.test_ca_custody import recorded_rows


def _initialise(services: Services) -> Callable[[], list[str] | ConfigError]:
    def run() -> list[str] | ConfigError:
        try:
            return services.adapter.ensure_ready()  # init's CA step, after migrating
        except ConfigError as exc:
            return exc

    return run


def test_the_node_that_loses_the_race_leaves_no_key_files_behind(
    tmp_path: Path, database_url: str, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
):
    homes = [tmp_path / "a", tmp_path / "b"]
    nodes = [Services(make_settings(home, database_url), clock) for home in homes]
    nodes[0].migrate()  # the schema exists before the race (init migrates first)
    both_made_keys = threading.Barrier(2, timeout=30)
    generate = FileKeyStore.generate

    def generate_together(store: FileKeyStore, ca_name: str, algorithm: str) -> SigningKey:
        key = generate(store, ca_name, algorithm)
        if ca_name == "issuing":  # both nodes hold a full CA before either records it
            both_made_keys.wait()
        return key

    monkeypatch.setattr(FileKeyStore, "generate", generate_together)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda run: run(), [_initialise(node) for node in nodes]))
    errors = [r for r in results if isinstance(r, ConfigError)]
    assert len(errors) == 1, results
    loser = results.index(errors[0])
    winner = 1 - loser
    assert str(errors[0]).startswith("this database belongs to CA ")
    assert "copy the CA directory" in str(errors[0])
    assert not list(homes[loser].rglob("*.key"))  # its keys removed
    assert not (homes[loser] / "ca" / "passphrase").exists()
    assert not list(homes[loser].rglob("*.pem"))
    assert sorted(p.name for p in (homes[winner] / "ca").iterdir()) == [
        "issuing.key",
        "issuing.pem",
        "passphrase",
        "root.key",
        "root.pem",
    ]
    rows = recorded_rows(nodes[winner])
    assert [name for name, _ in rows] == ["root", "issuing"]
    nodes[winner].open_ca()
    for node in nodes:
        node.close()


def test_a_failure_after_the_ca_is_recorded_keeps_its_keys(
    tmp_path: Path, database_url: str, clock: FixedClock
):
    """Recorded means the database's CA: its keys are never removed, whatever fails next."""
    home = tmp_path / "node"
    (home / "ca" / "issuing.pem").mkdir(parents=True)  # the certificate cannot be written
    node = Services(make_settings(home, database_url), clock)
    with pytest.raises(IsADirectoryError):
        node.initialise()
    assert [name for name, _ in recorded_rows(node)] == ["root", "issuing"]
    assert sorted(p.name for p in (home / "ca").glob("*.key")) == ["issuing.key", "root.key"]
    assert (home / "ca" / "passphrase").exists()
    node.close()
