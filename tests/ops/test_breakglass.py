"""Break glass from the server's shell: a new coordinator link, and the backup age check.

The coordinator link is made only for a person at a terminal who types the confirmation:
the test drives ``portal invite`` on a pseudo-terminal as that person would, and through
a pipe as a script would.
"""

from __future__ import annotations

import os
import pty
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.live import portal_env, run_portal

LINK = re.compile(r"https?://\S+/enrol/\S+")


def on_terminal(workdir: Path, typed: str, *args: str) -> tuple[int, str]:
    """Run ``portal ARGS`` with a pseudo-terminal as stdin and stdout; type ``typed``."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "portal", *args],
        cwd=workdir,
        env=portal_env(workdir),
        stdin=follower,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    output = b""
    sent = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
        if not sent and b"to go on: " in output:
            os.write(leader, typed.encode() + b"\n")
            sent = True
    os.close(leader)
    return process.wait(timeout=30), output.decode(errors="replace")


def _events(workdir: Path, action: str) -> list[tuple[str, str | None]]:
    with sqlite3.connect(workdir / "portal.sqlite3") as conn:
        rows = conn.execute(
            "SELECT action, detail FROM audit_events WHERE action = ? ORDER BY id", (action,)
        ).fetchall()
    return [(row[0], row[1]) for row in rows]


def test_a_new_coordinator_link_needs_a_typed_confirmation(tmp_path: Path) -> None:
    assert run_portal(tmp_path, "init").returncode == 0
    issued = [("invitation_issued", "coordinator")]
    assert _events(tmp_path, "invitation_issued") == issued

    # From a script (no terminal): refused before anything happens.
    scripted = run_portal(tmp_path, "invite", "--role", "coordinator")
    assert scripted.returncode == 1
    assert "run this on a terminal" in scripted.stderr
    assert not LINK.search(scripted.stdout + scripted.stderr)

    # On a terminal, with the wrong word: nothing is made.
    status, shown = on_terminal(tmp_path, "yes", "invite", "--role", "coordinator")
    assert status == 1 and "not confirmed; nothing was changed" in shown
    assert not LINK.search(shown)
    assert _events(tmp_path, "invitation_issued") == issued

    # Typed as asked: one link, one audit event.
    status, shown = on_terminal(tmp_path, "coordinator", "invite", "--role", "coordinator")
    assert status == 0, shown
    assert "new coordinator of 'Police unit'" in shown
    links = LINK.findall(shown)
    assert len(links) == 1
    assert _events(tmp_path, "invitation_issued") == issued * 2

    # The link works: its enrolment page opens (checked without a server: the token).
    assert links[0].startswith("http://127.0.0.1:8000/enrol/")


def test_invite_refuses_an_unknown_unit(tmp_path: Path) -> None:
    assert run_portal(tmp_path, "init").returncode == 0
    status, shown = on_terminal(
        tmp_path, "coordinator", "invite", "--role", "coordinator", "--organisation", "Nope"
    )
    assert status == 1 and "there is no such police unit" in shown


def test_backup_age_check_for_monitoring(tmp_path: Path) -> None:
    assert run_portal(tmp_path, "migrate").returncode == 0
    never = run_portal(tmp_path, "backup", "--check-age", "26h")
    assert never.returncode == 1
    assert "CRITICAL: no successful backup is recorded" in never.stderr

    keys = run_portal(tmp_path, "backup-keygen", str(tmp_path / "backup.key"))
    assert keys.returncode == 0, keys.stderr
    recipient = re.search(r"PORTAL_BACKUP_RECIPIENTS=(\S+)", keys.stdout)
    assert recipient
    made = run_portal(
        tmp_path,
        "backup",
        str(tmp_path / "one.backup"),
        PORTAL_BACKUP_RECIPIENTS=recipient.group(1),
    )
    assert made.returncode == 0, made.stderr
    fresh = run_portal(tmp_path, "backup", "--check-age", "26h")
    assert fresh.returncode == 0, fresh.stderr
    assert "OK: the last backup is 0.0 hours old" in fresh.stdout

    with sqlite3.connect(tmp_path / "portal.sqlite3") as conn:
        conn.execute(
            "UPDATE job_runs SET last_run_at = ? WHERE name = 'backup'",
            (int(time.time()) - 27 * 3600,),
        )
    old = run_portal(tmp_path, "backup", "--check-age", "26h")
    assert old.returncode == 1
    assert "CRITICAL: the last backup is 27.0 hours old" in old.stderr
    assert run_portal(tmp_path, "backup", "--check-age", "2d").returncode == 0
    assert run_portal(tmp_path, "backup", "--check-age", "soon").returncode == 2


def test_a_failed_nightly_backup_is_reported() -> None:
    systemd = Path(__file__).resolve().parents[2] / "deploy" / "systemd"
    unit = (systemd / "portal-backup.service").read_text()
    found = re.search(r"^OnFailure=(\S+)$", unit, re.MULTILINE)
    assert found, "portal-backup.service has no OnFailure="
    report = (systemd / found.group(1)).read_text()
    assert "ExecStart=/usr/bin/logger --priority user.crit" in report


def _totp_secret(workdir: Path, username: str) -> str:
    with sqlite3.connect(workdir / "portal.sqlite3") as conn:
        row = conn.execute("SELECT totp_secret FROM accounts WHERE username = ?", (username,))
        return str(row.fetchone()[0])


def test_a_second_factor_reset_needs_the_username_typed(tmp_path: Path) -> None:
    assert run_portal(tmp_path, "demo").returncode == 0
    before = _totp_secret(tmp_path, "ngo")
    assert before

    scripted = run_portal(tmp_path, "reset-second-factor", "ngo")
    assert scripted.returncode == 1 and "run this on a terminal" in scripted.stderr
    status, shown = on_terminal(tmp_path, "coordinator", "reset-second-factor", "ngo")
    assert status == 1 and "not confirmed; nothing was changed" in shown
    assert _totp_secret(tmp_path, "ngo") == before
    assert _events(tmp_path, "second_factor_reset") == []

    status, shown = on_terminal(tmp_path, "ngo", "reset-second-factor", "ngo")
    assert status == 0, shown
    assert "The authenticator app of 'ngo' (Leena Korhonen) was reset" in shown
    assert _totp_secret(tmp_path, "ngo") == ""
    assert _events(tmp_path, "second_factor_reset") == [("second_factor_reset", None)]
    assert before not in shown

    status, shown = on_terminal(tmp_path, "nobody", "reset-second-factor", "nobody")
    assert status == 1 and "there is no account with this username" in shown
