"""The wheel is the portal: built from the source files alone and installed into a fresh
virtual environment far from the checkout, ``portal demo`` and ``portal serve`` work and
the front page has its templates and CSS (they ship as package data, setup.py).

Threat addressed: an operator who installs with ``pip install`` gets a portal that dies
at start ("static does not exist") or, worse, serves pages without their styles.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.live import free_port

REPO = Path(__file__).resolve().parents[2]
# What `pip install .` needs: nothing else from the checkout goes into the build.
SOURCES = ("pyproject.toml", "setup.py", "README.md", "portal", "templates", "static")


def _env(workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "PYTHON"))}
    env.update(
        PORTAL_DEV_SECRET_FILE=str(workdir / "dev-secret"),
        PORTAL_ARGON2_TIME_COST="1",
        PORTAL_ARGON2_MEMORY_KIB="1024",
        PORTAL_PURGE_INTERVAL_SECONDS="0",
    )
    return env


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done.stdout


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - local test server
        return response.status, response.read().decode()


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the locked dependencies and the freshly built wheel."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    source.mkdir()
    for name in SOURCES:
        origin = REPO / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(origin, source / name)
    pip = [sys.executable, "-m", "pip"]
    _run(*pip, "wheel", "--quiet", "--no-deps", "--wheel-dir", root / "dist", source, cwd=root)
    (wheel,) = (root / "dist").glob("intake_portal-*.whl")
    venv = root / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=root)
    venv_pip = [venv / "bin" / "python", "-m", "pip"]
    _run(
        *venv_pip,
        "install",
        "--quiet",
        "--require-hashes",
        "-r",
        REPO / "requirements.lock",
        cwd=root,
    )
    _run(*venv_pip, "install", "--quiet", "--no-deps", wheel, cwd=root)
    shutil.rmtree(source)  # nothing may be found beside the checkout any more
    return venv


def test_wheel_ships_templates_and_static_files(installed: Path) -> None:
    (site,) = (installed / "lib").glob("python3*/site-packages")
    package = site / "portal"
    assert (package / "templates" / "public" / "index.html").is_file()
    assert (package / "static" / "css" / "portal.css").is_file()
    assert (package / "static" / "vendor" / "lock.json").is_file()
    assert (
        package
        / "storage"
        / "migrations"
        / "versions"
        / "0009_client_keys_conversation_alerts_and_mail.py"
    ).is_file()
    # The shipped files are the checkout's, one for one.
    shipped = sorted(
        p.relative_to(package).as_posix() for p in package.glob("static/**/*") if p.is_file()
    )
    expected = sorted(
        "static/" + p.relative_to(REPO / "static").as_posix()
        for p in (REPO / "static").rglob("*")
        if p.is_file()
    )
    assert shipped == expected


def test_demo_then_serve_from_the_installed_wheel(installed: Path, tmp_path: Path) -> None:
    portal = installed / "bin" / "portal"
    env = _env(tmp_path)
    demo = _run(portal, "demo", cwd=tmp_path, env=env)
    assert "Demo data is ready" in demo
    assert (tmp_path / "portal.sqlite3").is_file()
    port = free_port()
    process = subprocess.Popen(
        [str(portal), "serve", "--port", str(port), "--no-migrate"],
        cwd=tmp_path,
        env={**env, "PORTAL_PUBLIC_URL": f"http://127.0.0.1:{port}"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                status, body = _get(base + "/healthz")
                break
            except OSError:
                assert process.poll() is None, process.communicate()[0][-3000:]
                assert time.monotonic() < deadline, "portal serve did not answer"
                time.sleep(0.2)
        assert (status, body) == (200, "ok")
        status, page = _get(base + "/")
        assert status == 200
        assert 'href="/static/css/portal.css"' in page
        status, css = _get(base + "/static/css/portal.css")
        assert status == 200
        assert css == (REPO / "static" / "css" / "portal.css").read_text(encoding="utf-8")
        assert _get(base + "/readyz") == (200, "ready")
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0]
    assert "portal 0.1.0 starting" in output
