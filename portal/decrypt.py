"""``portal decrypt``: open an investigator's export offline.

The export (downloaded from a consultation page) holds envelopes and the wrapped
private key; this needs the decryption passphrase, or the recovery key, typed at the
terminal. Nothing is sent anywhere; the plaintext goes to standard output or a file.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from portal.crypto.envelopes import EnvelopeError, open_json
from portal.crypto.wrapped_keys import normalise_recovery_key, unwrap
from portal.domain.notes import KINDS

EXPORT_FORMAT = "intake-portal-notes-export"
AUTHORS = {
    "client": "the client",
    "ngo_worker": "the support organisation",
    "investigator": "the investigator",
}
TITLES = {"prepared_note": "Prepared note", "outcome": "Outcome notes", "identity": "Identity"}


class ExportError(Exception):
    """The file is not a notes export this version understands."""


@dataclass(frozen=True)
class OpenedNote:
    id: str
    author_role: str
    created_at: int
    content: dict[str, Any] | None  # None: this note could not be opened
    problem: str = ""


def read_export(text: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ExportError("not a JSON file") from exc
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        raise ExportError("not a notes export")
    if document.get("version") != 1:
        raise ExportError(f"export version {document.get('version')} is not supported")
    return document


def secret_key(document: dict[str, Any], secret: str, *, recovery: bool) -> bytes:
    """Unwrap the private key (raises crypto.wrapped_keys errors on a wrong secret)."""
    field = "recovery_wrapped_key" if recovery else "wrapped_key"
    passphrase = normalise_recovery_key(secret) if recovery else secret
    return unwrap(
        base64.b64decode(document[field]),
        passphrase,
        base64.b64decode(document["public_key"]),
    )


def open_notes(document: dict[str, Any], key: bytes) -> list[OpenedNote]:
    consultation = document["consultation"]["id"]
    opened = []
    for note in document["notes"]:
        expected = {
            "v": 1,
            "consultation": consultation,
            "kind": note["kind"],
            "author": note["author_role"],
        }
        try:
            content = open_json(key, base64.b64decode(note["envelope"]), expected)
        except EnvelopeError as exc:
            opened.append(
                OpenedNote(
                    note["id"], note["author_role"], note["created_at"], None, type(exc).__name__
                )
            )
            continue
        opened.append(OpenedNote(note["id"], note["author_role"], note["created_at"], content))
    return opened


def as_text(document: dict[str, Any], notes: list[OpenedNote]) -> str:
    lines = [f"Consultation {document['consultation']['pseudonym']}", ""]
    case = document.get("case")
    if isinstance(case, dict):
        lines += ["Case (plain metadata):", json.dumps(case, indent=2, sort_keys=True), ""]
    for note in notes:
        kind = str((note.content or {}).get("kind", ""))
        author = AUTHORS.get(note.author_role, note.author_role)
        title = TITLES.get(kind, "Note")
        lines.append(f"--- {title} from {author}, {note.created_at} (epoch seconds)")
        if note.content is None:
            lines += [f"    could not be opened ({note.problem})", ""]
            continue
        for name, prompt in KINDS[kind].sections.items() if kind in KINDS else ():
            text = note.content.get(name)
            if isinstance(text, str) and text:
                lines += [prompt, text, ""]
    return "\n".join(lines)
