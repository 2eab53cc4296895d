"""Encrypted backups: ``portal backup FILE``, ``portal restore FILE``, ``portal backup-keygen``.

SQLite is copied with the online backup API (``sqlite3.Connection.backup``) into a
private temporary file, so a running portal keeps writing meanwhile and the copy is one
consistent snapshot. PostgreSQL is dumped with ``pg_dump --format=custom`` (one
consistent snapshot too) and restored with ``pg_restore``.

Backups are written in format version 2 (docs/crypto.md, "Backup file v2"): the data in
libsodium's crypto_secretstream_xchacha20poly1305 under a random key for that file, and
that key sealed (crypto_box_seal) to each recipient's X25519 public key. The server
needs only the public keys to write a backup; the private key (the "identity") that
opens one is kept offline and given to ``portal restore --identity`` only when needed.

Threat (confidentiality): a backup holds everything the database holds (sealed notes
stay sealed, but accounts, bookings and pseudonyms are plain), so it never leaves the
host unencrypted; the plaintext exists only in a 0700 temporary directory or a pipe.
Threat (a server break-in): someone who takes over the server reads its live database
anyway, but with public-key recipients the backups already copied off the host (which
may hold consultations purged since) stay closed to them: no key on the server opens
them.

Version 1 files (a chunked SecretBox stream under a symmetric key file) are still read,
so backups made before version 2 restore; nothing writes them any more.
"""

from __future__ import annotations

import base64
import binascii
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import unquote, urlsplit, urlunsplit

import nacl.bindings
import nacl.encoding
import nacl.exceptions
import nacl.hash
import nacl.public
import nacl.secret

from portal.crypto.envelopes import is_usable_public_key
from portal.storage.database import sqlite_path

MAGIC = b"PORTALBK"
KIND_SQLITE = 1
KIND_PG_CUSTOM = 2
KIND_NAMES = {KIND_SQLITE: "SQLite", KIND_PG_CUSTOM: "PostgreSQL"}

# Version 2 (written): docs/crypto.md, "Backup file v2".
VERSION = 2
CHUNK_BYTES = 64 * 1024  # plaintext per secretstream message; only the last is shorter
MAX_RECIPIENTS = 16
RECIPIENT_ID_BYTES = 8
KEY_BYTES = 32
_ABYTES = nacl.bindings.crypto_secretstream_xchacha20poly1305_ABYTES  # 17
_STREAM_HEADER_BYTES = nacl.bindings.crypto_secretstream_xchacha20poly1305_HEADERBYTES  # 24
_TAG_MESSAGE = nacl.bindings.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
_TAG_FINAL = nacl.bindings.crypto_secretstream_xchacha20poly1305_TAG_FINAL
_SEALED_KEY_BYTES = KEY_BYTES + nacl.bindings.crypto_box_SEALBYTES  # 32 + 48
_ENTRY_BYTES = RECIPIENT_ID_BYTES + _SEALED_KEY_BYTES  # 88
_SEALED_CHUNK = CHUNK_BYTES + _ABYTES
# The text forms of the two keys differ, so neither can be put where the other belongs.
PUBLIC_PREFIX = "portal-backup-public-key-1:"
PRIVATE_PREFIX = "portal-backup-private-key-1:"

# Version 1 (read only): a chunked SecretBox stream under a symmetric key file.
VERSION_1 = 1
V1_HEADER_BYTES = len(MAGIC) + 1 + 1 + 8 + 16
_V1_MAX_SEALED = 1024 * 1024 + nacl.secret.SecretBox.MACBYTES


class BackupError(Exception):
    """Something an operator must fix; the message says what (never a traceback)."""


# --- version 2 keys: recipients (public, on the server) and identities (offline) ------


def recipient_id(public_key: bytes) -> bytes:
    """8 bytes naming a recipient in a file's header and in messages (not secret)."""
    return nacl.hash.blake2b(
        public_key,
        digest_size=RECIPIENT_ID_BYTES,
        person=b"portal-bk-rcpt",
        encoder=nacl.encoding.RawEncoder,
    )


def recipient_text(public_key: bytes) -> str:
    return PUBLIC_PREFIX + base64.b64encode(public_key).decode()


def generate_identity_file(path: str) -> bytes:
    """A new X25519 key pair: the private key in a new file only its owner can read (for
    offline keeping); returns the public key, which goes into the server's settings."""
    private = nacl.public.PrivateKey.generate()
    public = bytes(private.public_key)
    text = (
        "# Portal backup identity: the private key that opens version 2 backups.\n"
        "# Keep it offline, never on the portal's server: with it, any backup is readable.\n"
        f"# Public key (PORTAL_BACKUP_RECIPIENTS): {recipient_text(public)}\n"
        f"# Key id: {recipient_id(public).hex()}\n"
        f"{PRIVATE_PREFIX}{base64.b64encode(bytes(private)).decode()}\n"
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise BackupError(f"{path} exists; a backup key is never overwritten") from None
    except OSError as exc:
        raise BackupError(f"cannot create {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(text)
    return public


def _decode_key(text: str) -> bytes | None:
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return key if len(key) == KEY_BYTES else None


def parse_recipients(text: str) -> list[bytes]:
    """The public keys in a comma-separated list (``PORTAL_BACKUP_RECIPIENTS``).

    Threat: a private key or a version 1 symmetric key pasted here would be a secret on
    the server (and in its environment), and a symmetric key taken for a public key would
    make backups nobody can open. Both are refused, by position, never echoed.
    """
    keys: list[bytes] = []
    for number, item in enumerate((part.strip() for part in text.split(",")), start=1):
        if not item:
            continue
        if item.startswith(PRIVATE_PREFIX):
            raise BackupError(
                f"backup recipient {number} is a private key: put only the public key "
                "(printed by `portal backup-keygen`) on the server, and take the private "
                "key off it"
            )
        key = _decode_key(item.removeprefix(PUBLIC_PREFIX))
        if not item.startswith(PUBLIC_PREFIX) or key is None:
            raise BackupError(
                f"backup recipient {number} is not a backup public key (one starts with "
                f"{PUBLIC_PREFIX}; make a key pair with `portal backup-keygen FILE`)"
            )
        if not is_usable_public_key(key):
            raise BackupError(f"backup recipient {number} is not a usable public key")
        if key not in keys:
            keys.append(key)
    if len(keys) > MAX_RECIPIENTS:
        raise BackupError(f"at most {MAX_RECIPIENTS} backup recipients")
    return keys


def read_identity_file(path: str) -> nacl.public.PrivateKey:
    """The private key in a file written by ``portal backup-keygen``."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise BackupError(f"cannot read the identity file {path}: {exc.strerror}") from None
    lines = [
        line.strip()
        for line in data.decode("utf-8", errors="replace").splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    keys = [_decode_key(line.removeprefix(PRIVATE_PREFIX)) for line in lines]
    if len(lines) == 1 and lines[0].startswith(PRIVATE_PREFIX) and keys[0] is not None:
        return nacl.public.PrivateKey(keys[0])
    if any(line.startswith(PUBLIC_PREFIX) for line in lines):
        raise BackupError(
            f"{path} holds a public key; restoring needs the private key file that "
            "`portal backup-keygen` wrote"
        )
    if len(data) == KEY_BYTES or (len(lines) == 1 and keys[0] is not None):
        raise BackupError(
            f"{path} is a version 1 backup key, not an identity: version 2 backups open "
            "with the private key file from `portal backup-keygen` (give a version 1 "
            "key with --key-file)"
        )
    raise BackupError(
        f"{path} is not a backup identity (make a key pair with `portal backup-keygen FILE`)"
    )


# --- version 1 keys (restoring old backups only) --------------------------------------


def read_key_file(path: str) -> bytes:
    """32 bytes from a version 1 key file: base64 (as ``backup-key`` wrote it) or raw."""
    if not path:
        raise BackupError(
            "this is a version 1 backup: give its backup key with --key-file FILE or "
            "PORTAL_BACKUP_KEY_FILE"
        )
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise BackupError(f"cannot read the backup key file {path}: {exc.strerror}") from None
    if len(data) == KEY_BYTES:
        return data
    key = _decode_key(data.strip().decode("ascii", errors="replace"))
    if key is None:
        raise BackupError(
            f"{path} is not a version 1 backup key (32 bytes, raw or base64, as the "
            "former `portal backup-key` wrote it)"
        )
    return key


def key_id(key: bytes) -> bytes:
    return nacl.hash.blake2b(
        b"", key=key, digest_size=8, person=b"portal-bk-keyid", encoder=nacl.encoding.RawEncoder
    )


# --- writing (version 2) --------------------------------------------------------------


def _read_full(source: IO[bytes], size: int) -> bytes:
    """``size`` bytes, fewer only at the end: a pipe may return less per read."""
    parts: list[bytes] = []
    remaining = size
    while remaining:
        part = source.read(remaining)
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


def encrypt_stream(
    source: IO[bytes], out: IO[bytes], recipients: Sequence[bytes], kind: int
) -> None:
    """Write ``source`` as a version 2 backup that any one of ``recipients`` can open."""
    if not 1 <= len(recipients) <= MAX_RECIPIENTS:
        raise BackupError(f"a backup needs 1 to {MAX_RECIPIENTS} recipients")
    if kind not in KIND_NAMES:
        raise BackupError(f"unknown kind of backup: {kind}")
    stream_key = nacl.bindings.crypto_secretstream_xchacha20poly1305_keygen()
    state = nacl.bindings.crypto_secretstream_xchacha20poly1305_state()
    stream_header = nacl.bindings.crypto_secretstream_xchacha20poly1305_init_push(state, stream_key)
    entries = b"".join(
        recipient_id(public)
        + nacl.public.SealedBox(nacl.public.PublicKey(public)).encrypt(stream_key)
        for public in recipients
    )
    header = MAGIC + bytes([VERSION, kind, len(recipients)]) + entries + stream_header
    out.write(header)
    # The whole header is the first message's additional data: a changed kind, recipient
    # entry or stream header fails to authenticate, whichever recipient opens the file.
    ad: bytes | None = header
    chunk = _read_full(source, CHUNK_BYTES)
    while True:
        following = _read_full(source, CHUNK_BYTES) if len(chunk) == CHUNK_BYTES else b""
        last = not following
        out.write(
            nacl.bindings.crypto_secretstream_xchacha20poly1305_push(
                state, chunk, ad, _TAG_FINAL if last else _TAG_MESSAGE
            )
        )
        if last:
            return
        ad = None
        chunk = following


# --- reading (versions 1 and 2) -------------------------------------------------------


@dataclass(frozen=True)
class _Opened:
    """A backup whose header checked out and whose key was found."""

    version: int
    kind: int
    # Each call reads the file again from just after the header, authenticating as it
    # goes: once to check the whole file, once more to restore it.
    chunks: Callable[[], Iterator[bytes]]


def _open(handle: IO[bytes], identity_file: str, key_file: str) -> _Opened:
    start = handle.read(len(MAGIC) + 1)
    if len(start) < len(MAGIC) + 1 or not start.startswith(MAGIC):
        raise BackupError("this is not a portal backup file")
    version = start[len(MAGIC)]
    if version == VERSION:
        return _open_v2(handle, start, identity_file)
    if version == VERSION_1:
        return _open_v1(handle, start, key_file)
    raise BackupError(f"backup format version {version} is not supported by this portal")


def _open_v2(handle: IO[bytes], start: bytes, identity_file: str) -> _Opened:
    counts = handle.read(2)
    if len(counts) < 2:
        raise BackupError("this backup file is truncated")
    kind, count = counts
    if kind not in KIND_NAMES or not 1 <= count <= MAX_RECIPIENTS:
        raise BackupError("this backup file is damaged (its header is not valid)")
    rest = handle.read(count * _ENTRY_BYTES + _STREAM_HEADER_BYTES)
    if len(rest) < count * _ENTRY_BYTES + _STREAM_HEADER_BYTES:
        raise BackupError("this backup file is truncated")
    header = start + counts + rest
    if not identity_file:
        raise BackupError(
            "this is a version 2 backup: give the private key it was made for with --identity FILE"
        )
    identity = read_identity_file(identity_file)
    mine = recipient_id(bytes(identity.public_key))
    entries = [rest[i * _ENTRY_BYTES : (i + 1) * _ENTRY_BYTES] for i in range(count)]
    ids = [entry[:RECIPIENT_ID_BYTES] for entry in entries]
    if mine not in ids:
        raise BackupError(
            "wrong identity: this file opens with the key id "
            f"{' or '.join(i.hex() for i in ids)}, the identity given has key id {mine.hex()}"
        )
    sealed_key = entries[ids.index(mine)][RECIPIENT_ID_BYTES:]
    try:
        stream_key = nacl.public.SealedBox(identity).decrypt(sealed_key)
    except nacl.exceptions.CryptoError:
        raise BackupError("this backup file is damaged or was changed") from None
    stream_header = rest[count * _ENTRY_BYTES :]
    body = handle.tell()

    def chunks() -> Iterator[bytes]:
        handle.seek(body)
        return _v2_chunks(handle, stream_key, stream_header, header)

    return _Opened(VERSION, kind, chunks)


def _v2_chunks(
    handle: IO[bytes], stream_key: bytes, stream_header: bytes, header: bytes
) -> Iterator[bytes]:
    state = nacl.bindings.crypto_secretstream_xchacha20poly1305_state()
    try:
        nacl.bindings.crypto_secretstream_xchacha20poly1305_init_pull(
            state, stream_header, stream_key
        )
    except nacl.exceptions.CryptoError:
        raise BackupError("this backup file is damaged or was changed") from None
    ad: bytes | None = header
    while True:
        sealed = handle.read(_SEALED_CHUNK)
        if not sealed:
            # Threat: a file cut at a message boundary authenticates message by message;
            # only the missing final tag shows that its end is gone.
            raise BackupError("this backup file is truncated (its end is missing)")
        try:
            plain, tag = nacl.bindings.crypto_secretstream_xchacha20poly1305_pull(state, sealed, ad)
        except nacl.exceptions.CryptoError:
            raise BackupError("this backup file is damaged, truncated or was changed") from None
        ad = None
        if tag == _TAG_FINAL:
            if handle.read(1):
                raise BackupError("this backup file has data after its end (damaged)")
            yield plain
            return
        if tag != _TAG_MESSAGE or len(sealed) != _SEALED_CHUNK:  # only the last is short
            raise BackupError("this backup file is damaged or was changed")
        yield plain


def _open_v1(handle: IO[bytes], start: bytes, key_file: str) -> _Opened:
    header = start + handle.read(V1_HEADER_BYTES - len(start))
    if len(header) < V1_HEADER_BYTES:
        raise BackupError("this backup file is truncated")
    kind = header[9]
    if kind not in KIND_NAMES:
        raise BackupError("this backup file is damaged (unknown database kind)")
    key = read_key_file(key_file)
    if header[10:18] != key_id(key):
        raise BackupError(
            "wrong backup key: this file was made with the key whose id is "
            f"{header[10:18].hex()}, the key given has id {key_id(key).hex()}"
        )
    body = handle.tell()

    def chunks() -> Iterator[bytes]:
        handle.seek(body)
        return _v1_chunks(handle, key, header)

    return _Opened(VERSION_1, kind, chunks)


def _v1_chunks(handle: IO[bytes], key: bytes, header: bytes) -> Iterator[bytes]:
    """Version 1: each file's key is BLAKE2b(backup key, header); a chunk's nonce is its
    number and a final-chunk flag (docs/crypto.md, "Backup file v1")."""
    file_key = nacl.hash.blake2b(
        header, key=key, digest_size=32, person=b"portal-bk-file", encoder=nacl.encoding.RawEncoder
    )
    box = nacl.secret.SecretBox(file_key)
    counter = 0
    while True:
        length_bytes = handle.read(4)
        if len(length_bytes) < 4:
            raise BackupError("this backup file is truncated")
        length = int.from_bytes(length_bytes, "big")
        if length > _V1_MAX_SEALED:
            raise BackupError("this backup file is damaged")
        sealed = handle.read(length)
        if len(sealed) < length:
            raise BackupError("this backup file is truncated")
        for last in (False, True):
            nonce = counter.to_bytes(23, "big") + (b"\x01" if last else b"\x00")
            try:
                plain = box.decrypt(sealed, nonce)
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


def backup(database_url: str, out_path: str, recipients: Sequence[bytes]) -> str:
    """Write a backup of the database to ``out_path`` that any of ``recipients`` (X25519
    public keys) can open, and nothing on this host can; its kind's name."""
    if not recipients:
        raise BackupError(
            "no backup recipients: set PORTAL_BACKUP_RECIPIENTS to the public key that "
            "`portal backup-keygen` printed (or give --recipient KEY)"
        )
    if database_url.startswith("sqlite:"):
        _backup_sqlite(sqlite_path(database_url), out_path, recipients)
        return KIND_NAMES[KIND_SQLITE]
    if _is_postgres(database_url):
        _backup_postgres(database_url, out_path, recipients)
        return KIND_NAMES[KIND_PG_CUSTOM]
    raise BackupError("PORTAL_DATABASE_URL must start with sqlite:/// or postgresql://")


def _backup_sqlite(path: str, out_path: str, recipients: Sequence[bytes]) -> None:
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
            _write_atomically(
                out_path, lambda out: encrypt_stream(plain, out, recipients, KIND_SQLITE)
            )


def _backup_postgres(url: str, out_path: str, recipients: Sequence[bytes]) -> None:
    target, env = pg_target(url)
    command = [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", target]
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, env=env)  # noqa: S603
        if process.stdout is None:  # cannot happen with PIPE; a named error all the same
            raise BackupError("pg_dump gave no output stream")
        try:
            _write_atomically(
                out_path, lambda out: _encrypt_checked(process, out, recipients, errors)
            )
        finally:
            process.stdout.close()
            if process.poll() is None:
                process.kill()
                process.wait()


def _encrypt_checked(
    process: subprocess.Popen[bytes],
    out: IO[bytes],
    recipients: Sequence[bytes],
    errors: IO[bytes],
) -> None:
    if process.stdout is None:
        raise BackupError("pg_dump gave no output stream")
    encrypt_stream(process.stdout, out, recipients, KIND_PG_CUSTOM)
    if process.wait() != 0:
        errors.seek(0)
        message = errors.read().decode(errors="replace").strip()
        raise BackupError(f"pg_dump failed: {message}")


# --- restore ------------------------------------------------------------------------


def restore(
    database_url: str,
    in_path: str,
    *,
    identity_file: str = "",
    key_file: str = "",
    force: bool = False,
) -> str:
    """Restore an encrypted backup into the database; its kind's name.

    A version 2 file opens with ``identity_file`` (the private key from
    ``backup-keygen``), a version 1 file with ``key_file`` (its symmetric key); the
    header says which. The whole file is authenticated before the target is looked at,
    so a wrong key, a changed or a cut-short file leaves the target as it was. The
    target must be empty (no tables) unless ``force``; the portal must not be running
    against it.
    """
    if not database_url.startswith("sqlite:") and not _is_postgres(database_url):
        raise BackupError("PORTAL_DATABASE_URL must start with sqlite:/// or postgresql://")
    try:
        handle = open(in_path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise BackupError(f"cannot read {in_path}: {exc.strerror}") from None
    with handle:
        opened = _open(handle, identity_file, key_file)
        # Threat: pg_restore may commit a prefix of an archive it has been fed; reading
        # the whole file first means a changed or truncated one never reaches it.
        for _chunk in opened.chunks():
            pass
        wanted = KIND_SQLITE if database_url.startswith("sqlite:") else KIND_PG_CUSTOM
        if opened.kind != wanted:
            raise BackupError(
                f"this is a {KIND_NAMES[opened.kind]} backup; PORTAL_DATABASE_URL names a "
                f"{KIND_NAMES[wanted]} database"
            )
        if opened.kind == KIND_SQLITE:
            _restore_sqlite(sqlite_path(database_url), opened.chunks(), force)
        else:
            _restore_postgres(database_url, opened.chunks(), force)
    return KIND_NAMES[opened.kind]


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
