"""The bulk of the allowlist as flat arrays: about 135 bytes per certificate instead of 900.

A :class:`Base` is built once from one raw query and never changed afterwards, so the
event loop reads it without locks while the worker thread builds the next one. Rows are
kept in SHA-256 order (the export order): SHA-256 as four big-endian 64-bit columns
(the first is the sorted search key), SHA-1 and the serial as fixed-width byte rows with
a sorted 32-bit key and a row pointer each, times as integers, subjects in one UTF-8
blob (in load order, found by offset and length). A 32-bit key may collide; every
hit is confirmed against the full key.

Rows that do not fit this shape (a serial not in gateway form, fingerprints not in
lower-case hex) are left to the caller, which keeps
them as ordinary entries beside the base.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from certsvc.domain.fingerprints import format_serial

SERIAL_BYTES = 20
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MIX = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x27D4EB2F165667C5)
_ISSUER_MIX = 0xFF51AFD7ED558CCD
_MASK64 = (1 << 64) - 1
U64 = npt.NDArray[np.uint64]
U32 = npt.NDArray[np.uint32]


@dataclass(frozen=True)
class Record:
    """One row as the index hands it out (the caller turns it into its ``Entry``)."""

    serial: str
    sha1: str
    sha256: str
    issuer: str
    subject: str
    not_after: datetime
    invalid_from_us: int


@dataclass(frozen=True)
class Columns:
    """Rows to build a base from, column by column, already in gateway form."""

    serials: Sequence[str]
    sha1s: Sequence[str]
    sha256s: Sequence[str]
    issuers: Sequence[int]
    subjects: Sequence[str]
    not_after_us: Sequence[int]
    invalid_from_us: Sequence[int]


def serial_fits(serial: str) -> bool:
    """Whether ``format_serial(int(serial, 16))`` gives ``serial`` back, so 20 bytes keep it."""
    return (
        0 < len(serial) <= 2 * SERIAL_BYTES
        and len(serial) % 2 == 0
        and serial[:2] != "00"
        and serial.upper() == serial
    )


def _serial_hash(words: Sequence[int], issuer: int) -> int:
    mixed = (issuer * _ISSUER_MIX) & _MASK64
    for word, factor in zip(words, _MIX, strict=False):
        mixed ^= (word * factor) & _MASK64
    return (mixed >> 32) ^ (mixed & 0xFFFFFFFF)


def _serial_hashes(serials: npt.NDArray[np.uint8], issuers: npt.NDArray[np.uint16]) -> U32:
    """The vectorised twin of :func:`_serial_hash` (uint64 arithmetic wraps the same way)."""
    padded = np.zeros((len(serials), 32), dtype=np.uint8)
    padded[:, 32 - SERIAL_BYTES :] = serials
    words = padded.view(">u8").astype(np.uint64)
    mixed = issuers.astype(np.uint64) * np.uint64(_ISSUER_MIX)
    for column, factor in enumerate(_MIX):
        mixed ^= words[:, column] * np.uint64(factor)
    folded = (mixed >> np.uint64(32)) ^ (mixed & np.uint64(0xFFFFFFFF))
    return folded.astype(np.uint32)


def _words(key: bytes, count: int) -> list[int]:
    padded = key.rjust(8 * count, b"\0")
    return [int.from_bytes(padded[8 * i : 8 * i + 8], "big") for i in range(count)]


def _hex_matrix(texts: Sequence[str], width: int) -> npt.NDArray[np.uint8] | None:
    """``width``-byte rows from lower-case hex strings; None when any is not exactly that."""
    joined = "".join(texts)
    try:
        raw = bytes.fromhex(joined)
    except ValueError:
        return None
    if len(raw) != width * len(texts) or raw.hex() != joined:
        return None
    return np.frombuffer(raw, dtype=np.uint8).reshape(len(texts), width)


def _chunk_arrays(columns: Columns) -> dict[str, Any]:
    """One chunk of rows as arrays, so the strings of a million rows never coexist."""
    sha256 = _hex_matrix(columns.sha256s, 32)
    sha1 = _hex_matrix(columns.sha1s, 20)
    if sha256 is None or sha1 is None:
        raise ValueError("fingerprints must be lower-case hex of the right length")
    padded = "".join([serial.rjust(2 * SERIAL_BYTES, "0") for serial in columns.serials])
    encoded = [text.encode() for text in columns.subjects]
    return {
        "sha256": sha256,
        "sha1": sha1,
        "serial": np.frombuffer(bytes.fromhex(padded), dtype=np.uint8).reshape(-1, SERIAL_BYTES),
        "issuer": np.asarray(columns.issuers, dtype=np.uint16),
        "not_after": np.asarray(columns.not_after_us, dtype=np.int64),
        "invalid_from": np.asarray(columns.invalid_from_us, dtype=np.int64),
        "subjects": b"".join(encoded),
        "subject_len": np.asarray([len(text) for text in encoded], dtype=np.int64),
    }


def _joined(chunks: list[dict[str, Any]], name: str, empty: Any) -> Any:
    return np.concatenate([chunk[name] for chunk in chunks]) if chunks else empty


class Base:
    """An immutable, sorted snapshot of the allowlist's regular rows."""

    def __init__(self, parts: Iterable[Columns], issuers: Sequence[str]) -> None:
        chunks = [_chunk_arrays(columns) for columns in parts]
        sha256 = _joined(chunks, "sha256", np.zeros((0, 32), dtype=np.uint8))
        order = np.lexsort(sha256.view(">u8").T[::-1]) if len(sha256) else np.zeros(0, np.intp)
        words = sha256.view(">u8")[order].astype(np.uint64)
        del sha256
        self.h256: list[U64] = [np.ascontiguousarray(words[:, i]) for i in range(4)]
        del words
        self.sha1 = _joined(chunks, "sha1", np.zeros((0, 20), dtype=np.uint8))[order]
        self.serial = _joined(chunks, "serial", np.zeros((0, SERIAL_BYTES), np.uint8))[order]
        self.issuer = _joined(chunks, "issuer", np.zeros(0, np.uint16))[order]
        self.not_after = _joined(chunks, "not_after", np.zeros(0, np.int64))[order]
        self.invalid_from = _joined(chunks, "invalid_from", np.zeros(0, np.int64))[order]
        lengths = _joined(chunks, "subject_len", np.zeros(0, np.int64))
        blob = b"".join(chunk.pop("subjects") for chunk in chunks)
        chunks.clear()
        if len(blob) >= 1 << 32:
            raise ValueError("subjects over 4 GB")
        self.subjects = blob
        starts = np.cumsum(lengths) - lengths
        self.subject_start = starts[order].astype(np.uint32)
        self.subject_len = lengths[order].astype(np.uint16)
        prefixes = self.sha1[:, :4].copy().view(">u4")[:, 0].astype(np.uint32)
        self.sha1_key, self.sha1_row = _sorted_key(prefixes)
        self.serial_key, self.serial_row = _sorted_key(_serial_hashes(self.serial, self.issuer))
        self.issuers = list(issuers)

    def __len__(self) -> int:
        return len(self.invalid_from)

    @property
    def nbytes(self) -> int:
        """The memory the arrays hold (what the bench reports as the index's size)."""
        arrays: list[Any] = [*self.h256, self.sha1, self.serial, self.issuer, self.not_after]
        arrays += [self.invalid_from, self.sha1_key, self.sha1_row, self.serial_key]
        arrays += [self.serial_row, self.subject_start, self.subject_len]
        return sum(int(array.nbytes) for array in arrays) + len(self.subjects)

    # -- lookups: the row of a key, or -1 --------------------------------------------

    def row_of_sha256(self, key: bytes) -> int:
        words = _words(key, 4)
        first = self.h256[0]
        row = int(np.searchsorted(first, np.uint64(words[0])))
        while row < len(first) and int(first[row]) == words[0]:
            if all(int(self.h256[i][row]) == words[i] for i in (1, 2, 3)):
                return row
            row += 1
        return -1

    def row_of_sha1(self, key: bytes) -> int:
        prefix = int.from_bytes(key[:4], "big")
        return self._probe(self.sha1_key, self.sha1_row, prefix, self.sha1, key)

    def row_of_serial(self, serial: bytes, issuer: int) -> int:
        padded = serial.rjust(SERIAL_BYTES, b"\0")
        key = _serial_hash(_words(padded, 4), issuer)
        for row in self._rows(self.serial_key, self.serial_row, key):
            if self.serial[row].tobytes() == padded and int(self.issuer[row]) == issuer:
                return row
        return -1

    def _probe(self, keys: U32, rows: U32, prefix: int, data: Any, full: bytes) -> int:
        for row in self._rows(keys, rows, prefix):
            if data[row].tobytes() == full:
                return row
        return -1

    @staticmethod
    def _rows(keys: U32, rows: U32, prefix: int) -> Iterator[int]:
        at = int(np.searchsorted(keys, np.uint32(prefix)))
        while at < len(keys) and int(keys[at]) == prefix:
            yield int(rows[at])
            at += 1

    # -- reading rows back ---------------------------------------------------------------

    def sha256_hex(self, row: int) -> str:
        return b"".join(int(part[row]).to_bytes(8, "big") for part in self.h256).hex()

    def record(self, row: int) -> Record:
        start = int(self.subject_start[row])
        return Record(
            format_serial(int.from_bytes(self.serial[row].tobytes(), "big")),
            self.sha1[row].tobytes().hex(),
            self.sha256_hex(row),
            self.issuers[int(self.issuer[row])],
            self.subjects[start : start + int(self.subject_len[row])].decode(),
            _EPOCH + timedelta(microseconds=int(self.not_after[row])),
            int(self.invalid_from[row]),
        )

    def records(self, rows: npt.NDArray[np.intp]) -> Iterator[Record]:
        """Records of ``rows`` (ascending), converted a chunk at a time."""
        for row in rows.tolist():
            yield self.record(row)


def _sorted_key(keys: U32) -> tuple[U32, U32]:
    order = np.argsort(keys, kind="stable").astype(np.uint32)
    return np.ascontiguousarray(keys[order]), order
