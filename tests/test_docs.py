"""The repository carries its own documents and points nowhere outside itself."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# The brief the project was first written from lived beside the repository; nothing
# shipped may send a reader there.
OUTSIDE = re.compile(r"\.\./shared|\bDESIGN\.md\b|\bSECURITY\.md\b|\bSTYLE\.md\b")


def _shipped_texts() -> list[Path]:
    files = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    files += sorted((REPO / "portal").rglob("*.py"))
    files += sorted((REPO / "deploy").rglob("*"))
    return [path for path in files if path.is_file()]


@pytest.mark.parametrize("path", _shipped_texts(), ids=lambda p: str(p.relative_to(REPO)))
def test_no_reference_outside_the_repository(path: Path) -> None:
    found = OUTSIDE.findall(path.read_text(errors="replace"))
    assert not found, f"{path.relative_to(REPO)} refers to {found}"


def test_the_documents_it_names_exist() -> None:
    for name in ("design.md", "security.md", "crypto.md", "operations.md", "benchmarks.md"):
        assert (REPO / "docs" / name).is_file(), name


def test_cli_help_points_nowhere_outside() -> None:
    commands = ["", "serve", "init", "migrate", "purge", "backup", "restore", "decrypt", "demo"]
    for command in commands:
        args = [sys.executable, "-m", "portal", *([command] if command else []), "--help"]
        shown = subprocess.run(args, capture_output=True, text=True, check=False, cwd=REPO)
        assert shown.returncode == 0, (command, shown.stderr)
        assert not OUTSIDE.search(shown.stdout), (command, shown.stdout)
