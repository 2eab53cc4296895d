"""``portal decrypt --html``: a case bundle as one printable page, everything escaped."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from portal.decrypt import OpenedNote, as_html

DOCUMENT = {
    "consultation": {"id": "c1", "pseudonym": "Blue Heron 7"},
    "case": {
        "case_reference": "HEL/2026/77",
        "reported_at": 1_800_000_000,
        "first_interview_at": 1_800_086_400,
        "first_interview_investigator_name": "Mikko Laine",
        "outcome": "wants_to_report",
        "meetings": [
            {"starts_at": 1_799_900_000, "status": "held", "place": "Pasila <station>",
             "place_address": "Street 1", "investigator": "Mikko Laine"},
        ],
        "referral_consents": [
            {"consent_text_version": 2, "explained": True, "consents": True,
             "recorded_at": 1_799_990_000, "consent_text": "The <b>assistance</b> system..."},
        ],
    },
}  # fmt: skip


def test_the_page_is_in_words_and_local_time_and_escapes_what_people_typed() -> None:
    note = OpenedNote(
        "n1",
        "ngo_worker",
        1_799_000_000,
        {"kind": "prepared_note", "fears": "<script>alert(1)</script> the landlord"},
    )
    page = as_html(DOCUMENT, [note], ZoneInfo("Europe/Helsinki"))
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; the landlord" in page
    assert "The &lt;b&gt;assistance&lt;/b&gt; system..." in page  # the wording agreed to
    assert "Pasila &lt;station&gt;, Street 1 (Mikko Laine): held" in page
    assert "16.01.2027 10:00" in page  # 1_800_086_400 in Helsinki (UTC+2 in January)
    assert "wants to report" in page and "Prepared note from the support organisation" in page
