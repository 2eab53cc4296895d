"""What the operator sees: the start-up line, the version, log levels and JSON lines, a
request id on every 500, and start-up failures as one clear line.

Threat: the same lines leaking what they must never hold (the database password, a
code someone typed, an address). Every test here carries such canaries.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from portal.domain.roles import PUBLIC
from portal.logs import JsonFormatter, RedactingFormatter, infrastructure_cause
from portal.settings import Settings
from portal.startup import address_warning, describe, version
from portal.web.guard import route
from portal.web.visit import Visit
from tests.live import free_port, live_server, portal_env, refused_port, run_portal

DB_PASSWORD = "db-pass-canary-7731"
TYPED = "canary-typed-code-4455 9911"
REQUEST_ID = re.compile(r"\b[0-9a-f]{12}\b")


def test_version_is_the_installed_package_version(tmp_path: Path) -> None:
    result = run_portal(tmp_path, "--version")
    assert result.returncode == 0
    assert result.stdout == "portal 0.1.0\n"
    assert version() == "0.1.0"


def test_the_start_up_line_names_the_setup_but_never_a_password() -> None:
    settings = Settings(
        secret_key="x" * 40,
        database_url=f"postgresql://portal:{DB_PASSWORD}@db.internal:6432/portal",
        redis_url=f"redis://:{DB_PASSWORD}@127.0.0.1:6379/0",
        timezone="Europe/Stockholm",
        purge_interval_seconds=0,
    )
    assert describe(settings) == (
        "portal 0.1.0 starting: environment=development "
        "database=postgresql db.internal:6432/portal redis=on purge=off "
        "timezone=Europe/Stockholm log=info/text"
    )


def test_serve_logs_one_start_up_line_and_json_when_asked(tmp_path: Path) -> None:
    with live_server(tmp_path, PORTAL_LOG_FORMAT="json", PORTAL_LOG_LEVEL="info") as server:
        pass
    lines = [line for line in server.output if line.strip()]
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    # Everything the portal process wrote is a JSON object (after the development
    # secret's notice, written before logging starts).
    assert len(entries) == len([line for line in lines if "development mode" not in line])
    starting = [e for e in entries if e["message"].startswith("portal 0.1.0 starting")]
    assert len(starting) == 1
    assert starting[0]["level"] == "info" and starting[0]["logger"] == "portal"
    assert starting[0]["message"] == (
        "portal 0.1.0 starting: environment=development "
        f"database=sqlite {tmp_path / 'portal.sqlite3'} redis=off purge=every 3600s "
        "timezone=Europe/Helsinki log=info/json"
    )


def test_address_warning_when_the_public_url_names_another_address() -> None:
    def warning(public_url: str, host: str, port: int) -> str | None:
        return address_warning(Settings(secret_key="x" * 40, public_url=public_url), host, port)

    assert warning("http://127.0.0.1:8000", "127.0.0.1", 8080) == (
        "PORTAL_PUBLIC_URL is http://127.0.0.1:8000 but this portal serves port 8080: "
        "invitation links and slips name the wrong address and browsers' forms are "
        "refused; set PORTAL_PUBLIC_URL=http://127.0.0.1:8080"
    )
    assert warning("http://localhost:8000", "0.0.0.0", 8000) == (  # noqa: S104
        "PORTAL_PUBLIC_URL is http://localhost:8000, an address of this machine only, "
        "but the portal listens on 0.0.0.0: links it prints do not work elsewhere; set "
        "PORTAL_PUBLIC_URL to the address people open"
    )
    assert warning("http://127.0.0.1:8000", "127.0.0.1", 8000) is None
    assert warning("http://localhost:9000", "127.0.0.1", 9000) is None
    # Behind a proxy the public host is a real name on another port: nothing to say.
    assert warning("https://portal.example.org", "127.0.0.1", 8000) is None


def test_serve_on_another_port_than_the_public_url_warns_at_start(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "portal", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=portal_env(tmp_path),  # the default PORTAL_PUBLIC_URL, port 8000
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=10)
    assert (
        "WARNING portal: PORTAL_PUBLIC_URL is http://127.0.0.1:8000 but this portal serves "
        f"port {port}:"
    ) in out, out


def test_log_level_warning_leaves_out_the_start_up_line(tmp_path: Path) -> None:
    with live_server(tmp_path, PORTAL_LOG_LEVEL="warning") as server:
        pass
    assert not [line for line in server.output if "starting" in line]


def test_debug_level_is_for_the_portal_s_own_lines_only() -> None:
    from portal.logs import configure_logging

    root = logging.getLogger()
    saved = (root.level, root.handlers[:], logging.getLogger("portal").level)
    try:
        configure_logging("debug", "text")
        assert logging.getLogger("portal.errors").isEnabledFor(logging.DEBUG)
        assert not logging.getLogger("python_multipart").isEnabledFor(logging.DEBUG)
        assert not logging.getLogger("aiosmtplib").isEnabledFor(logging.DEBUG)
    finally:
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]
        logging.getLogger("portal").setLevel(saved[2])


def _explode(app: Starlette) -> None:
    async def explode(request: object, visit: Visit) -> None:
        raise KeyError(TYPED)

    async def refused(request: object, visit: Visit) -> None:
        raise ConnectionRefusedError(111, f"Connection refused to {DB_PASSWORD}")

    app.router.routes.append(route("/explode", explode, roles={PUBLIC}))  # type: ignore[arg-type]
    app.router.routes.append(route("/refused", refused, roles={PUBLIC}))  # type: ignore[arg-type]


def test_a_server_error_has_a_request_id_on_the_page_and_in_the_log(
    app: Starlette, logs_hold_no_secrets: list[str]
) -> None:
    _explode(app)
    with TestClient(app, base_url="https://portal.test", raise_server_exceptions=False) as client:
        first = client.get("/explode")
        second = client.get("/explode")
    assert first.status_code == second.status_code == 500
    ids = [REQUEST_ID.findall(page.text) for page in (first, second)]
    assert len(ids[0]) == len(ids[1]) == 1 and ids[0] != ids[1]
    assert "quote this reference" in first.text
    errors = [line for line in logs_hold_no_secrets if "unhandled" in line]
    assert errors == [
        f"ERROR portal.errors: unhandled KeyError in GET explode (request id {ids[0][0]})",
        f"ERROR portal.errors: unhandled KeyError in GET explode (request id {ids[1][0]})",
    ]
    assert TYPED not in first.text and TYPED not in "\n".join(logs_hold_no_secrets)


def test_a_server_error_from_infrastructure_names_the_cause_only(
    app: Starlette, logs_hold_no_secrets: list[str]
) -> None:
    _explode(app)
    with TestClient(app, base_url="https://portal.test", raise_server_exceptions=False) as client:
        page = client.get("/refused")
    assert page.status_code == 500
    (line,) = [line for line in logs_hold_no_secrets if "unhandled" in line]
    assert line.startswith(
        "ERROR portal.errors: unhandled ConnectionRefusedError (connection refused) in GET refused"
    )
    assert DB_PASSWORD not in "\n".join(logs_hold_no_secrets)


def _record(exc: BaseException, request_id: str = "") -> logging.LogRecord:
    try:
        raise exc
    except BaseException as raised:
        record = logging.LogRecord("portal", logging.ERROR, __file__, 1, "failed", (), None)
        record.exc_info = (type(raised), raised, raised.__traceback__)
    if request_id:
        record.request_id = request_id
    return record


def test_tracebacks_name_infrastructure_causes_and_hide_personal_text() -> None:
    try:
        try:
            raise ConnectionRefusedError(111, f"Connect call failed ('10.0.0.5', {DB_PASSWORD})")
        except OSError as exc:
            raise RuntimeError(TYPED) from exc
    except RuntimeError as outer:
        chained = outer
    text = RedactingFormatter("%(message)s").format(_record(chained))
    assert text.splitlines()[-1] == "RuntimeError <- ConnectionRefusedError (connection refused)"
    assert TYPED not in text and DB_PASSWORD not in text and "10.0.0.5" not in text
    personal = RedactingFormatter("%(message)s").format(_record(KeyError(TYPED)))
    assert personal.splitlines()[-1] == "KeyError"
    line = JsonFormatter().format(_record(KeyError(TYPED), "0123456789ab"))
    entry = json.loads(line)
    assert entry["request_id"] == "0123456789ab"
    assert entry["exception"].splitlines()[-1] == "KeyError" and TYPED not in line


@pytest.mark.parametrize(
    ("exc", "cause"),
    [
        (ConnectionRefusedError(111, "x"), "connection refused"),
        (socket.gaierror(-2, "Name or service not known"), "host name not found"),
        (TimeoutError(), "timed out"),
        (KeyError("1234 5678"), ""),
        (ValueError("connection refused"), ""),  # text alone is never trusted
    ],
)
def test_infrastructure_causes_are_fixed_phrases(exc: BaseException, cause: str) -> None:
    assert infrastructure_cause(exc) == cause


@pytest.mark.parametrize(
    "command",
    [("serve",), ("migrate",), ("migrate", "--status"), ("init",), ("purge", "--dry-run")],
)
def test_an_unreachable_database_is_one_line_with_host_and_port(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    with refused_port() as port:
        url = f"postgresql://portal:{DB_PASSWORD}@127.0.0.1:{port}/portal"
        started = time.monotonic()
        result = run_portal(tmp_path, *command, PORTAL_DATABASE_URL=url)
    assert time.monotonic() - started < 20
    assert result.returncode == 1
    assert result.stderr == (
        f"portal: cannot use the database at postgresql 127.0.0.1:{port}/portal "
        "(connection refused)\n"
    )
    assert DB_PASSWORD not in result.stdout


def test_an_unusable_sqlite_file_is_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/no/such/directory/portal.sqlite3"
    result = run_portal(tmp_path, "serve", PORTAL_DATABASE_URL=url)
    assert result.returncode == 1
    assert result.stderr == (
        f"portal: cannot use the database at sqlite {tmp_path}/no/such/directory/portal.sqlite3 "
        "(cannot open the database file)\n"
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "PORTAL_TIMEZONE",
            "Mars/Olympus",
            "portal: PORTAL_TIMEZONE: unknown time zone 'Mars/Olympus' "
            "(a name like Europe/Helsinki)\n",
        ),
        (
            "PORTAL_DATABASE_URL",
            f"mysql://portal:{DB_PASSWORD}@db/portal",
            "portal: PORTAL_DATABASE_URL must start with sqlite:/// or postgresql://\n",
        ),
        (
            "PORTAL_DATABSE_URL",
            "sqlite:///x",
            "portal: unknown setting(s): PORTAL_DATABSE_URL (did you mean PORTAL_DATABASE_URL?);"
            " every setting is listed in deploy/portal.env.example\n",
        ),
    ],
)
def test_bad_settings_stop_serve_with_one_line(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    result = run_portal(tmp_path, "serve", **{name: value})
    assert (result.returncode, result.stderr) == (1, message)
    assert not (tmp_path / "x").exists()
