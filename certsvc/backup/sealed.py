"""The encrypted container of a backup: scrypt-derived key, AES-256-GCM in 1 MiB chunks.

Chunks keep memory flat for a large database. Each chunk's nonce carries its index and
its associated data says whether it is the last, so a reordered, dropped or truncated
chunk fails authentication instead of restoring half an archive. The header (format,
salt, scrypt cost) is authenticated with every chunk.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from certsvc.errors import InputError

MAGIC = b"CERTSVC-BACKUP\x00\x01"
CHUNK = 1 << 20
SCRYPT_N, SCRYPT_R, SCRYPT_P = 1 << 15, 8, 1
_HEADER = struct.Struct(">16s16sIII8s")  # magic, salt, n, r, p, nonce prefix
_LENGTH = struct.Struct(">I")
MIN_PASSPHRASE = 12


def _key(passphrase: bytes, salt: bytes, n: int, r: int, p: int) -> AESGCM:
    if len(passphrase) < MIN_PASSPHRASE:
        raise InputError(f"the backup passphrase must have at least {MIN_PASSPHRASE} characters")
    return AESGCM(Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase))


def _nonce(prefix: bytes, index: int) -> bytes:
    return prefix + struct.pack(">I", index)


def seal(source: Path, target: BinaryIO, passphrase: bytes) -> None:
    """Encrypt the file ``source`` into ``target``."""
    salt, prefix = os.urandom(16), os.urandom(8)
    header = _HEADER.pack(MAGIC, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, prefix)
    aead = _key(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    target.write(header)
    with source.open("rb") as plain:
        chunk, index = plain.read(CHUNK), 0
        while True:
            following = plain.read(CHUNK)
            final = not following
            sealed = aead.encrypt(_nonce(prefix, index), chunk, header + bytes([final]))
            target.write(_LENGTH.pack(len(sealed)) + sealed)
            if final:
                return
            chunk, index = following, index + 1


def unseal(source: BinaryIO, target: BinaryIO, passphrase: bytes) -> None:
    """Decrypt a sealed backup into ``target``; a wrong passphrase or a damaged file is an
    ``InputError`` (the caller discards whatever was written)."""
    header = source.read(_HEADER.size)
    if len(header) != _HEADER.size or not header.startswith(MAGIC):
        raise InputError("not a certsvc backup (unknown format)")
    _, salt, n, r, p, prefix = _HEADER.unpack(header)
    aead = _key(passphrase, salt, n, r, p)
    for index, (sealed, final) in enumerate(_chunks(source)):
        try:
            target.write(aead.decrypt(_nonce(prefix, index), sealed, header + bytes([final])))
        except InvalidTag as exc:
            raise InputError("cannot decrypt the backup: wrong passphrase or damaged file") from exc


def _chunks(source: BinaryIO) -> Iterator[tuple[bytes, bool]]:
    """Each sealed chunk with whether it is the file's last; a file cut short is refused."""
    current = _read_chunk(source)
    if current is None:
        raise InputError("the backup is truncated (no data)")
    while True:
        following = _read_chunk(source)
        yield current, following is None
        if following is None:
            return
        current = following


def _read_chunk(source: BinaryIO) -> bytes | None:
    length = source.read(_LENGTH.size)
    if not length:
        return None
    if len(length) != _LENGTH.size:
        raise InputError("the backup is truncated")
    (size,) = _LENGTH.unpack(length)
    sealed = source.read(size)
    if len(sealed) != size:
        raise InputError("the backup is truncated")
    return sealed
