"""``portal backup`` / ``portal restore``: under write load, into a fresh database."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from tests.live import run_portal
from tests.ops.dbutil import POSTGRES_URL, WriteLoad, load_rows, scratch_postgres, snapshot


def _demo_database(workdir: Path, url: str) -> None:
    demo = run_portal(workdir, "demo", PORTAL_DATABASE_URL=url)
    assert demo.returncode == 0, demo.stderr


def _key(workdir: Path, name: str = "backup.key") -> Path:
    made = run_portal(workdir, "backup-key", str(workdir / name))
    assert made.returncode == 0, made.stderr
    return workdir / name


def _round_trip(workdir: Path, source: str, target: str) -> None:
    """Backup under a concurrent write load; the restore has every row that existed."""
    _demo_database(workdir, source)
    key = _key(workdir)
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
            PORTAL_BACKUP_KEY_FILE=str(key),
        )
        committed_after = load.committed
    assert made.returncode == 0, made.stderr
    assert committed_after > committed_before  # writes went on while the backup ran
    assert stat.S_IMODE(os.stat(backup_file).st_mode) == 0o600
    assert b"demo" not in backup_file.read_bytes()  # encrypted, not just wrapped

    restored = run_portal(
        workdir, "restore", str(backup_file), "--key-file", str(key), PORTAL_DATABASE_URL=target
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
    again = run_portal(
        workdir, "restore", str(backup_file), "--key-file", str(key), PORTAL_DATABASE_URL=target
    )
    assert again.returncode == 1
    assert "not empty" in again.stderr and "Traceback" not in again.stderr
    forced = run_portal(
        workdir,
        "restore",
        str(backup_file),
        "--key-file",
        str(key),
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


def _failure(workdir: Path, *args: str) -> str:
    result = run_portal(workdir, *args)
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr
    return result.stderr


def test_a_wrong_key_or_a_damaged_file_fails_clearly(tmp_path: Path) -> None:
    assert run_portal(tmp_path, "migrate").returncode == 0
    key, other = _key(tmp_path), _key(tmp_path, "other.key")
    backup_file = tmp_path / "portal.backup"
    assert run_portal(tmp_path, "backup", str(backup_file), "--key-file", str(key)).returncode == 0
    fresh = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"

    def restore(path: Path, key_file: Path) -> str:
        return _failure(
            tmp_path,
            "restore",
            str(path),
            "--key-file",
            str(key_file),
            "--force",  # even --force never touches the target before the file checks out
        ).replace(fresh, "")

    assert "wrong backup key" in restore(backup_file, other)
    data = backup_file.read_bytes()
    damaged = tmp_path / "damaged.backup"
    damaged.write_bytes(data[:100] + bytes([data[100] ^ 1]) + data[101:])
    assert "damaged or was changed" in restore(damaged, key)
    damaged.write_bytes(data[:-10])
    assert "truncated" in restore(damaged, key)
    damaged.write_bytes(b"SQLite format 3\x00" + data[16:])
    assert "not a portal backup file" in restore(damaged, key)
    assert not (tmp_path / "fresh.sqlite3").exists()

    assert "wrong backup key" in _failure(
        tmp_path, "restore", str(backup_file), "--key-file", str(other)
    )
    (tmp_path / "bad.key").write_text("not a key\n")
    assert "is not a backup key" in _failure(
        tmp_path, "backup", str(tmp_path / "x"), "--key-file", str(tmp_path / "bad.key")
    )
    assert "no backup key" in _failure(tmp_path, "backup", str(tmp_path / "x"))
    assert "never overwritten" in _failure(tmp_path, "backup-key", str(key))
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
