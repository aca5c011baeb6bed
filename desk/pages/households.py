"""A hamlet's households for its head and officers: pledge and reach status, filters, print."""

from aiohttp import web

from db.services.campaigns import campaign_for_report
from db.services.households import LISTS, household_statuses
from db.services.tips import place_trail
from db.text import N_, Problem
from desk.access import OutOfScope, area_in_scope, db, staff, within
from desk.app import render
from desk.pages.overview import _year, today
from desk.keys import MEMBER


@staff
async def hamlet(request: web.Request) -> web.StreamResponse:
    """The hamlet's households; ?show=unpledged|unreached filters, ?print=1 is the print layout."""
    area = await area_in_scope(request, request.match_info["code"])
    if area.level != "hamlet":
        raise OutOfScope()
    campaign = await campaign_for_report(db(request), area, today(request), _year(request))
    if campaign is None:
        raise Problem(N_("Không có đợt thi đua nào cho {area}."), area=area.name)
    show = request.query.get("show")
    show = show if show in LISTS else None
    rows = await household_statuses(db(request), area, campaign, show)
    trail = [a for a in await place_trail(db(request), area) if within(request[MEMBER], a)]
    return render(request, "households.html", {
        "area": area, "campaign": campaign, "rows": rows, "show": show, "trail": trail,
        "printing": request.query.get("print") == "1", "year_query": f"year={campaign.year}"})


def routes(router: web.UrlDispatcher) -> None:
    """The households route."""
    router.add_get("/hamlet/{code}", hamlet, name="hamlet")
