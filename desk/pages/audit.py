"""The audit log of staff actions, for admins (their area's, or all for a deployment admin)."""

from aiohttp import web

from db.services.audit import ACTION_LABELS, audit_entries
from desk.access import admins, db
from desk.app import context_of, render
from desk.keys import MEMBER


@admins
async def audit(request: web.Request) -> web.StreamResponse:
    """The newest staff actions, optionally of one kind."""
    action = request.query.get("action")
    action = action if action in ACTION_LABELS else None
    entries = await audit_entries(db(request), request[MEMBER], action=action)
    return render(request, "audit.html", {"entries": entries, "labels": ACTION_LABELS, "action": action,
                                          "tz": context_of(request).settings.tz})


def routes(router: web.UrlDispatcher) -> None:
    """The audit route."""
    router.add_get("/audit", audit, name="audit")
