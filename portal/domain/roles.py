"""Who may do what: the roles named in docs/design.md section 2."""

from __future__ import annotations

from portal.i18n import N_

COORDINATOR = "coordinator"
INVESTIGATOR = "investigator"
NGO_WORKER = "ngo_worker"
# Staff of the assistance system or of municipal services (Ankkuri): invited to talk
# with a client, or the receiver of a referral.
ADVISER = "adviser"
STAFF_ROLES = frozenset({COORDINATOR, INVESTIGATOR, NGO_WORKER, ADVISER})
# A client holds no account: this "role" is a session opened with a client code.
CLIENT = "client"
# Not a role anyone holds: marks a route that anyone may use.
PUBLIC = "public"

ROLE_LABELS = {
    COORDINATOR: N_("Coordinator"),
    INVESTIGATOR: N_("Investigator"),
    NGO_WORKER: N_("NGO worker"),
    ADVISER: N_("Adviser"),
}
POLICE = "police"
SUPPORT = "ngo"
ASSISTANCE = "assistance"
MUNICIPAL = "municipal"
# Police units hold coordinators and investigators; support organisations (partner NGOs)
# hold NGO workers; the assistance system and municipal services hold advisers.
ROLES_BY_ORGANISATION_KIND = {
    POLICE: frozenset({COORDINATOR, INVESTIGATOR}),
    SUPPORT: frozenset({NGO_WORKER}),
    ASSISTANCE: frozenset({ADVISER}),
    MUNICIPAL: frozenset({ADVISER}),
}
# The organisations advisers come from, and referrals go to.
ADVISER_KINDS = frozenset({ASSISTANCE, MUNICIPAL})
ORGANISATION_KIND_LABELS = {
    POLICE: N_("Police unit"),
    SUPPORT: N_("Support organisation"),
    ASSISTANCE: N_("Assistance system"),
    MUNICIPAL: N_("Municipal services"),
}
ROLE_ORDER = (COORDINATOR, INVESTIGATOR, NGO_WORKER, ADVISER)


def role_groups() -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """The roles an invitation may offer, as (organisation kinds, roles) groups: every
    role, grouped under the kinds it belongs to (the police's, the NGOs', the advisers').
    The invitation form offers those of the chosen organisation's kind (the others are
    there, disabled, for static/js/invite.js when another organisation is chosen)."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for role in ROLE_ORDER:
        kinds = tuple(k for k, roles in ROLES_BY_ORGANISATION_KIND.items() if role in roles)
        groups.setdefault(kinds, []).append(role)
    return [(kinds, tuple(roles)) for kinds, roles in groups.items()]
