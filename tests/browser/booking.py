"""The NGO worker's booking form in a real browser: it answers none of its questions
itself (nothing is decided by default), so a test answers every one."""

from __future__ import annotations

from playwright.sync_api import Page

ANSWERS = {
    "client_locale": "en",
    "language": "fi",
    "interpreter_needed": "no",
    "interpreter_gender": "any",
    "interpreter_other_community": "no",
    "investigator_gender": "any",
    "support_person": "yes",
    "accessibility": "none",
    "childcare": "no",
    "venue_preference": "any",
    "urgency": "soon",
    "minor": "no",
    "reflection_period": "unsure",
    "safe_contact": "via_ngo",
}


def answer_needs(page: Page, **answers: str) -> None:
    """Choose an answer in every select of the booking form: ``answers``, else ANSWERS."""
    for name, value in {**ANSWERS, **answers}.items():
        page.locator(f"select[name={name}]").select_option(value)
