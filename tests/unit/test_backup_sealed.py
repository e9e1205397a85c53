"""The sealed backup container: chunks authenticated in order, the end authenticated too."""

from __future__ import annotations

import io
import struct

import pytest

from certsvc.backup import sealed
from certsvc.errors import InputError

PASSPHRASE = b"a long enough passphrase"


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(sealed, "CHUNK", 64)
    monkeypatch.setattr(sealed, "SCRYPT_N", 1 << 10)  # keeps the test fast; format unchanged


def seal_bytes(tmp_path, data: bytes) -> bytes:
    plain = tmp_path / "plain"
    plain.write_bytes(data)
    out = io.BytesIO()
    sealed.seal(plain, out, PASSPHRASE)
    return out.getvalue()


def chunks_of(blob: bytes) -> tuple[bytes, list[bytes]]:
    header, rest, chunks = blob[: sealed._HEADER.size], blob[sealed._HEADER.size :], []
    while rest:
        (size,) = struct.unpack(">I", rest[:4])
        chunks.append(rest[: 4 + size])
        rest = rest[4 + size :]
    return header, chunks


def unseal_bytes(blob: bytes, passphrase: bytes = PASSPHRASE) -> bytes:
    out = io.BytesIO()
    sealed.unseal(io.BytesIO(blob), out, passphrase)
    return out.getvalue()


@pytest.mark.usefixtures("small_chunks")
def test_many_chunks_round_trip(tmp_path):
    data = bytes(range(256)) * 3
    blob = seal_bytes(tmp_path, data)
    assert len(chunks_of(blob)[1]) == 12
    assert unseal_bytes(blob) == data


@pytest.mark.usefixtures("small_chunks")
def test_swapped_or_dropped_chunks_are_refused(tmp_path):
    header, chunks = chunks_of(seal_bytes(tmp_path, b"x" * 200))
    swapped = header + chunks[1] + chunks[0] + b"".join(chunks[2:])
    dropped_last = header + b"".join(chunks[:-1])  # cut exactly at a chunk boundary
    for blob in (swapped, dropped_last):
        with pytest.raises(InputError, match="wrong passphrase or damaged"):
            unseal_bytes(blob)


@pytest.mark.usefixtures("small_chunks")
def test_wrong_passphrase_and_empty_file(tmp_path):
    blob = seal_bytes(tmp_path, b"")
    assert unseal_bytes(blob) == b""
    with pytest.raises(InputError, match="wrong passphrase"):
        unseal_bytes(blob, b"another long passphrase")
    with pytest.raises(InputError, match="no data"):
        unseal_bytes(blob[: sealed._HEADER.size])
