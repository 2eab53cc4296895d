"""Who may do what: the roles named in docs/design.md section 2."""

from __future__ import annotations

from portal.i18n import N_

COORDINATOR = "coordinator"
INVESTIGATOR = "investigator"
NGO_WORKER = "ngo_worker"
STAFF_ROLES = frozenset({COORDINATOR, INVESTIGATOR, NGO_WORKER})
# A client holds no account: this "role" is a session opened with a client code.
CLIENT = "client"
# Not a role anyone holds: marks a route that anyone may use.
PUBLIC = "public"

ROLE_LABELS = {
    COORDINATOR: N_("Coordinator"),
    INVESTIGATOR: N_("Investigator"),
    NGO_WORKER: N_("NGO worker"),
}
# Police units hold coordinators and investigators; partner NGOs hold NGO workers.
ROLES_BY_ORGANISATION_KIND = {
    "police": frozenset({COORDINATOR, INVESTIGATOR}),
    "ngo": frozenset({NGO_WORKER}),
}
ORGANISATION_KIND_LABELS = {"police": N_("Police unit"), "ngo": N_("Partner organisation")}
