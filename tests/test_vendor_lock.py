"""The vendored-JS lock check (tools/vendor_js.py --check) catches changed, extra and
missing files. Offline: only the committed files are read."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "tools" / "vendor_js.py"
LOCK = REPO / "static" / "vendor" / "lock.json"
NOBLE = REPO / "static" / "vendor" / "noble-hashes"


def run_check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the vendor folders, as --root for the check."""
    for folder in ("static/vendor", "tests/browser/vendor"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    return tmp_path


def locked_files() -> list[str]:
    return sorted(json.loads(LOCK.read_text())["files"])


@pytest.mark.parametrize("args", [["--check"], ["check"], ["--check", "--root", str(REPO)]])
def test_check_passes_on_repo(args: list[str]) -> None:
    result = run_check(*args)
    assert result.returncode == 0, result.stderr
    assert "ok:" in result.stdout


def test_check_passes_on_copy(tree: Path) -> None:
    result = run_check("--check", "--root", str(tree))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "rel", ["static/vendor/htmx/htmx.min.js", "static/vendor/noble-hashes/utils.js"]
)
def test_one_changed_byte_fails_naming_file(tree: Path, rel: str) -> None:
    file = tree / rel
    data = bytearray(file.read_bytes())
    data[len(data) // 2] ^= 0x01
    file.write_bytes(bytes(data))
    result = run_check("--check", "--root", str(tree))
    assert result.returncode != 0
    assert f"{rel}: content does not match" in result.stderr


@pytest.mark.parametrize(
    "rel",
    ["static/vendor/htmx/htmx-ext.js", "static/vendor/evil.js", "tests/browser/vendor/x/y.js"],
)
def test_unlisted_file_fails(tree: Path, rel: str) -> None:
    (tree / rel).parent.mkdir(parents=True, exist_ok=True)
    (tree / rel).write_text("alert(1)\n")
    result = run_check("--check", "--root", str(tree))
    assert result.returncode != 0
    assert f"{rel}: not listed" in result.stderr


def test_missing_file_fails(tree: Path) -> None:
    rel = "static/vendor/tweetnacl/nacl-fast.min.js"
    (tree / rel).unlink()
    result = run_check("--check", "--root", str(tree))
    assert result.returncode != 0
    assert f"{rel}: missing" in result.stderr


def test_manifest_bump_without_update_fails(tree: Path) -> None:
    manifest_path = tree / "static/vendor/manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["packages"]["tweetnacl"]["version"] = "1.0.4"
    manifest_path.write_text(json.dumps(manifest))
    result = run_check("--check", "--root", str(tree))
    assert result.returncode != 0
    assert "static/vendor/tweetnacl/nacl-fast.min.js: static/vendor/lock.json does not match" in (
        result.stderr
    )


def test_lock_format() -> None:
    text = LOCK.read_text()
    lock = json.loads(text)
    assert text == json.dumps(lock, indent=2, sort_keys=True) + "\n"
    assert list(lock) == ["files"]
    for path, entry in lock["files"].items():
        assert set(entry) == {"package", "version", "sri"}, path
        assert re.fullmatch(r"sha384-[A-Za-z0-9+/]{64}", entry["sri"]), path
    assert "static/vendor/htmx/htmx.min.js" in lock["files"]
    assert "tests/browser/vendor/axe-core/axe.min.js" in lock["files"]


BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
# import "x"; import ... from "x"; export ... from "x" (also across lines)
STATIC_IMPORT = re.compile(
    r"""^\s*(?:import\s*|(?:import|export)\s[^;]*?\sfrom\s*)["']([^"']+)["']""", re.MULTILINE
)


def test_noble_modules_import_only_vendored_relative_files() -> None:
    """The browser loads argon2.js as a native ES module from our origin: every import
    it pulls in, transitively, must be a relative './x.js' that we vendor (no bare
    '@noble/...' specifiers, which a browser cannot resolve without an import map)."""
    seen: set[str] = set()
    todo = ["argon2.js"]
    while todo:
        name = todo.pop()
        seen.add(name)
        code = BLOCK_COMMENT.sub("", (NOBLE / name).read_text())
        assert "import(" not in code.replace(" ", ""), f"{name}: dynamic import"
        for spec in STATIC_IMPORT.findall(code):
            assert re.fullmatch(r"\./[A-Za-z0-9_.-]+\.js", spec), f"{name} imports {spec!r}"
            assert (NOBLE / spec).is_file(), f"{name} imports {spec}, which is not vendored"
            if spec[2:] not in seen:
                todo.append(spec[2:])
    vendored = {p.name for p in NOBLE.glob("*.js")}
    assert seen == vendored, f"vendored but never imported: {vendored - seen}"
    assert {f"static/vendor/noble-hashes/{n}" for n in seen} <= set(locked_files())
