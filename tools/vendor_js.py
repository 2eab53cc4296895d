"""Vendor pinned front-end JavaScript from npm and verify it against a lock of SRI hashes.

Threat guarded against: the JavaScript we serve to anonymous clients (htmx, tweetnacl,
@noble/hashes) runs with full power in their browser, so a changed or tampered vendored
file -- a hijacked npm release, a bad mirror, an accidental edit, a file slipped into
a vendor folder -- could steal what they type before it is encrypted. So:

* every package is pinned to an exact version *and* the sha512 of its tarball, as
  npm records it (``dist.integrity``); ``update`` refuses a tarball that differs;
* only the listed files are taken from the tarball, read as regular files and written
  under a fixed folder (no path from the tarball is ever used);
* ``lock.json`` records a sha384 SRI hash for each vendored file; the app puts it on
  ``<script integrity=...>``, and ``check`` (no network) fails if any file is missing,
  differs from its hash, or sits unlisted in a vendor folder.

There is no CDN and no JS build step: files are served exactly as published.

Usage (from the repository root):
    .venv/bin/python tools/vendor_js.py pin NAME VERSION [--dest DIR --file PATH ...]
    .venv/bin/python tools/vendor_js.py update
    .venv/bin/python tools/vendor_js.py --check [--root DIR]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import itertools
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
MANIFEST = "static/vendor/manifest.json"
LOCK = "static/vendor/lock.json"
# Every file under these folders must be in the lock (apart from MANIFEST and LOCK).
VENDOR_ROOTS = ("static/vendor", "tests/browser/vendor")
EXACT_VERSION = re.compile(r"\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?")
SAFE_PART = re.compile(r"[A-Za-z0-9._-]+")


class VendorError(Exception):
    """A problem the user must fix; printed without a traceback."""


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    integrity: str  # npm form: "sha512-<base64 of the tarball's sha512>"
    dest: str  # folder relative to the repository root
    files: tuple[str, ...]  # paths inside the package; written to dest/<basename>

    def targets(self) -> dict[str, str]:
        """Map each vendored path (relative to the repo root) to its path in the package."""
        return {f"{self.dest}/{PurePosixPath(f).name}": f for f in self.files}


def sri(data: bytes, algorithm: str = "sha384") -> str:
    return f"{algorithm}-{base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}"


def safe_relpath(value: object, what: str) -> str:
    """Return value if it is a plain relative POSIX path ('a/b.js'), else raise."""
    parts = value.split("/") if isinstance(value, str) else []
    if not parts or not all(SAFE_PART.fullmatch(p) and p not in (".", "..") for p in parts):
        raise VendorError(f"{what}: {value!r} is not a plain relative path")
    return str(value)


def load_manifest(root: Path) -> list[Package]:
    raw = json.loads((root / MANIFEST).read_text())
    packages: list[Package] = []
    for name, entry in sorted(raw["packages"].items()):
        dest = safe_relpath(entry["dest"], f"{name} dest")
        if not any(dest.startswith(f"{r}/") for r in VENDOR_ROOTS):
            raise VendorError(f"{name}: dest {dest!r} must be inside one of {VENDOR_ROOTS}")
        files = tuple(safe_relpath(f, f"{name} file") for f in entry["files"])
        pkg = Package(name, entry["version"], entry["integrity"], dest, files)
        if len(pkg.targets()) != len(files):
            raise VendorError(f"{name}: two listed files share a basename")
        if not EXACT_VERSION.fullmatch(pkg.version) or not pkg.integrity.startswith("sha512-"):
            raise VendorError(f"{name}: needs an exact version and a sha512- integrity")
        packages.append(pkg)
    for a, b in itertools.combinations(sorted(p.dest for p in packages), 2):
        if (b + "/").startswith(a + "/"):
            raise VendorError(f"dest {b!r} overlaps dest {a!r}")
    return packages


def save_manifest(root: Path, packages: list[Package]) -> None:
    raw = {
        "packages": {
            p.name: {
                "dest": p.dest,
                "files": list(p.files),
                "integrity": p.integrity,
                "version": p.version,
            }
            for p in packages
        }
    }
    (root / MANIFEST).write_text(json.dumps(raw, indent=2, sort_keys=True) + "\n")


def npm(*args: str) -> str:
    try:
        done = subprocess.run(["npm", *args], check=True, capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise VendorError("the npm client is not installed") from exc
    except subprocess.CalledProcessError as exc:
        raise VendorError(f"npm {' '.join(args)} failed:\n{exc.stderr.strip()}") from exc
    return done.stdout


def fetch(pkg: Package, tmp: Path) -> dict[str, bytes]:
    """Download pkg with `npm pack`, verify its integrity pin, return {target: bytes}."""
    out: list[dict[str, Any]] = json.loads(
        npm(
            "pack",
            f"{pkg.name}@{pkg.version}",
            "--json",
            "--ignore-scripts",
            "--pack-destination",
            str(tmp),
        )
    )
    tarball = tmp / PurePosixPath(out[0]["filename"]).name
    actual = sri(tarball.read_bytes(), "sha512")
    if actual != pkg.integrity:
        raise VendorError(
            f"{pkg.name}@{pkg.version}: tarball integrity mismatch, refusing to vendor it\n"
            f"  manifest: {pkg.integrity}\n  npm gave: {actual}"
        )
    with tarfile.open(tarball, "r:gz") as tar:
        # npm tarballs hold one top folder (usually "package/"); strip it as npm does.
        members = {m.name.partition("/")[2]: m for m in tar.getmembers()}
        result: dict[str, bytes] = {}
        for target, inner in pkg.targets().items():
            member = members.get(inner)
            stream = tar.extractfile(member) if member and member.isfile() else None
            if stream is None:
                raise VendorError(f"{pkg.name}@{pkg.version}: no regular file {inner!r}")
            result[target] = stream.read()
    return result


def update(root: Path) -> None:
    packages = load_manifest(root)
    fetched: dict[Package, dict[str, bytes]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for pkg in packages:  # verify everything before writing anything
            fetched[pkg] = fetch(pkg, Path(tmp))
            print(f"verified {pkg.name}@{pkg.version}")
    lock: dict[str, dict[str, str]] = {}
    for pkg, files in fetched.items():
        shutil.rmtree(root / pkg.dest, ignore_errors=True)
        (root / pkg.dest).mkdir(parents=True)
        for target, data in files.items():
            (root / target).write_bytes(data)
            lock[target] = {"package": pkg.name, "version": pkg.version, "sri": sri(data)}
    (root / LOCK).write_text(json.dumps({"files": lock}, indent=2, sort_keys=True) + "\n")
    print(f"wrote {len(lock)} files and {LOCK}")
    check(root)


def pin(root: Path, name: str, version: str, dest: str | None, files: list[str]) -> None:
    if not EXACT_VERSION.fullmatch(version):
        raise VendorError(f"pin an exact version like 1.2.3, not {version!r}")
    answer = npm("view", f"{name}@{version}", "dist.integrity", "--json").strip()
    integrity = json.loads(answer) if answer else None
    if not isinstance(integrity, str) or not integrity.startswith("sha512-"):
        raise VendorError(f"npm has no sha512 integrity for {name}@{version}")
    packages = {p.name: p for p in load_manifest(root)}
    old = packages.get(name)
    dest = dest or (old.dest if old else None)
    files = files or (list(old.files) if old else [])
    if not dest or not files:
        raise VendorError(f"{name} is new: give --dest DIR and at least one --file PATH")
    packages[name] = Package(name, version, integrity, dest, tuple(files))
    save_manifest(root, list(packages.values()))
    load_manifest(root)  # validate what we wrote
    print(f"pinned {name}@{version} {integrity}\nreview the diff, then run: update")


def check(root: Path) -> None:
    """Offline: every locked file exists and matches; no unlisted files; lock matches pins."""
    locked: dict[str, dict[str, str]] = json.loads((root / LOCK).read_text())["files"]
    problems: list[str] = []
    for path, entry in sorted(locked.items()):
        file = root / safe_relpath(path, "lock entry")
        if not file.is_file():
            problems.append(f"{path}: missing")
        elif sri(file.read_bytes()) != entry["sri"]:
            problems.append(f"{path}: content does not match its SRI hash in {LOCK}")
    for vendor_root in VENDOR_ROOTS:
        for file in sorted((root / vendor_root).rglob("*")):
            rel = file.relative_to(root).as_posix()
            if (file.is_file() or file.is_symlink()) and rel not in {*locked, MANIFEST, LOCK}:
                problems.append(f"{rel}: not listed in {LOCK}")
    expected = {t: (p.name, p.version) for p in load_manifest(root) for t in p.targets()}
    for path in sorted(expected.keys() | locked.keys()):
        entry = locked.get(path, {})
        if expected.get(path) != (entry.get("package"), entry.get("version")):
            problems.append(f"{path}: {LOCK} does not match {MANIFEST}; run update")
    if problems:
        raise VendorError("vendored JS check failed:\n  " + "\n  ".join(problems))
    print(f"ok: {len(locked)} vendored files match {LOCK}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Vendor pinned npm JavaScript; verify it.")
    parser.add_argument("--check", action="store_true", help="same as the check command")
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="repository root")
    commands = parser.add_subparsers(dest="command")
    root_opt = argparse.ArgumentParser(add_help=False)
    root_opt.add_argument("--root", type=Path, default=argparse.SUPPRESS)
    commands.add_parser("check", parents=[root_opt], help="verify vendored files (offline)")
    commands.add_parser("update", parents=[root_opt], help="vendor the pinned packages")
    pin_cmd = commands.add_parser("pin", parents=[root_opt], help="pin NAME to VERSION")
    pin_cmd.add_argument("name")
    pin_cmd.add_argument("version")
    pin_cmd.add_argument("--dest", help="folder for a new package, e.g. static/vendor/foo")
    pin_cmd.add_argument("--file", action="append", default=[], help="path in the package")
    args = parser.parse_args(argv)
    root: Path = args.root.resolve()
    try:
        if args.check or args.command == "check":
            check(root)
        elif args.command == "update":
            update(root)
        elif args.command == "pin":
            pin(root, args.name, args.version, args.dest, args.file)
        else:
            parser.error("give a command: check, update or pin")
    except VendorError as exc:
        print(f"vendor_js: {exc}", file=sys.stderr)
        return 1
    except (OSError, KeyError, TypeError, ValueError) as exc:
        print(f"vendor_js: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
