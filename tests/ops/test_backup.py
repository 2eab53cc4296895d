"""``portal backup`` / ``portal restore``: under write load, into a fresh database.

Backups are written in format version 2 (docs/crypto.md, "Backup file v2"): encrypted to
public keys, so the server needs no private key to make one. Version 1 files (made by
earlier releases with a symmetric key) must still restore.
"""

from __future__ import annotations

import base64
import os
import shutil
import sqlite3
import stat
import subprocess
import time
from contextlib import closing
from pathlib import Path

import pytest

from tests.live import run_portal
from tests.ops.backup_v1 import writer as v1_writer
from tests.ops.dbutil import POSTGRES_URL, WriteLoad, load_rows, scratch_postgres, snapshot

V1_FILES = Path(__file__).parent / "backup_v1"
# Format v2 with one recipient: magic 8 + version 1 + kind 1 + count 1 + (id 8 + sealed
# key 80) + secretstream header 24; then messages of 64 KiB + 17 bytes, the last shorter.
HEADER_ONE_RECIPIENT = 123
MESSAGE = 65536 + 17


def _demo_database(workdir: Path, url: str) -> None:
    demo = run_portal(workdir, "demo", PORTAL_DATABASE_URL=url)
    assert demo.returncode == 0, demo.stderr


def _keypair(workdir: Path, name: str = "backup-identity") -> tuple[Path, str]:
    """``backup-keygen``: the private key file and the public key it printed."""
    path = workdir / name
    made = run_portal(workdir, "backup-keygen", str(path))
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    [line] = [x for x in made.stdout.splitlines() if "PORTAL_BACKUP_RECIPIENTS=" in x]
    public = line.split("=", 1)[1]
    assert public.startswith("portal-backup-public-key-1:")
    private = [x for x in path.read_text().splitlines() if not x.startswith("#")]
    assert len(private) == 1 and private[0].startswith("portal-backup-private-key-1:")
    assert private[0] not in made.stdout and private[0].split(":")[1] not in made.stdout
    assert public in path.read_text()  # the file names its public key, for the operator
    return path, public


def _add_random_rows(url: str, count: int = 5000) -> None:
    """Audit events with random details: a dump too large (even compressed, as pg_dump
    writes it) for one 64 KiB message, so a file can be cut between messages."""
    sql = (
        "INSERT INTO audit_events (at, actor_role, action, detail)"
        " VALUES ({p}, 'system', 'ops_padding', {p})"
    )
    rows = [(n, base64.b64encode(os.urandom(30)).decode()) for n in range(count)]
    if url.startswith("sqlite:"):
        with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
            conn.executemany(sql.format(p="?"), rows)
            conn.commit()
        return
    import psycopg

    with psycopg.connect("postgresql://" + url.split("://", 1)[1]) as conn:
        conn.cursor().executemany(sql.format(p="%s"), rows)


def _failure(workdir: Path, *args: str, **env: str) -> str:
    result = run_portal(workdir, *args, **env)
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr
    return result.stderr


def _round_trip(workdir: Path, source: str, target: str) -> None:
    """Backup under a concurrent write load with only the public key on the "server";
    the restore, with the private key brought back, has every row that existed."""
    _demo_database(workdir, source)
    _add_random_rows(source)
    offline = workdir / "offline"
    offline.mkdir()
    identity, public = _keypair(offline)
    # The private key goes offline: nothing the backup process could read holds it.
    kept = identity.read_bytes()
    shutil.rmtree(offline)
    backup_file = workdir / "portal.backup"
    with WriteLoad(source) as load:
        while load.committed < 20:  # the load is running before the backup starts
            time.sleep(0.01)
        committed_before = load.committed
        made = run_portal(
            workdir,
            "backup",
            str(backup_file),
            PORTAL_DATABASE_URL=source,
            PORTAL_BACKUP_RECIPIENTS=public,
        )
        committed_after = load.committed
    assert made.returncode == 0, made.stderr
    assert committed_after > committed_before  # writes went on while the backup ran
    assert stat.S_IMODE(os.stat(backup_file).st_mode) == 0o600
    data = backup_file.read_bytes()
    assert data[:11] == b"PORTALBK\x02" + data[9:10] + b"\x01"  # version 2, one recipient
    assert b"demo" not in data  # encrypted, not just wrapped
    assert not offline.exists()

    identity = workdir / "identity-brought-back"
    identity.write_bytes(kept)
    restored = run_portal(
        workdir,
        "restore",
        str(backup_file),
        "--identity",
        str(identity),
        PORTAL_DATABASE_URL=target,
    )
    assert restored.returncode == 0, restored.stderr

    original, copy = snapshot(source), snapshot(target)
    assert sum(len(rows) for rows in copy.values()) > 50
    for table, rows in original.items():
        if table == "audit_events":
            continue
        assert copy[table] == rows, table
    # The load's rows: every row committed before the backup began, and no row that
    # was not in the source, in one consistent prefix (a snapshot, not a torn copy).
    had, got = load_rows(original["audit_events"]), load_rows(copy["audit_events"])
    assert len(got) >= committed_before
    assert got == had[: len(got)]
    other = [r for r in original["audit_events"] if r[4] != "ops_load"]
    assert [r for r in copy["audit_events"] if r[4] != "ops_load"] == other

    # The restored database works: migrate is a no-op, and restore refuses to overwrite.
    assert run_portal(workdir, "migrate", PORTAL_DATABASE_URL=target).returncode == 0
    again = _failure(
        workdir,
        "restore",
        str(backup_file),
        "--identity",
        str(identity),
        PORTAL_DATABASE_URL=target,
    )
    assert "not empty" in again

    # A wrong identity, or a file cut at a message boundary (each message that is left
    # authenticates; only the final tag is missing), is refused even with --force, and
    # the target keeps every row it had: nothing is restored in part.
    other_identity, _other_public = _keypair(workdir, "other-identity")
    wrong = _failure(
        workdir,
        "restore",
        str(backup_file),
        "--identity",
        str(other_identity),
        "--force",
        PORTAL_DATABASE_URL=target,
    )
    assert "wrong identity" in wrong
    cut = workdir / "cut.backup"
    # Whole messages strictly before the end (when the last one is full-sized too, a cut
    # after all of them would be the whole file).
    whole_messages = (len(data) - HEADER_ONE_RECIPIENT - 1) // MESSAGE
    assert whole_messages >= 1
    cut.write_bytes(data[: HEADER_ONE_RECIPIENT + whole_messages * MESSAGE])
    truncated = _failure(
        workdir,
        "restore",
        str(cut),
        "--identity",
        str(identity),
        "--force",
        PORTAL_DATABASE_URL=target,
    )
    assert "truncated (its end is missing)" in truncated
    assert snapshot(target) == copy

    forced = run_portal(
        workdir,
        "restore",
        str(backup_file),
        "--identity",
        str(identity),
        "--force",
        PORTAL_DATABASE_URL=target,
    )
    assert forced.returncode == 0, forced.stderr
    assert snapshot(target) == copy


def test_sqlite_backup_under_load_restores_the_same_rows(tmp_path: Path) -> None:
    _round_trip(
        tmp_path,
        f"sqlite:///{tmp_path / 'portal.sqlite3'}",
        f"sqlite:///{tmp_path / 'new.sqlite3'}",
    )


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="needs PORTAL_TEST_DATABASE_URL (PostgreSQL)")
def test_postgres_backup_under_load_restores_the_same_rows(tmp_path: Path) -> None:
    with scratch_postgres(2) as (source, target):
        _round_trip(tmp_path, source, target)


def _rows(path: Path) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(path)) as conn:
        return [tuple(r) for r in conn.execute("SELECT * FROM places ORDER BY id")]


def _places_database(path: Path) -> None:
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE places (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        conn.execute("INSERT INTO places (name) VALUES ('already here')")
        conn.commit()


def test_a_wrong_identity_or_a_changed_file_is_refused_and_the_target_kept(
    tmp_path: Path,
) -> None:
    assert run_portal(tmp_path, "migrate").returncode == 0
    identity, public = _keypair(tmp_path)
    other, _other_public = _keypair(tmp_path, "other-identity")
    backup_file = tmp_path / "portal.backup"
    made = run_portal(tmp_path, "backup", str(backup_file), PORTAL_BACKUP_RECIPIENTS=public)
    assert made.returncode == 0, made.stderr
    data = backup_file.read_bytes()
    assert len(data) > HEADER_ONE_RECIPIENT + 3 * MESSAGE  # several messages
    # A database that is not empty, and a --force restore, so a restore that went ahead
    # would replace its one row.
    target = tmp_path / "target.sqlite3"
    _places_database(target)
    url = f"sqlite:///{target}"

    def refused(path: Path, key: Path = identity) -> str:
        message = _failure(
            tmp_path,
            "restore",
            str(path),
            "--identity",
            str(key),
            "--force",
            PORTAL_DATABASE_URL=url,
        )
        assert _rows(target) == [(1, "already here")]
        return message

    wrong = refused(backup_file, other)
    assert "wrong identity" in wrong
    ids = [w for w in wrong.replace(",", " ").split() if len(w) == 16]
    assert len(ids) == 2 and ids[0] != ids[1]  # the file's key id and the one given
    assert "--identity" in _failure(tmp_path, "restore", str(backup_file), PORTAL_DATABASE_URL=url)

    changed = tmp_path / "changed.backup"
    last = len(data) - 1
    # Every part of the file: the kind, the sealed stream key, the secretstream header,
    # the first, a middle and the last message (first byte, tag, last byte).
    for offset in (9, 40, 110, 122, 123, 200, 123 + MESSAGE + 5, last - 20, last):
        changed.write_bytes(data[:offset] + bytes([data[offset] ^ 1]) + data[offset + 1 :])
        message = refused(changed)
        assert "damaged" in message or "changed" in message, (offset, message)
    # The recipient's key id changed: the file no longer names this identity.
    changed.write_bytes(data[:12] + bytes([data[12] ^ 1]) + data[13:])
    assert "wrong identity" in refused(changed)

    first, second = (HEADER_ONE_RECIPIENT + i * MESSAGE for i in (0, 1))
    swapped = data[:first] + data[second : second + MESSAGE] + data[first:second]
    changed.write_bytes(swapped + data[second + MESSAGE :])
    assert "damaged" in refused(changed)
    changed.write_bytes(data[:first] + data[second:])  # one message left out
    assert "damaged" in refused(changed)
    changed.write_bytes(data[:-10])  # cut inside the last message
    assert "truncated" in refused(changed)
    end = HEADER_ONE_RECIPIENT + ((len(data) - HEADER_ONE_RECIPIENT) // MESSAGE) * MESSAGE
    changed.write_bytes(data[:end])  # cut after a whole message: no final tag
    assert "truncated (its end is missing)" in refused(changed)
    changed.write_bytes(data[:60])
    assert "truncated" in refused(changed)
    changed.write_bytes(data + b"\x00")  # a byte added at the end
    assert "damaged" in refused(changed)

    # A message from another backup for the same key does not fit this one.
    made = run_portal(tmp_path, "backup", str(changed), PORTAL_BACKUP_RECIPIENTS=public)
    assert made.returncode == 0, made.stderr
    foreign = changed.read_bytes()
    changed.write_bytes(
        data[:second] + foreign[second : second + MESSAGE] + data[second + MESSAGE :]
    )
    assert "damaged" in refused(changed)
    # Nor does another backup's header in front of this one's messages.
    changed.write_bytes(foreign[:first] + data[first:])
    assert "damaged" in refused(changed)

    changed.write_bytes(b"SQLite format 3\x00" + data[16:])
    assert "not a portal backup file" in refused(changed)
    changed.write_bytes(data[:8] + b"\x03" + data[9:])
    assert "version 3 is not supported" in refused(changed)

    # The untouched file restores with the right identity.
    good = run_portal(
        tmp_path,
        "restore",
        str(backup_file),
        "--identity",
        str(identity),
        "--force",
        PORTAL_DATABASE_URL=url,
    )
    assert good.returncode == 0, good.stderr
    assert snapshot(url) == snapshot(f"sqlite:///{tmp_path / 'portal.sqlite3'}")


def test_several_recipients_each_open_it_and_none_can_change_the_others(
    tmp_path: Path,
) -> None:
    assert run_portal(tmp_path, "migrate").returncode == 0
    first, first_public = _keypair(tmp_path, "first")
    second, second_public = _keypair(tmp_path, "second")
    backup_file = tmp_path / "portal.backup"
    made = run_portal(
        tmp_path,
        "backup",
        str(backup_file),
        "--recipient",
        first_public,
        "--recipient",
        second_public,
    )
    assert made.returncode == 0, made.stderr
    data = backup_file.read_bytes()
    assert data[10] == 2
    for number, identity in enumerate((first, second)):
        target = f"sqlite:///{tmp_path / f'restored-{number}.sqlite3'}"
        result = run_portal(
            tmp_path,
            "restore",
            str(backup_file),
            "--identity",
            str(identity),
            PORTAL_DATABASE_URL=target,
        )
        assert result.returncode == 0, result.stderr
        assert snapshot(target) == snapshot(f"sqlite:///{tmp_path / 'portal.sqlite3'}")

    # The second recipient's sealed key changed: the first still finds the file changed
    # (the whole header is authenticated), so no holder of one key can swap another's.
    offset = 11 + 88 + 8 + 20
    changed = tmp_path / "changed.backup"
    changed.write_bytes(data[:offset] + bytes([data[offset] ^ 1]) + data[offset + 1 :])
    message = _failure(
        tmp_path,
        "restore",
        str(changed),
        "--identity",
        str(first),
        PORTAL_DATABASE_URL=f"sqlite:///{tmp_path / 'never.sqlite3'}",
    )
    assert "damaged" in message
    assert not (tmp_path / "never.sqlite3").exists()


def test_keys_in_the_wrong_place_are_refused_without_being_shown(tmp_path: Path) -> None:
    assert run_portal(tmp_path, "migrate").returncode == 0
    identity, public = _keypair(tmp_path)
    private_line = identity.read_text().splitlines()[-1]
    v1_key = v1_writer.new_key_text().strip()
    out = str(tmp_path / "x.backup")

    def backup_refused(recipients: str) -> str:
        message = _failure(tmp_path, "backup", out, PORTAL_BACKUP_RECIPIENTS=recipients)
        assert not Path(out).exists() and not Path(out + ".partial").exists()
        return message

    message = backup_refused(f"{public},{private_line}")
    assert "recipient 2 is a private key" in message
    assert private_line.split(":")[1] not in message
    message = backup_refused(v1_key)
    assert "recipient 1 is not a backup public key" in message and v1_key not in message
    zero = "portal-backup-public-key-1:" + "A" * 43 + "="  # all zeros: a low-order point
    assert "not a usable public key" in backup_refused(zero)
    assert "no backup recipients" in backup_refused(" , ")
    # The old setting alone no longer makes backups: it only restores version 1 files.
    assert "no backup recipients" in _failure(
        tmp_path, "backup", out, PORTAL_BACKUP_KEY_FILE=str(V1_FILES / "test-only.key")
    )

    assert run_portal(tmp_path, "backup", out, PORTAL_BACKUP_RECIPIENTS=public).returncode == 0
    fresh = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    public_file = tmp_path / "public.txt"
    public_file.write_text(public + "\n")
    v1_file = tmp_path / "v1.key"
    v1_file.write_text(v1_key + "\n")
    junk = tmp_path / "junk"
    junk.write_text("not a key\n")
    for given, expected in (
        (public_file, "holds a public key"),
        (v1_file, "is a version 1 backup key, not an identity"),
        (junk, "is not a backup identity"),
        (tmp_path / "missing", "cannot read the identity file"),
    ):
        message = _failure(
            tmp_path, "restore", out, "--identity", str(given), PORTAL_DATABASE_URL=fresh
        )
        assert expected in message
    assert not (tmp_path / "fresh.sqlite3").exists()

    assert "never overwritten" in _failure(tmp_path, "backup-keygen", str(identity))
    assert identity.read_text().splitlines()[-1] == private_line


# --- version 1 files (made by earlier releases) ----------------------------------------


def test_a_version_1_file_made_by_the_old_release_restores(tmp_path: Path) -> None:
    key = tmp_path / "v1.key"
    key.write_bytes((V1_FILES / "test-only.key").read_bytes())
    target = tmp_path / "restored.sqlite3"
    url = f"sqlite:///{target}"
    backup_file = str(V1_FILES / "sqlite.backup")

    assert "give its backup key with --key-file" in _failure(
        tmp_path, "restore", backup_file, PORTAL_DATABASE_URL=url
    )
    other = tmp_path / "other.key"
    other.write_text(v1_writer.new_key_text())
    wrong = _failure(
        tmp_path, "restore", backup_file, "--key-file", str(other), PORTAL_DATABASE_URL=url
    )
    assert "wrong backup key" in wrong and "ad19958c92085848" in wrong
    assert not target.exists()

    result = run_portal(
        tmp_path, "restore", backup_file, PORTAL_DATABASE_URL=url, PORTAL_BACKUP_KEY_FILE=str(key)
    )
    assert result.returncode == 0, result.stderr
    assert _rows(target) == [
        (1, "Helsinki police station"),
        (2, "Tampere – Hämeenkatu 1"),
        (3, "Оулу"),
    ]


def test_a_large_version_1_file_restores_and_a_changed_one_is_refused(tmp_path: Path) -> None:
    """Several 1 MiB chunks, written by the old release's writer (a copy kept in tests)."""
    source = tmp_path / "source.sqlite3"
    with closing(sqlite3.connect(source)) as conn:
        conn.execute("CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB NOT NULL)")
        conn.executemany(
            "INSERT INTO blobs (data) VALUES (?)", [(os.urandom(100_000),) for _ in range(30)]
        )
        conn.commit()
    key_text = v1_writer.new_key_text()
    key = tmp_path / "v1.key"
    key.write_text(key_text)
    backup_file = tmp_path / "v1.backup"
    with open(source, "rb") as plain, open(backup_file, "wb") as out:
        v1_writer.encrypt_stream(plain, out, _v1_key(key_text), v1_writer.KIND_SQLITE)
    data = backup_file.read_bytes()
    assert len(data) > 2 * 1024 * 1024  # three chunks at least

    target = tmp_path / "restored.sqlite3"
    url = f"sqlite:///{target}"
    changed = tmp_path / "changed.backup"
    for content, expected in (
        (data[:2_000_000] + bytes([data[2_000_000] ^ 1]) + data[2_000_001:], "damaged"),
        (data[:-10], "truncated"),
        (data[: 34 + 4 + 1024 * 1024 + 16], "truncated"),
    ):
        changed.write_bytes(content)
        message = _failure(
            tmp_path, "restore", str(changed), "--key-file", str(key), PORTAL_DATABASE_URL=url
        )
        assert expected in message
        assert not target.exists()

    result = run_portal(
        tmp_path, "restore", str(backup_file), "--key-file", str(key), PORTAL_DATABASE_URL=url
    )
    assert result.returncode == 0, result.stderr
    with closing(sqlite3.connect(source)) as a, closing(sqlite3.connect(target)) as b:
        query = "SELECT id, data FROM blobs ORDER BY id"
        assert a.execute(query).fetchall() == b.execute(query).fetchall()


def _v1_key(text: str) -> bytes:
    return base64.b64decode(text.strip())


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="needs PORTAL_TEST_DATABASE_URL (PostgreSQL)")
def test_a_version_1_postgres_file_restores(tmp_path: Path) -> None:
    from portal.backup import pg_target

    with scratch_postgres(2) as (source, target):
        _demo_database(tmp_path, source)
        key_text = v1_writer.new_key_text()
        key = tmp_path / "v1.key"
        key.write_text(key_text)
        backup_file = tmp_path / "v1.backup"
        dsn, env = pg_target(source)
        pg_dump = shutil.which("pg_dump")
        assert pg_dump is not None
        command = [pg_dump, "--format=custom", "--no-owner", "--no-privileges", dsn]
        with subprocess.Popen(command, stdout=subprocess.PIPE, env=env) as dump:
            assert dump.stdout is not None
            with open(backup_file, "wb") as out:
                v1_writer.encrypt_stream(
                    dump.stdout, out, _v1_key(key_text), v1_writer.KIND_PG_CUSTOM
                )
        assert dump.returncode == 0

        result = run_portal(
            tmp_path,
            "restore",
            str(backup_file),
            "--key-file",
            str(key),
            PORTAL_DATABASE_URL=target,
        )
        assert result.returncode == 0, result.stderr
        assert snapshot(target) == snapshot(source)


def test_the_nightly_unit_needs_no_key_on_the_server() -> None:
    deploy = Path(__file__).parents[2] / "deploy"
    unit = (deploy / "systemd" / "portal-backup.service").read_text()
    settings = [line for line in unit.splitlines() if line.startswith("Environment")]
    assert settings == [
        "EnvironmentFile=/etc/portal/portal.env",
        "Environment=PYTHONDONTWRITEBYTECODE=1",
    ]
    example = (deploy / "portal.env.example").read_text().splitlines()
    assert "PORTAL_BACKUP_RECIPIENTS=portal-backup-public-key-1:PLACEHOLDER" in example
    assert not [line for line in example if "KEY_FILE" in line or "private-key" in line]
