"""A crash at any point of the first ``certsvc init`` leaves what a second ``init`` completes.

A kill -9 runs no clean-up, so each crash here raises out of one step of the first run
with the key store's clean-up (``undo``) disabled: the files and rows that step's
predecessors wrote stay exactly as a kill leaves them. The second ``init`` must then end
with a CA that the database records, whose key files open and whose certificates are on
disk, and ``ca check`` passing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ca_adapters.local import identity
from ca_adapters.local.adapter import LocalCA
from ca_adapters.local.keys import FileKeyStore
from certsvc.clock import FixedClock
from tests.integration.test_offline_root import run
from tests.integration.test_serve import write_config


class Killed(BaseException):
    """Stands for a kill -9: nothing catches it, nothing is cleaned up after it."""


def _kill(*_args: object, **_kwargs: object) -> None:
    raise Killed


def _after(original: Callable[..., object]) -> Callable[..., object]:
    def step(*args: object, **kwargs: object) -> object:
        original(*args, **kwargs)
        raise Killed

    return step


CRASHES: dict[str, tuple[type, str, Callable[[Callable[..., object]], Callable[..., object]]]] = {
    "migrated, no CA yet": (LocalCA, "ensure_ready", lambda _original: _kill),
    "passphrase file, no keys": (LocalCA, "_make_root", lambda _original: _kill),
    "root key file, no certificate": (LocalCA, "_make_issuing", lambda _original: _kill),
    "both key files, nothing recorded": (identity.RecordedChain, "record", lambda _o: _kill),
    "recorded, certificates not on disk": (identity.RecordedChain, "record", _after),
}


@pytest.mark.parametrize("crash", list(CRASHES))
def test_second_init_completes_after_a_crash(
    crash: str,
    tmp_path: Path,
    database_url: str,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = write_config(tmp_path, database_url)
    owner, attribute, hook = CRASHES[crash]
    with monkeypatch.context() as patched:
        patched.setattr(FileKeyStore, "undo", lambda _self: None)  # a kill cleans nothing up
        patched.setattr(owner, attribute, hook(getattr(owner, attribute)))
        with pytest.raises(Killed):
            run(config, clock, "init")

    code, output = run(config, clock, "init")
    assert code == 0, output
    ca = tmp_path / "ca"
    root = x509.load_pem_x509_certificate((ca / "root.pem").read_bytes())
    issuing = x509.load_pem_x509_certificate((ca / "issuing.pem").read_bytes())
    issuing.verify_directly_issued_by(root)
    code, output = run(config, clock, "ca", "check")
    assert code == 0, output
    code, again = run(config, clock, "init")
    assert code == 0, again
    assert (ca / "root.pem").read_bytes() == root.public_bytes(serialization.Encoding.PEM)
