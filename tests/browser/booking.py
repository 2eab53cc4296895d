"""The NGO worker's booking form in a real browser: it answers none of its questions
itself (nothing is decided by default), so a test answers every one."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.factories import NEEDS


def answer_needs(page: Page, **answers: str) -> None:
    """Choose an answer in every select of the booking form: ``answers``, else the
    in-process tests' NEEDS."""
    for name, value in {**NEEDS, **answers}.items():
        page.locator(f"select[name={name}]").select_option(value)
