"""A client's needs: structured choices only, never free text (docs/design.md section 5).

Each field is a short code from a fixed list; labels are msgids shown in the staff's
language. The story itself never goes here: it belongs in sealed notes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from portal.domain.errors import InputRejected
from portal.i18n import N_

# Languages and dialects an investigator may work in or a client may need.
LANGUAGES: dict[str, str] = {
    "fi": N_("Finnish"),
    "sv": N_("Swedish"),
    "en": N_("English"),
    "ru": N_("Russian"),
    "uk": N_("Ukrainian"),
    "ro": N_("Romanian"),
    "bg": N_("Bulgarian"),
    "hu": N_("Hungarian"),
    "pl": N_("Polish"),
    "et": N_("Estonian"),
    "th": N_("Thai"),
    "vi": N_("Vietnamese"),
    "tl": N_("Tagalog"),
    "zh": N_("Chinese (Mandarin)"),
    "yue": N_("Chinese (Cantonese)"),
    "ar": N_("Arabic (Modern Standard)"),
    "ar-lev": N_("Arabic (Levantine)"),
    "ar-iq": N_("Arabic (Iraqi)"),
    "ar-ma": N_("Arabic (Moroccan)"),
    "fa": N_("Persian (Farsi)"),
    "prs": N_("Dari"),
    "ckb": N_("Kurdish (Sorani)"),
    "kmr": N_("Kurdish (Kurmanji)"),
    "so": N_("Somali"),
    "ti": N_("Tigrinya"),
    "am": N_("Amharic"),
    "es": N_("Spanish"),
    "pt": N_("Portuguese"),
    "fr": N_("French"),
    "ne": N_("Nepali"),
    "bn": N_("Bengali"),
    "ur": N_("Urdu"),
    "tr": N_("Turkish"),
    "sq": N_("Albanian"),
}
YES_NO = {"no": N_("No"), "yes": N_("Yes")}
GENDER_WISH = {"any": N_("No preference"), "female": N_("A woman"), "male": N_("A man")}
STAFF_GENDER = {"unspecified": N_("Not stated"), "female": N_("Woman"), "male": N_("Man")}
ACCESSIBILITY = {
    "none": N_("No special needs"),
    "wheelchair": N_("Step-free access (wheelchair)"),
    "hearing": N_("Hearing: sign language or a hearing loop"),
    "vision": N_("Vision: help with reading and finding the way"),
    "other": N_("Other: the client tells at the meeting"),
}
VENUES = {
    "any": N_("No preference"),
    "police_station": N_("Police station"),
    "ngo_premises": N_("Support organisation's premises"),
    "other": N_("Other safe venue"),
}
URGENCY = {
    "normal": N_("Within a few weeks"),
    "soon": N_("Within a week"),
    "urgent": N_("As soon as possible (safety risk)"),
}
REFLECTION = {
    "no": N_("No"),
    "yes": N_("Yes, no right of residence"),
    "unsure": N_("Not sure yet"),
}
SAFE_CONTACT = {
    "via_ngo": N_("Only through the support organisation"),
    "client_checks": N_("The client checks the portal with their code"),
    "none": N_("No contact between meetings"),
}


@dataclass(frozen=True)
class Needs:
    language: str
    interpreter_needed: bool
    interpreter_gender: str
    interpreter_other_community: bool
    investigator_gender: str
    support_person: bool
    accessibility: str
    childcare: bool
    venue_preference: str
    urgency: str
    minor: bool
    reflection_period: str
    safe_contact: str

    @property
    def wish(self) -> SlotWish:
        return SlotWish(
            self.language, self.interpreter_needed, self.investigator_gender, self.venue_preference
        )

    def as_row(self) -> dict[str, Any]:
        """Column values: flags as 0/1 integers, which both databases store alike."""
        return {k: int(v) if isinstance(v, bool) else v for k, v in asdict(self).items()}

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Needs:
        values = {name: row[name] for name in cls.__dataclass_fields__}
        for flag in (
            "interpreter_needed",
            "interpreter_other_community",
            "support_person",
            "childcare",
            "minor",
        ):
            values[flag] = bool(values[flag])
        return cls(**values)


CHOICES: dict[str, dict[str, str]] = {
    "language": LANGUAGES,
    "interpreter_needed": YES_NO,
    "interpreter_gender": GENDER_WISH,
    "interpreter_other_community": YES_NO,
    "investigator_gender": GENDER_WISH,
    "support_person": YES_NO,
    "accessibility": ACCESSIBILITY,
    "childcare": YES_NO,
    "venue_preference": VENUES,
    "urgency": URGENCY,
    "minor": YES_NO,
    "reflection_period": REFLECTION,
    "safe_contact": SAFE_CONTACT,
}
LABELS: dict[str, str] = {
    "language": N_("Language or dialect for the meeting"),
    "interpreter_needed": N_("Interpreter needed"),
    "interpreter_gender": N_("Interpreter's gender"),
    "interpreter_other_community": N_("Interpreter must not come from the client's community"),
    "investigator_gender": N_("Investigator's gender"),
    "venue_preference": N_("Meeting place"),
    "support_person": N_("Support person comes along"),
    "accessibility": N_("Accessibility"),
    "childcare": N_("Childcare needed"),
    "urgency": N_("Urgency"),
    "minor": N_("The client may be under 18"),
    "reflection_period": N_("Reflection period needed"),
    "safe_contact": N_("Safe contact between meetings"),
}


@dataclass(frozen=True)
class SlotWish:
    """What a free time must fit (bookings.matching_slots): the needs a search of times
    uses. The search begins once the meeting's language is chosen; a question not
    answered yet does not narrow it (any gender, any place), and until the interpreter
    question is answered only investigators who speak the language are offered (they fit
    whatever the answer). Booking still needs every question answered."""

    language: str
    interpreter_needed: bool
    investigator_gender: str
    venue_preference: str


def _chosen(form: dict[str, str], name: str) -> str | bool | None:
    """The answer to one question, or None if it is not one of its choices. Nothing has
    a default: every question is answered by the person booking."""
    options = CHOICES[name]
    value = form.get(name, "")
    if value not in options:
        return None
    return value == "yes" if options is YES_NO else value


def parse_needs(form: dict[str, str]) -> tuple[Needs | None, list[InputRejected]]:
    """Needs from form values; every field must be one of its choices."""
    values = {name: _chosen(form, name) for name in CHOICES}
    errors = [
        InputRejected(name, N_("Choose one of the options."))
        for name, value in values.items()
        if value is None
    ]
    if errors:
        return None, errors
    return Needs(**values), []  # type: ignore[arg-type]  # None ruled out above


def parse_wish(form: dict[str, str]) -> SlotWish | None:
    """The search's part of the needs (SlotWish), or None before the language is chosen."""
    language = _chosen(form, "language")
    if not isinstance(language, str):
        return None
    interpreter = _chosen(form, "interpreter_needed")
    gender = _chosen(form, "investigator_gender")
    venue = _chosen(form, "venue_preference")
    return SlotWish(
        language,
        interpreter is True,
        gender if isinstance(gender, str) else "any",
        venue if isinstance(venue, str) else "any",
    )


def describe_answers(form: Mapping[str, str]) -> list[tuple[str, str]]:
    """(label, choice) msgid pairs for the questions answered in a booking form's values,
    in form order: what a worker checks before sending a kept booking again."""
    return [
        (label, CHOICES[name][form[name]])
        for name, label in LABELS.items()
        if form.get(name) in CHOICES[name]
    ]


def describe(row: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) msgid pairs for showing stored needs to staff, in form order."""
    described = []
    for name, label in LABELS.items():
        value = row[name]
        key = value if isinstance(value, str) else ("yes" if value else "no")
        described.append((label, CHOICES[name].get(key, key)))
    return described
