"""The campaign calendar: milestones and reminders of an area, add and remove (officers), through
db/services/milestones.py as in chat."""

from datetime import date

from aiohttp import web

from db.models import AUDIENCES, MILESTONE_KINDS
from db.services.audiences import AUDIENCE_LABELS
from db.services.milestones import (
    KIND_TITLES,
    ReminderSpec,
    add_milestone_in_year,
    add_reminder,
    campaign_for_year,
    get_milestone,
    milestone_title,
    milestones_for,
    may_remove,
    parse_days_before,
    reminders_for,
    remove_reminder,
)
from db.services.pledge_texts import newest_pledge_version
from db.services.schedule_times import parse_hhmm
from db.text import N_, Problem
from desk.access import OutOfScope, area_in_scope, db, home_area, officers
from desk.app import context_of, render, url
from desk.pages.overview import today
from desk.keys import MEMBER


def _year(request: web.Request) -> int:
    this = today(request).year
    text = request.query.get("year", "")
    return int(text) if text in (str(this), str(this + 1)) else this


@officers
async def start(request: web.Request) -> web.StreamResponse:
    """The calendar of the member's own area."""
    area = await home_area(db(request), request[MEMBER])
    if area is None:
        raise OutOfScope()
    raise web.HTTPSeeOther(url(request, f"/calendar/{area.code}"))


@officers
async def calendar(request: web.Request) -> web.StreamResponse:
    """The area's milestones and reminders for this year or the next."""
    area = await area_in_scope(request, request.match_info["code"])
    year = _year(request)
    campaign = await campaign_for_year(db(request), area, year)
    milestones = await milestones_for(db(request), campaign, area) if campaign else []
    reminders = await reminders_for(db(request), milestones, area)
    this = today(request).year
    return render(request, "calendar.html", {
        "area": area, "year": year, "years": (this, this + 1), "campaign": campaign,
        "milestones": milestones, "reminders": reminders, "kinds": MILESTONE_KINDS, "kind_titles": KIND_TITLES,
        "audiences": AUDIENCES, "audience_labels": AUDIENCE_LABELS, "title": milestone_title,
        "removable": lambda r: r.status != "sent" and may_remove(request[MEMBER], r),
        "tz": context_of(request).settings.tz})


def _day(text: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Problem(N_("Hãy chọn một ngày hợp lệ.")) from None


@officers
async def add_milestone(request: web.Request) -> web.StreamResponse:
    """Add (or move) a milestone."""
    context = context_of(request)
    area = await area_in_scope(request, request.match_info["code"])
    form = await request.post()
    year = int(str(form.get("year", ""))) if str(form.get("year", "")).isdigit() else today(request).year
    if year not in (today(request).year, today(request).year + 1):
        raise Problem(N_("Hãy chọn năm nay hoặc năm sau."))
    await add_milestone_in_year(
        db(request), area, year, str(form.get("kind", "")), _day(str(form.get("day", ""))),
        str(form.get("title", "")) or None, context.settings.tz, context.settings.quiet,
        newest_pledge_version(context.catalog), request[MEMBER])
    raise web.HTTPSeeOther(url(request, f"/calendar/{area.code}?year={year}"))


@officers
async def add_reminder_(request: web.Request) -> web.StreamResponse:
    """Add a reminder on a milestone for an audience of the area."""
    context = context_of(request)
    area = await area_in_scope(request, request.match_info["code"])
    form = await request.post()
    text = str(form.get("milestone", ""))
    milestone = await get_milestone(db(request), int(text)) if text.isdigit() and len(text) < 10 else None
    if milestone is None:
        raise OutOfScope()
    at = parse_hhmm(str(form.get("at", "08:00")))
    audience = str(form.get("audience", "all"))
    if at is None or audience not in AUDIENCES:
        raise Problem(N_("Hãy gõ giờ dạng HH:MM, ví dụ 08:00."))
    spec = ReminderSpec(parse_days_before(str(form.get("days", "0"))), at, audience)
    await add_reminder(db(request), milestone, area, spec, None, request[MEMBER], context.clock.now(),
                       context.settings.tz, context.settings.quiet)
    raise web.HTTPSeeOther(url(request, f"/calendar/{area.code}?year={milestone.happens_on.year}"))


@officers
async def remove(request: web.Request) -> web.StreamResponse:
    """Remove a reminder not sent yet."""
    text = request.match_info["id"]
    reminder = await remove_reminder(db(request), request[MEMBER], int(text) if len(text) < 10 else 0)
    raise web.HTTPSeeOther(url(request, f"/calendar/{reminder.area.code}"))


def routes(router: web.UrlDispatcher) -> None:
    """The calendar routes."""
    router.add_get("/calendar", start, name="calendar-start")
    router.add_get("/calendar/{code}", calendar, name="calendar")
    router.add_post("/calendar/{code}/milestones", add_milestone, name="milestone-add")
    router.add_post("/calendar/{code}/reminders", add_reminder_, name="reminder-add")
    router.add_post(r"/reminders/{id:\d+}/remove", remove, name="reminder-remove")
