"""The version 1 backup writer, as ``portal/backup.py`` had it at commit 17f7d48.

Kept only so the tests can make version 1 files (large, several chunks, and PostgreSQL
ones) and prove that today's ``portal restore`` still reads them. Do not change it: it
must stay byte-compatible with the backups operators made with that release.
"""

from __future__ import annotations

import base64
from typing import IO

import nacl.encoding
import nacl.hash
import nacl.secret
import nacl.utils

MAGIC = b"PORTALBK"
VERSION = 1
KIND_SQLITE = 1
KIND_PG_CUSTOM = 2
CHUNK_BYTES = 1024 * 1024


def new_key_text() -> str:
    """What ``portal backup-key`` wrote: 32 random bytes, base64 on one line."""
    return base64.b64encode(nacl.utils.random(32)).decode() + "\n"


def key_id(key: bytes) -> bytes:
    return nacl.hash.blake2b(
        b"", key=key, digest_size=8, person=b"portal-bk-keyid", encoder=nacl.encoding.RawEncoder
    )


def _file_box(key: bytes, header: bytes) -> nacl.secret.SecretBox:
    file_key = nacl.hash.blake2b(
        header, key=key, digest_size=32, person=b"portal-bk-file", encoder=nacl.encoding.RawEncoder
    )
    return nacl.secret.SecretBox(file_key)


def _nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(23, "big") + (b"\x01" if last else b"\x00")


def encrypt_stream(source: IO[bytes], out: IO[bytes], key: bytes, kind: int) -> None:
    header = MAGIC + bytes([VERSION, kind]) + key_id(key) + nacl.utils.random(16)
    box = _file_box(key, header)
    out.write(header)
    counter = 0
    chunk = source.read(CHUNK_BYTES)
    while True:
        following = source.read(CHUNK_BYTES)
        last = not following
        sealed = box.encrypt(chunk, _nonce(counter, last)).ciphertext
        out.write(len(sealed).to_bytes(4, "big") + sealed)
        if last:
            return
        counter += 1
        chunk = following
