"""The advisers' part of pages other modules own: the "ask an adviser" section of the
investigator's and the NGO worker's consultation pages. Loaded here so that each shared
handler adds one line. (What the client's meeting page says about advisers comes with
the rest of that page: domain/client_access.py ``meeting_page``.)"""

from __future__ import annotations

from typing import Any

from portal.domain import adviser_requests
from portal.domain.bookings import Consultation
from portal.domain.roles import ORGANISATION_KIND_LABELS
from portal.web.visit import Visit

# Where each requesting role's forms post.
ASK_PATHS = {"investigator": "/investigator", "ngo_worker": "/ngo"}


async def ask_context(visit: Visit, consultation: Consultation) -> dict[str, Any]:
    """What templates/adviser/_ask.html needs (the consultation was checked already)."""
    db = visit.services.db
    return {
        "adviser_requests": await adviser_requests.requests_of(db, consultation),
        "adviser_parts": await adviser_requests.parts_of(db, consultation.id),
        "adviser_organisations": await adviser_requests.organisations_to_ask(db),
        "adviser_kind_labels": ORGANISATION_KIND_LABELS,
        "adviser_path": ASK_PATHS[visit.staff.role],
    }
