"""Audit events for refused attempts (429 and the "busy" 503), kept few under a flood.

Threat: a flood turning the audit log into its amplifier. Every refused request writing
a row would cost a database write per request exactly when the portal is being hammered
(SQLite has one writer), and fill the log with noise. So a refusal is recorded at most
once a minute per action and key (the key is the limit's own: a keyed hash of the
sender or of the typed username, never stored): the log shows that a limit was hit,
when, and for which account, without counting every blocked request.
"""

from __future__ import annotations

from portal.domain import accounts
from portal.web.visit import Visit


async def refused(visit: Visit, action: str, key: str, *, username: str = "") -> None:
    """Audit a refused attempt (``action`` in ``audit.SECURITY_ACTIONS``). ``username``,
    for the per-account limit, names the account in the event if it exists; the typed
    name itself is never kept."""
    svc = visit.services
    if not await svc.limits.hit(svc.limits.per_minute(1), "audited", action, key):
        return
    await accounts.record_refusal(svc.db, svc.clock, action, username)
