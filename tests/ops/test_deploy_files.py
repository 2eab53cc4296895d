"""The container and proxy files in deploy/, checked offline.

No container engine runs here, so the image is never built and the compose file never
started: the Containerfile is linted with hadolint, the Caddyfile validated by Caddy
itself, the compose file parsed as YAML, and the properties that matter (non-root, no
build tools in the final image, no secrets, internal networks, the same body limit as
the portal) are checked in the text.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from portal.settings import Settings
from tests.live import portal_env, run_portal

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
SYSTEM_PYTHON = "/usr/bin/python3"


def _tool(name: str) -> str:
    local = REPO / ".venv" / "tools" / "bin" / name
    return str(local) if local.exists() else (shutil.which(name) or "")


def _without_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def _final_stage(text: str) -> str:
    return text.rsplit("\nFROM ", 1)[1]


def test_containerfile_passes_hadolint() -> None:
    hadolint = _tool("hadolint")
    if not hadolint:
        pytest.skip("hadolint not installed (.ci/run installs deploy/tools.lock)")
    result = subprocess.run(
        [hadolint, "--failure-threshold", "info", str(DEPLOY / "container" / "Containerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_final_image_is_non_root_without_build_tools() -> None:
    text = (DEPLOY / "container" / "Containerfile").read_text()
    assert text.count("\nFROM ") == 3  # build, the backup service's image, the portal's
    final = _final_stage(_without_comments(text))
    users = re.findall(r"^USER\s+(\S+)", final, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in {"0", "root"}
    for tool in ("gcc", "build-essential", "apt-get", "pip install", "make "):
        assert tool not in final, tool
    build = text.rsplit("\nFROM ", 1)[0]
    assert "--require-hashes" in build and "--only-binary=:all:" in build
    assert "pip uninstall --yes pip setuptools" in build
    # The sender's address comes from Caddy (the only peer on the internal network).
    assert '"--proxy-headers", "--forwarded-allow-ips", "*"' in final.split("CMD", 1)[1]


def _compose() -> dict[str, object]:
    if not os.path.exists(SYSTEM_PYTHON):
        pytest.skip("no system python3 to parse YAML with")
    result = subprocess.run(
        [
            SYSTEM_PYTHON,
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
            str(DEPLOY / "compose.yaml"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if "No module named 'yaml'" in result.stderr:
        pytest.skip("python3-yaml (Debian) not installed")
    assert result.returncode == 0, result.stderr
    parsed: dict[str, object] = json.loads(result.stdout)
    return parsed


def test_compose_file_parses_and_exposes_only_the_proxy() -> None:
    compose = _compose()
    services = compose["services"]
    assert isinstance(services, dict)
    assert set(services) == {"portal", "postgres", "caddy", "backup"}
    assert "ports" not in services["portal"] and "ports" not in services["postgres"]
    assert services["portal"]["read_only"] is True
    assert services["portal"]["cap_drop"] == ["ALL"]
    assert services["caddy"]["read_only"] is True
    networks = compose["networks"]
    assert isinstance(networks, dict)
    assert networks["proxy"]["internal"] is True and networks["backend"]["internal"] is True
    assert set(services["portal"]["networks"]) == {"proxy", "backend"}
    assert services["postgres"]["networks"] == ["backend"]
    # No secret in the file: the database password comes from a secret file.
    environment = services["postgres"]["environment"]
    assert "POSTGRES_PASSWORD" not in environment
    assert environment["POSTGRES_PASSWORD_FILE"].startswith("/run/secrets/")
    text = _without_comments((DEPLOY / "compose.yaml").read_text())
    assert not re.search(r"://[^/\s@]*:[^/\s@]+@", text)  # no URL with a password
    portal_env = services["portal"].get("environment", {})
    assert not {"PORTAL_SECRET_KEY", "PORTAL_DATABASE_URL"} & set(portal_env)


def test_compose_backup_service_reaches_only_the_database_and_reports_its_age() -> None:
    backup = _compose()["services"]["backup"]  # type: ignore[index]
    assert backup["build"]["target"] == "backup"
    assert backup["networks"] == ["backend"] and "ports" not in backup
    assert backup["read_only"] is True and backup["cap_drop"] == ["ALL"]
    assert backup["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert backup["healthcheck"]["test"] == ["CMD", "portal", "backup", "--check-age", "26h"]
    assert backup["volumes"] == ["./backups:/var/backups/portal"]
    # The stage it builds has pg_dump of the server's major version, and the loop.
    stage = (DEPLOY / "container" / "Containerfile").read_text().split(" AS backup\n")[1]
    stage = stage.split("\nFROM ")[0]
    assert "postgresql-client-15" in stage and "rm -rf /var/lib/apt/lists/*" in stage
    assert 'ENTRYPOINT ["/usr/local/bin/backup-loop"]' in stage
    image = _compose()["services"]["postgres"]["image"]  # type: ignore[index]
    assert image.split(":")[1].startswith("15-")


def test_backup_loop_writes_encrypted_backups_and_keeps_their_age(tmp_path: Path) -> None:
    """The compose service's loop, run here on SQLite with the portal of this checkout:
    a backup at once, another after BACKUP_EVERY_SECONDS, old ones deleted, and
    ``--check-age`` happy afterwards."""
    keygen = run_portal(tmp_path, "backup-keygen", str(tmp_path / "identity"))
    [line] = [x for x in keygen.stdout.splitlines() if "PORTAL_BACKUP_RECIPIENTS=" in x]
    public = line.split("=", 1)[1]
    database = f"sqlite:///{tmp_path / 'portal.sqlite3'}"
    assert run_portal(tmp_path, "migrate", PORTAL_DATABASE_URL=database).returncode == 0
    backups = tmp_path / "backups"
    backups.mkdir()
    stale = backups / "portal-20200101T000000Z.backup"
    stale.write_bytes(b"old")
    os.utime(stale, (0, 0))
    env = portal_env(
        tmp_path,
        PORTAL_DATABASE_URL=database,
        PORTAL_BACKUP_RECIPIENTS=public,
        BACKUP_DIR=str(backups),
        BACKUP_EVERY_SECONDS="2",
    )
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    loop = subprocess.Popen(
        [str(DEPLOY / "container" / "backup-loop.sh")],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        # Two backups of its own (the second after the first round's clean-up).
        while time.monotonic() < deadline:
            if len([p for p in backups.glob("portal-*.backup") if p != stale]) >= 2:
                break
            time.sleep(0.2)
    finally:
        loop.terminate()
        out, err = loop.communicate(timeout=10)
    made = sorted(backups.glob("portal-*.backup"))
    assert len(made) >= 2, out + err
    assert stale not in made  # older than BACKUP_KEEP_DAYS (14): deleted
    for path in made:
        assert path.read_bytes()[:4] != b"SQLi"  # encrypted, not a database file
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    age = run_portal(tmp_path, "backup", "--check-age", "26h", PORTAL_DATABASE_URL=database)
    assert age.returncode == 0, age.stdout + age.stderr


def test_caddyfile_is_valid_and_keeps_the_portal_policy(tmp_path: Path) -> None:
    text = (DEPLOY / "caddy" / "Caddyfile").read_text()
    lines = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    assert not any(line.startswith("log ") and "default" not in line for line in lines)
    for line in ("header_up -X-Real-IP", "header_up -Forwarded", "respond /healthz 404"):
        assert line in lines
    # Caddy sets X-Forwarded-For from the TCP peer only while no proxy is trusted.
    assert "header_up -X-Forwarded-For" not in lines
    assert not any("trusted_proxies" in line for line in lines)
    assert 'Strict-Transport-Security "max-age=31536000; includeSubDomains"' in lines
    assert f"max_size {Settings().max_body_bytes // 1024}KiB" in lines
    assert not any(line.startswith("encode") for line in lines)  # BREACH
    caddy = _tool("caddy")
    if not caddy:
        pytest.skip("caddy not installed (Debian package caddy) for `caddy validate`")
    home = str(tmp_path)
    result = subprocess.run(
        [caddy, "validate", "--adapter", "caddyfile", "--config", str(DEPLOY / "caddy/Caddyfile")],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "HOME": home, "XDG_DATA_HOME": home, "XDG_CONFIG_HOME": home},
    )
    assert result.returncode == 0, result.stderr
    assert "Valid configuration" in result.stderr + result.stdout


def test_nginx_body_limit_matches_the_portal() -> None:
    text = (DEPLOY / "nginx" / "portal.conf").read_text()
    assert f"client_max_body_size {Settings().max_body_bytes // 1024}k;" in text


def test_systemd_units_verify() -> None:
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        pytest.skip("systemd-analyze not installed")
    units = [
        "portal.service",
        "portal@.service",
        "portal-backup.service",
        "portal-backup-failed.service",
        "portal-backup.timer",
    ]
    result = subprocess.run(
        [analyze, "verify", "--man=no", *units],
        cwd=DEPLOY / "systemd",
        capture_output=True,
        text=True,
        check=False,
    )
    # The portal is not installed in /opt/portal on a test machine; nothing else may fail.
    problems = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if line.strip() and "/opt/portal/venv/bin/portal is not executable" not in line
    ]
    assert not problems, problems


def test_torrc_snippet_verifies_with_tor(tmp_path: Path) -> None:
    """The shipped torrc lines, as Tor itself reads them: the circuit id goes to nginx
    over the PROXY protocol, and the proof-of-work defence is on."""
    text = (DEPLOY / "tor" / "torrc-snippet").read_text()
    lines = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    assert "HiddenServiceExportCircuitID haproxy" in lines
    assert "HiddenServicePoWDefensesEnabled 1" in lines
    tor = _tool("tor")
    if not tor:
        pytest.skip("tor not installed (Debian package tor) for `tor --verify-config`")
    service = tmp_path / "hs"
    service.mkdir(mode=0o700)
    torrc = tmp_path / "torrc"
    torrc.write_text(
        text.replace("/var/lib/tor/portal/", str(service) + "/")
        + f"\nDataDirectory {tmp_path / 'data'}\nSocksPort 0\n"
    )
    result = subprocess.run(
        [tor, "--verify-config", "-f", str(torrc)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Configuration was valid" in result.stdout
