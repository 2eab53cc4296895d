"""The safety plan's section of a staff consultation page (investigator, NGO worker):
what templates/investigator/_safety_plan.html needs. The routes that save it are in
web/safety.py; a refused save comes back here through ``request.state`` so the page's
own handler draws it with every error and what was typed (the sealed details as their
envelopes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from portal.domain import safety_plans, visibility
from portal.domain.bookings import Consultation
from portal.domain.conversation import RecipientKey
from portal.domain.keys import StaffKey
from portal.domain.safety_plans import HOUSING, YES_NO, SafetyPlan
from portal.web.forms import FormState
from portal.web.visit import Visit


@dataclass(frozen=True)
class Refused:
    """A refused save: the form as typed, and the sealed details posted with it."""

    form: FormState
    envelopes: dict[str, str]


@dataclass(frozen=True)
class SafetySection:
    plan: SafetyPlan | None
    action: str
    form: FormState
    key: StaffKey | None  # the reader's current key
    recipients: list[RecipientKey]  # the keys new details are sealed to
    envelope: bytes | None  # the stored details sealed to the reader's key
    kept: dict[str, str] = field(default_factory=dict)  # a refused save's envelopes
    saved: bool = False
    housing: dict[str, str] = field(default_factory=lambda: HOUSING)
    yes_no: dict[str, str] = field(default_factory=lambda: YES_NO)

    @property
    def can_seal(self) -> bool:
        """The reader can write details: their key is among the participants'."""
        return self.key is not None and any(r.key_id == self.key.id for r in self.recipients)

    @property
    def kept_own(self) -> str:
        """The kept envelope sealed to the reader's key (the page opens it once unlocked
        and puts the text back), or ""."""
        return self.kept.get(self.key.id, "") if self.key else ""


def values_of(plan: SafetyPlan | None) -> dict[str, str]:
    if plan is None:
        return {}
    return {
        "housing": plan.housing,
        "urgent_risk": "yes" if plan.urgent_risk else "no",
        "safe_contact_agreed": "yes" if plan.safe_contact_agreed else "no",
    }


async def context(
    request: Request, visit: Visit, consultation: Consultation, key: StaffKey | None, action: str
) -> dict[str, Any]:
    """``key``: the reader's current key (None: they have none), read once by the page."""
    db, staff = visit.services.db, visit.staff
    if key is None:
        plan, envelope = await visibility.safety_plan(db, staff, consultation), None
    else:
        plan, envelope = await visibility.safety_plan_details(db, staff, consultation, key.id)
    refused: Refused | None = getattr(request.state, "safety_refused", None)
    return {
        "safety": SafetySection(
            plan=plan,
            action=action,
            form=refused.form if refused else FormState(values=values_of(plan)),
            key=key,
            recipients=await safety_plans.participants(db, consultation.id),
            envelope=envelope,
            kept=refused.envelopes if refused else {},
            saved=request.query_params.get("saved") == "safety",
        )
    }
