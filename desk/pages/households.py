"""A hamlet's households for its head and officers: pledge and reach status, filters, print,
and downloads of what the page shows (xlsx, csv, png), made by the report's own code in a thread.

Household heads' names are personal data: they go to the page and the file, never to a log."""

import asyncio

from aiohttp import web

from base.reports.households import (
    HouseholdList,
    build_household_list,
    households_csv,
    households_png,
    households_xlsx,
)
from db.models import Area
from db.services.campaigns import campaign_for_report
from db.services.tips import place_trail
from db.text import N_, Problem
from desk.access import OutOfScope, area_in_scope, db, staff, within
from desk.app import render
from desk.keys import MEMBER
from desk.pages.overview import FORMATS, _year, today


async def listing_of(request: web.Request) -> tuple[Area, HouseholdList]:
    """The households the request asks for: the hamlet in the member's scope, the campaign of
    ?year= (default the running one), ?show=unpledged|unreached (anything else: all)."""
    area = await area_in_scope(request, request.match_info["code"])
    if area.level != "hamlet":
        raise OutOfScope()
    campaign = await campaign_for_report(db(request), area, today(request), _year(request))
    if campaign is None:
        raise Problem(N_("Không có đợt thi đua nào cho {area}."), area=area.name)
    return area, await build_household_list(db(request), area, campaign, request.query.get("show"), today(request))


@staff
async def hamlet(request: web.Request) -> web.StreamResponse:
    """The hamlet's households; ?show=unpledged|unreached filters, ?print=1 is the print layout."""
    area, listing = await listing_of(request)
    trail = [a for a in await place_trail(db(request), area) if within(request[MEMBER], a)]
    show_query = f"&show={listing.show}" if listing.show else ""
    return render(request, "households.html", {
        "area": area, "listing": listing, "rows": listing.lines, "show": listing.show, "trail": trail,
        "printing": request.query.get("print") == "1", "year_query": f"year={listing.year}",
        "export_query": f"year={listing.year}{show_query}"})


WRITERS = {"xlsx": households_xlsx, "png": households_png,
           "csv": lambda listing: households_csv(listing).encode("utf-8")}


@staff
async def export(request: web.Request) -> web.StreamResponse:
    """What the page shows, with its filters, as xlsx, csv or png, written in a thread."""
    fmt = request.match_info["fmt"]
    _area, listing = await listing_of(request)
    body = await asyncio.to_thread(WRITERS[fmt], listing)
    return web.Response(body=body, headers={
        "Content-Type": FORMATS[fmt], "Content-Disposition": f'attachment; filename="{listing.file_stem}.{fmt}"'})


def routes(router: web.UrlDispatcher) -> None:
    """The households routes."""
    router.add_get("/hamlet/{code}", hamlet, name="hamlet")
    router.add_get("/hamlet/{code}/export.{fmt:xlsx|csv|png}", export, name="hamlet-export")
