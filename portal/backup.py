"""Encrypted backups: ``portal backup FILE``, ``portal restore FILE``, ``portal backup-key``.

SQLite is copied with the online backup API (``sqlite3.Connection.backup``) into a
private temporary file, so a running portal keeps writing meanwhile and the copy is one
consistent snapshot. PostgreSQL is dumped with ``pg_dump --format=custom`` (one
consistent snapshot too) and restored with ``pg_restore``.

File format, version 1 (all integers big-endian)::

    magic    8 bytes  b"PORTALBK"
    version  1 byte   1
    kind     1 byte   1 = SQLite database file, 2 = pg_dump custom archive
    key id   8 bytes  BLAKE2b of the backup key (tells a wrong key from a damaged file)
    salt    16 bytes  random per file
    chunks:  length (4 bytes) + XSalsa20-Poly1305 (SecretBox) of at most 1 MiB

Each file is sealed under its own key, BLAKE2b(backup key, header), so a changed header
fails to decrypt. A chunk's nonce is its number and a final-chunk flag, so dropping,
reordering or truncating chunks fails too.

Threat (confidentiality): a backup holds everything the database holds (sealed notes
stay sealed, but accounts, bookings and pseudonyms are plain), so it never leaves the
host unencrypted; the plaintext exists only in a 0700 temporary directory or a pipe.
"""

from __future__ import annotations

import base64
import binascii
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO
from urllib.parse import unquote, urlsplit, urlunsplit

import nacl.encoding
import nacl.exceptions
import nacl.hash
import nacl.secret
import nacl.utils

from portal.storage.database import sqlite_path

MAGIC = b"PORTALBK"
VERSION = 1
KIND_SQLITE = 1
KIND_PG_CUSTOM = 2
KIND_NAMES = {KIND_SQLITE: "SQLite", KIND_PG_CUSTOM: "PostgreSQL"}
KEY_BYTES = nacl.secret.SecretBox.KEY_SIZE  # 32
HEADER_BYTES = len(MAGIC) + 1 + 1 + 8 + 16
CHUNK_BYTES = 1024 * 1024
_MAX_SEALED = CHUNK_BYTES + nacl.secret.SecretBox.MACBYTES


class BackupError(Exception):
    """Something an operator must fix; the message says what (never a traceback)."""


# --- keys ---------------------------------------------------------------------------


def generate_key_file(path: str) -> None:
    """A new random key, base64 on one line, in a file only its owner can read."""
    key = nacl.utils.random(KEY_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise BackupError(f"{path} exists; a backup key is never overwritten") from None
    except OSError as exc:
        raise BackupError(f"cannot create {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(base64.b64encode(key).decode() + "\n")


def read_key_file(path: str) -> bytes:
    """32 bytes from a key file: base64 (as ``backup-key`` writes it) or raw."""
    if not path:
        raise BackupError("no backup key: give --key-file FILE or set PORTAL_BACKUP_KEY_FILE")
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise BackupError(f"cannot read the backup key file {path}: {exc.strerror}") from None
    if len(data) == KEY_BYTES:
        return data
    try:
        key = base64.b64decode(data.strip(), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise BackupError(
            f"{path} is not a backup key (32 bytes, raw or base64; make one with "
            "`portal backup-key FILE`)"
        )
    return key


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


# --- the encrypted stream -------------------------------------------------------------


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


def read_header(handle: IO[bytes], key: bytes) -> tuple[int, bytes]:
    """The kind of backup and its header, after checking magic, version and key id."""
    header = handle.read(HEADER_BYTES)
    if len(header) < HEADER_BYTES or not header.startswith(MAGIC):
        raise BackupError("this is not a portal backup file")
    version, kind = header[8], header[9]
    if version != VERSION:
        raise BackupError(f"backup format version {version} is not supported by this portal")
    if kind not in KIND_NAMES:
        raise BackupError("this backup file is damaged (unknown database kind)")
    if header[10:18] != key_id(key):
        raise BackupError(
            "wrong backup key: this file was made with the key whose id is "
            f"{header[10:18].hex()}, the key given has id {key_id(key).hex()}"
        )
    return kind, header


def decrypt_chunks(handle: IO[bytes], key: bytes, header: bytes) -> Iterator[bytes]:
    box = _file_box(key, header)
    counter = 0
    while True:
        length_bytes = handle.read(4)
        if len(length_bytes) < 4:
            raise BackupError("this backup file is truncated")
        length = int.from_bytes(length_bytes, "big")
        if length > _MAX_SEALED:
            raise BackupError("this backup file is damaged")
        sealed = handle.read(length)
        if len(sealed) < length:
            raise BackupError("this backup file is truncated")
        for last in (False, True):
            try:
                plain = box.decrypt(sealed, _nonce(counter, last))
            except nacl.exceptions.CryptoError:
                continue
            yield plain
            if last:
                if handle.read(1):
                    raise BackupError("this backup file has data after its end (damaged)")
                return
            break
        else:
            raise BackupError("this backup file is damaged or was changed")
        counter += 1


def _write_atomically(path: str, write: Callable[[IO[bytes]], None]) -> None:
    """Write to ``path.partial`` (mode 600), then rename: never a half-written backup."""
    partial = path + ".partial"
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        raise BackupError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


# --- PostgreSQL connection details ----------------------------------------------------


def _is_postgres(url: str) -> bool:
    return url.split("://", 1)[0].split("+")[0] in {"postgresql", "postgres"}


def pg_target(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URL without the password, and an environment carrying it (PGPASSWORD),
    so the password never shows in the process list."""
    parts = urlsplit("postgresql://" + url.split("://", 1)[1])
    env = dict(os.environ)
    netloc = parts.netloc
    if parts.password is not None:
        env["PGPASSWORD"] = unquote(parts.password)
        userinfo, host = netloc.rsplit("@", 1)
        netloc = userinfo.split(":", 1)[0] + "@" + host
    return urlunsplit(parts._replace(netloc=netloc)), env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return path


# --- backup -------------------------------------------------------------------------


def backup(database_url: str, out_path: str, key: bytes) -> str:
    """Write an encrypted backup of the database to ``out_path``; its kind's name."""
    if database_url.startswith("sqlite:"):
        _backup_sqlite(sqlite_path(database_url), out_path, key)
        return KIND_NAMES[KIND_SQLITE]
    if _is_postgres(database_url):
        _backup_postgres(database_url, out_path, key)
        return KIND_NAMES[KIND_PG_CUSTOM]
    raise BackupError("PORTAL_DATABASE_URL must start with sqlite:/// or postgresql://")


def _backup_sqlite(path: str, out_path: str, key: bytes) -> None:
    if not Path(path).is_file():
        raise BackupError(f"there is no SQLite database at {path}")
    with tempfile.TemporaryDirectory(prefix="portal-backup-") as private:  # mode 0700
        copy = os.path.join(private, "copy.sqlite3")
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        target = sqlite3.connect(copy)
        try:
            source.execute("PRAGMA busy_timeout = 10000")
            source.backup(target)  # one step: a consistent snapshot while writers go on
            target.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        except sqlite3.Error as exc:
            raise BackupError(f"SQLite backup failed: {exc}") from None
        finally:
            target.close()
            source.close()
        with open(copy, "rb") as plain:
            _write_atomically(out_path, lambda out: encrypt_stream(plain, out, key, KIND_SQLITE))


def _backup_postgres(url: str, out_path: str, key: bytes) -> None:
    target, env = pg_target(url)
    command = [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", target]
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, env=env)  # noqa: S603
        if process.stdout is None:  # cannot happen with PIPE; a named error all the same
            raise BackupError("pg_dump gave no output stream")
        try:
            _write_atomically(out_path, lambda out: _encrypt_checked(process, out, key, errors))
        finally:
            process.stdout.close()
            if process.poll() is None:
                process.kill()
                process.wait()


def _encrypt_checked(
    process: subprocess.Popen[bytes], out: IO[bytes], key: bytes, errors: IO[bytes]
) -> None:
    if process.stdout is None:
        raise BackupError("pg_dump gave no output stream")
    encrypt_stream(process.stdout, out, key, KIND_PG_CUSTOM)
    if process.wait() != 0:
        errors.seek(0)
        message = errors.read().decode(errors="replace").strip()
        raise BackupError(f"pg_dump failed: {message}")


# --- restore ------------------------------------------------------------------------


def restore(database_url: str, in_path: str, key: bytes, *, force: bool = False) -> str:
    """Restore an encrypted backup into the database; its kind's name.

    The target must be empty (no tables) unless ``force``; the portal must not be
    running against it.
    """
    try:
        handle = open(in_path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise BackupError(f"cannot read {in_path}: {exc.strerror}") from None
    with handle:
        kind, header = read_header(handle, key)
        wanted = KIND_SQLITE if database_url.startswith("sqlite:") else KIND_PG_CUSTOM
        if not database_url.startswith("sqlite:") and not _is_postgres(database_url):
            raise BackupError("PORTAL_DATABASE_URL must start with sqlite:/// or postgresql://")
        if kind != wanted:
            raise BackupError(
                f"this is a {KIND_NAMES[kind]} backup; PORTAL_DATABASE_URL names a "
                f"{KIND_NAMES[wanted]} database"
            )
        chunks = decrypt_chunks(handle, key, header)
        if kind == KIND_SQLITE:
            _restore_sqlite(sqlite_path(database_url), chunks, force)
        else:
            _restore_postgres(database_url, chunks, force)
    return KIND_NAMES[kind]


def _sqlite_tables(conn: sqlite3.Connection) -> int:
    count: int = conn.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ).fetchone()[0]
    return count


def _restore_sqlite(path: str, chunks: Iterator[bytes], force: bool) -> None:
    target_dir = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(target_dir):
        raise BackupError(f"the directory {target_dir} does not exist")
    if os.path.exists(path) and not force:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = _sqlite_tables(conn)
        except sqlite3.DatabaseError:
            raise BackupError(f"{path} is not an empty SQLite database; use --force") from None
        finally:
            conn.close()
        if tables:
            raise BackupError(
                f"the database {path} is not empty ({tables} tables); restore only into a "
                "fresh database, or give --force to replace its contents"
            )
    with tempfile.TemporaryDirectory(prefix="portal-restore-", dir=target_dir) as private:
        copy = os.path.join(private, "restored.sqlite3")
        fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as plain:
            for chunk in chunks:  # every chunk is authenticated before it is written
                plain.write(chunk)
        source = sqlite3.connect(copy)
        try:
            if source.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError("the restored SQLite database fails its integrity check")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
            os.close(fd)
            target = sqlite3.connect(path)
            try:
                target.execute("PRAGMA busy_timeout = 10000")
                source.backup(target)
            finally:
                target.close()
        except sqlite3.Error as exc:
            raise BackupError(f"SQLite restore failed: {exc}") from None
        finally:
            source.close()


def _restore_postgres(url: str, chunks: Iterator[bytes], force: bool) -> None:
    import psycopg

    from portal.storage.database import sqlalchemy_url

    try:
        with psycopg.connect(
            sqlalchemy_url(url).replace("postgresql+psycopg://", "postgresql://", 1)
        ) as conn:
            tables = conn.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
            ).fetchone()
    except psycopg.Error as exc:
        raise BackupError(f"cannot connect to the target database: {exc}") from None
    count = tables[0] if tables else 0
    if count and not force:
        raise BackupError(
            f"the target database is not empty ({count} tables); restore only into a fresh "
            "database, or give --force to replace its contents"
        )
    target, env = pg_target(url)
    command = [
        _tool("pg_restore"),
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",
        *(["--clean", "--if-exists"] if count else []),
        f"--dbname={target}",
    ]
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=errors, env=env)  # noqa: S603
        if process.stdin is None:
            raise BackupError("pg_restore gave no input stream")
        try:
            try:
                for chunk in chunks:
                    process.stdin.write(chunk)
            except BrokenPipeError:
                pass
            finally:
                process.stdin.close()
        except BaseException:
            process.kill()
            process.wait()
            raise
        if process.wait() != 0:
            errors.seek(0)
            message = errors.read().decode(errors="replace").strip()
            raise BackupError(f"pg_restore failed: {message}")
