"""Recognition "An toàn về ANTT" on the desk: the units in scope for a campaign year, a unit's
checklist, ticks, steps and the decision, through db/services/recognition.py as in chat (the
same rights); hamlet heads read their hamlet's checklist and what is missing."""

from datetime import date

from aiohttp import web

from db.models import Area, Campaign, RecognitionCriterion
from db.services.campaigns import campaign_for_report, campaign_years
from db.services.criteria import KIND_LABELS, RecognitionUnit
from db.services.households import households_missing
from db.services.members import OFFICER_ROLES, scope_covers
from db.services.recognition import (
    RESULT_LABELS,
    STATUS_LABELS,
    STEPS,
    Decision,
    advance,
    decide,
    get_recognition,
    label_status,
    may_decide,
    may_prepare,
    note,
    register_unit,
    tick,
    unit_by_ref,
    unit_checklist,
    unit_lines,
    units_of,
)
from db.services.tips import place_trail
from db.text import N_, Problem
from desk.access import (
    OutOfScope,
    area_in_scope,
    db,
    home_area,
    officers,
    staff,
    within,
)
from desk.app import context_of, render, url
from desk.keys import MEMBER
from desk.pages.overview import _year, today

MISSING_SHOWN = 50


async def _campaign(request: web.Request, area: Area, year: int | None) -> Campaign:
    campaign = await campaign_for_report(db(request), area, today(request), year)
    if campaign is None:
        raise Problem(N_("Không có đợt thi đua nào cho {area}."), area=area.name)
    return campaign


def _number(text: str) -> int:
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else 0


async def _unit(request: web.Request) -> RecognitionUnit:
    """The unit of the path if the member's scope covers it; OutOfScope (404) otherwise."""
    unit = await unit_by_ref(db(request), request.match_info["kind"], _number(request.match_info["id"]))
    if unit is None or not scope_covers(request[MEMBER], unit.home):
        raise OutOfScope()
    return unit


def _unit_path(unit: RecognitionUnit, year: int) -> str:
    kind, unit_id = unit.ref
    return f"/recognition/{kind}/{unit_id}?year={year}"


@staff
async def start(request: web.Request) -> web.StreamResponse:
    """The units of the member's own area."""
    area = await home_area(db(request), request[MEMBER])
    if area is None:
        raise OutOfScope()
    raise web.HTTPSeeOther(url(request, f"/recognition/{area.code}"))


@staff
async def listing(request: web.Request) -> web.StreamResponse:
    """The area's units for a campaign year: kind, status and the criteria not met."""
    member = request[MEMBER]
    area = await area_in_scope(request, request.match_info["code"])
    campaign = await _campaign(request, area, _year(request))
    lines = []
    for line in await unit_lines(db(request), campaign, await units_of(db(request), area)):
        found = await unit_checklist(db(request), campaign, line.unit)
        lines.append((line, [item.criterion.number for item in found.unmet]))
    trail = [a for a in await place_trail(db(request), area) if within(member, a)]
    return render(request, "recognition.html", {
        "area": area, "campaign": campaign, "lines": lines, "trail": trail, "kind_labels": KIND_LABELS,
        "label_status": label_status, "years": await campaign_years(db(request), area),
        "year": campaign.year, "ref": lambda unit: "/".join(map(str, unit.ref))})


@staff
async def unit_page(request: web.Request) -> web.StreamResponse:
    """A unit's checklist: the computed criteria with their figures, the ticked ones, the steps and
    the decision (officers); for a hamlet head, read-only with the households missing."""
    member = request[MEMBER]
    unit = await _unit(request)
    campaign = await _campaign(request, unit.home, _year(request))
    found = await unit_checklist(db(request), campaign, unit)
    recognition = found.recognition
    missing, missing_total = [], 0
    if unit.kind == "hamlet" and any(item.figure is not None and item.figure.unpledged for item in found.items):
        missing, missing_total = await households_missing(db(request), "unpledged", unit.area, campaign, 0,
                                                          MISSING_SHOWN)
    open_ = recognition is None or recognition.status != "decided"
    next_step = None
    if recognition is not None and recognition.status in STEPS[:-1]:
        next_step = STEPS[STEPS.index(recognition.status) + 1]
    trail = [a for a in await place_trail(db(request), unit.home) if within(member, a)]
    return render(request, "recognition_unit.html", {
        "unit": unit, "kind": unit.ref[0], "unit_id": unit.ref[1], "campaign": campaign, "found": found,
        "recognition": recognition, "trail": trail, "kind_labels": KIND_LABELS, "label_status": label_status,
        "status_labels": STATUS_LABELS, "result_labels": RESULT_LABELS,
        "prepare": open_ and may_prepare(member, unit), "next_step": next_step,
        "decide": recognition is not None and recognition.status == "proposed"
        and may_decide(member, unit, context_of(request).settings.approver),
        "officer": member.role in OFFICER_ROLES, "missing": missing, "missing_total": missing_total,
        "today": today(request)})


@officers
async def register(request: web.Request) -> web.StreamResponse:
    """Register the unit for recognition in the campaign of the year shown."""
    unit = await _unit(request)
    form = await request.post()
    campaign = await _campaign(request, unit.home, _number(str(form.get("year", ""))) or None)
    await register_unit(db(request), request[MEMBER], campaign, unit)
    raise web.HTTPSeeOther(url(request, _unit_path(unit, campaign.year)))


async def _recognition(request: web.Request):
    """The recognition of the path and its unit, if the member's scope covers it; OutOfScope otherwise."""
    recognition = await get_recognition(db(request), _number(request.match_info["id"]))
    if recognition is None:
        raise OutOfScope()
    unit = RecognitionUnit(recognition.area, recognition.organization)
    if not scope_covers(request[MEMBER], unit.home):
        raise OutOfScope()
    return recognition, unit


async def _back(request: web.Request, recognition, unit: RecognitionUnit) -> web.HTTPSeeOther:
    campaign = await db(request).get(Campaign, recognition.campaign_id)
    return web.HTTPSeeOther(url(request, _unit_path(unit, campaign.year)))


@officers
async def step(request: web.Request) -> web.StreamResponse:
    """Take the unit to the next step (self-assessed, then proposed)."""
    recognition, unit = await _recognition(request)
    form = await request.post()
    await advance(db(request), request[MEMBER], recognition, str(form.get("status", "")))
    raise await _back(request, recognition, unit)


@officers
async def tick_(request: web.Request) -> web.StreamResponse:
    """Tick a criterion met or not, with an optional note."""
    recognition, unit = await _recognition(request)
    criterion = await db(request).get(RecognitionCriterion, _number(request.match_info["crit"]))
    if criterion is None:
        raise OutOfScope()
    form = await request.post()
    met = str(form.get("met", ""))
    if met not in ("1", "0"):
        raise Problem(N_("Hãy chọn đạt hoặc chưa đạt."))
    await tick(db(request), request[MEMBER], recognition, criterion, met == "1")
    text = str(form.get("note", "")).strip()
    if text:
        await note(db(request), request[MEMBER], recognition, criterion, text)
    raise await _back(request, recognition, unit)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Problem(N_("Hãy chọn một ngày hợp lệ.")) from None


@officers
async def decide_(request: web.Request) -> web.StreamResponse:
    """Record the decision: đạt or chưa đạt, its number and date."""
    recognition, unit = await _recognition(request)
    form = await request.post()
    decision = Decision(str(form.get("result", "")), str(form.get("number", "")), _day(str(form.get("day", ""))))
    await decide(db(request), request[MEMBER], recognition, decision, context_of(request).settings.approver,
                 today(request))
    raise await _back(request, recognition, unit)


def routes(router: web.UrlDispatcher) -> None:
    """The recognition routes."""
    router.add_get("/recognition", start, name="recognition-start")
    router.add_get("/recognition/{code}", listing, name="recognition")
    router.add_get(r"/recognition/{kind:area|org}/{id:\d+}", unit_page, name="recognition-unit")
    router.add_post(r"/recognition/{kind:area|org}/{id:\d+}/register", register, name="recognition-register")
    router.add_post(r"/recognitions/{id:\d+}/step", step, name="recognition-step")
    router.add_post(r"/recognitions/{id:\d+}/criteria/{crit:\d+}", tick_, name="recognition-tick")
    router.add_post(r"/recognitions/{id:\d+}/decision", decide_, name="recognition-decide")
