"""``portal decrypt``: open an investigator's export offline.

The export (downloaded from a consultation page) holds envelopes and the wrapped
private key; this needs the decryption passphrase, or the recovery key, typed at the
terminal. Nothing is sent anywhere; the plaintext goes to standard output or a file.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from portal.crypto.envelopes import EnvelopeError, open_json
from portal.crypto.wrapped_keys import normalise_recovery_key, unwrap
from portal.domain.needs import describe
from portal.domain.notes import KINDS

EXPORT_FORMAT = "intake-portal-notes-export"
AUTHORS = {
    "client": "the client",
    "ngo_worker": "the support organisation",
    "investigator": "the investigator",
}
TITLES = {
    "prepared_note": "Prepared note",
    "outcome": "Outcome notes",
    "identity": "Identity",
    "interview_wishes": "Wishes for the first interview",
}


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


MEETING_STATUSES = {
    "booked": "booked",
    "confirmed": "confirmed by the client",
    "change_requested": "the client asked for another time",
    "cancelled": "cancelled",
    "held": "held",
    "no_show": "the client did not come",
}
OUTCOMES = {
    "wants_to_report": "wants to report",
    "needs_time": "needs time",
    "declined": "declined",
}
# Printed on paper: no colour needed, nothing loaded from anywhere.
_STYLE = (
    "body{font:11pt/1.45 system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem}"
    "h1{font-size:1.5rem}h2{font-size:1.15rem;border-bottom:1px solid #999;margin-top:2rem}"
    "table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.25rem .5rem;"
    "border-bottom:1px solid #ddd;vertical-align:top}.note{break-inside:avoid;margin:1rem 0}"
    ".text{white-space:pre-wrap}.problem{font-style:italic}"
)


def _local(seconds: object, zone: ZoneInfo, *, date_only: bool = False) -> str:
    if not isinstance(seconds, int):
        return "-"
    moment = datetime.fromtimestamp(seconds, zone)
    return moment.strftime("%d.%m.%Y" if date_only else "%d.%m.%Y %H:%M")


def _rows(pairs: list[tuple[str, str]]) -> str:
    return "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in pairs)


def as_html(document: dict[str, Any], notes: list[OpenedNote], zone: ZoneInfo) -> str:
    """One printable page: the case in words and local times, the consent wording agreed
    to, and every note opened (all text escaped: notes are what people typed)."""
    pseudonym = str(document["consultation"]["pseudonym"])
    case = document.get("case") if isinstance(document.get("case"), dict) else None
    title = f"Case {case['case_reference']}" if case else f"Consultation {pseudonym}"
    parts = [f"<h1>{escape(title)}</h1>", f"<p>Consultation {escape(pseudonym)}</p>"]
    if case:
        facts = [
            ("Decision to report", _local(case.get("reported_at"), zone)),
            ("Outcome", OUTCOMES.get(str(case.get("outcome")), str(case.get("outcome") or "-"))),
            ("First interview", _local(case.get("first_interview_at"), zone)),
            ("Interviewer", str(case.get("first_interview_investigator_name") or "-")),
            ("Place of the first interview", str(case.get("first_interview_place") or "-")),
            ("Reflection period", str(case.get("reflection_status") or "-")
             + (f", ends {_local(case.get('reflection_ends_on'), zone, date_only=True)}"
                if case.get("reflection_ends_on") else "")),
        ]  # fmt: skip
        parts.append(f"<h2>The case</h2><table>{_rows(facts)}</table>")
        if isinstance(case.get("needs"), dict):
            try:
                needs = describe(case["needs"])
            except KeyError:
                needs = []
            parts.append(f"<h2>Needs recorded at booking</h2><table>{_rows(needs)}</table>")
        meetings = [
            (
                _local(m.get("starts_at"), zone),
                f"{m.get('place', '')}, {m.get('place_address', '')}".strip(", ")
                + (f" ({m['investigator']})" if m.get("investigator") else "")
                + f": {MEETING_STATUSES.get(str(m.get('status')), str(m.get('status')))}",
            )
            for m in case.get("meetings", [])
        ]
        parts.append(f"<h2>Meetings</h2><table>{_rows(meetings)}</table>")
        for consent in case.get("referral_consents", []):
            agreed = "yes" if consent.get("consents") else "no"
            explained = "yes" if consent.get("explained") else "no"
            parts.append(
                f"<h2>Referral consent, {escape(_local(consent.get('recorded_at'), zone))}</h2>"
                f"<p>Assistance system explained: {explained}. The client consents: {agreed}."
                f" Consent text version {escape(str(consent.get('consent_text_version')))}:</p>"
                f'<blockquote class="text">{escape(str(consent.get("consent_text", "")))}'
                "</blockquote>"
            )
    parts.append("<h2>Notes</h2>")
    for note in notes:
        kind = str((note.content or {}).get("kind", ""))
        author = AUTHORS.get(note.author_role, note.author_role)
        heading = f"{TITLES.get(kind, 'Note')} from {author}, {_local(note.created_at, zone)}"
        body = [f"<h3>{escape(heading)}</h3>"]
        if note.content is None:
            body.append(f'<p class="problem">Could not be opened ({escape(note.problem)}).</p>')
        for name, prompt in KINDS[kind].sections.items() if kind in KINDS else ():
            text = (note.content or {}).get(name)
            if isinstance(text, str) and text:
                body.append(f'<h4>{escape(prompt)}</h4><p class="text">{escape(text)}</p>')
        parts.append(f'<section class="note">{"".join(body)}</section>')
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
        + "".join(parts)
        + "</body></html>"
    )
