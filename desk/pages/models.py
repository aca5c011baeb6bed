"""The registry of self-management models of an area on the desk: type, name, start, numbers,
status, last review; officers add and review models through db/services/self_management.py as
/models does in chat (the same rights)."""

from datetime import date

from aiohttp import web

from db.models import MODEL_STATUSES, Area, ModelType
from db.services.areas import get_area, subtree
from db.services.members import OFFICER_ROLES
from db.services.organizations import get_organization
from db.services.self_management import (
    STATUS_LABELS,
    ModelDraft,
    Unit,
    add_model,
    get_model,
    may_manage,
    model_types,
    models_in,
    review_model,
    unit_of,
    update_counts,
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
from desk.app import render, url
from desk.keys import MEMBER
from desk.pages.overview import today

SHOWN = 500
MAX_UNITS = 300


@staff
async def start(request: web.Request) -> web.StreamResponse:
    """The models of the member's own area."""
    area = await home_area(db(request), request[MEMBER])
    if area is None:
        raise OutOfScope()
    raise web.HTTPSeeOther(url(request, f"/models/{area.code}"))


@staff
async def registry(request: web.Request) -> web.StreamResponse:
    """The models run in the area (removed ones included), and the forms to add and review."""
    member = request[MEMBER]
    area = await area_in_scope(request, request.match_info["code"])
    models, total = await models_in(db(request), area, 0, SHOWN, include_removed=True)
    officer = member.role in OFFICER_ROLES
    units = [a for a in await subtree(db(request), area) if a.level in ("commune", "hamlet")][:MAX_UNITS] \
        if officer else []
    trail = [a for a in await place_trail(db(request), area) if within(member, a)]
    return render(request, "models.html", {
        "area": area, "models": [(m, unit_of(m)) for m in models], "total": total, "trail": trail,
        "status_labels": STATUS_LABELS, "statuses": MODEL_STATUSES, "officer": officer, "units": units,
        "types": await model_types(db(request), area) if officer else []})


def _count(text: str) -> int:
    text = text.strip() or "0"
    if not (text.isascii() and text.isdigit() and len(text) <= 7):
        raise Problem(N_("Gõ ba số cách nhau bởi dấu cách: số tổ, số điểm, số thành viên (ví dụ: 3 5 40)."))
    return int(text)


def _day(text: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Problem(N_("Hãy chọn một ngày hợp lệ.")) from None


async def _unit(request: web.Request, code: str) -> Unit:
    """The hamlet, commune or organization with this code, within the member's scope."""
    code = code.strip()[:40]
    area = await get_area(db(request), code)
    organization = None if area else await get_organization(db(request), code)
    if area is None and organization is None:
        raise Problem(N_("Không có ấp, xã hay đơn vị mã {code}."), code=code)
    unit = Unit(area=area, organization=organization)
    if not may_manage(request[MEMBER], unit):
        raise OutOfScope()
    return unit


@officers
async def add(request: web.Request) -> web.StreamResponse:
    """Add a model to a hamlet, commune or organization of the area."""
    area: Area = await area_in_scope(request, request.match_info["code"])
    form = await request.post()
    unit = await _unit(request, str(form.get("unit", "")))
    text = str(form.get("type", ""))
    model_type = await db(request).get(ModelType, int(text)) if text.isdigit() and len(text) < 10 else None
    if model_type is None or model_type not in await model_types(db(request), unit.home):
        raise Problem(N_("Hãy chọn loại mô hình."))
    draft = ModelDraft(str(form.get("name", "")), _day(str(form.get("started", ""))),
                       _count(str(form.get("groups", ""))), _count(str(form.get("sites", ""))),
                       _count(str(form.get("members", ""))), how_to_join=str(form.get("how", "")))
    await add_model(db(request), request[MEMBER], unit, model_type, draft)
    raise web.HTTPSeeOther(url(request, f"/models/{area.code}"))


@officers
async def review(request: web.Request) -> web.StreamResponse:
    """A review: the new status (removing needs a reason), the numbers, and today as its date."""
    text = request.match_info["id"]
    model = await get_model(db(request), int(text) if len(text) < 10 else 0)
    if model is None or not may_manage(request[MEMBER], unit_of(model)):
        raise OutOfScope()
    form = await request.post()
    counts = [_count(str(form.get(name, ""))) for name in ("groups", "sites", "members")]
    if counts != [model.groups, model.sites, model.members]:
        await update_counts(db(request), request[MEMBER], model, *counts, today(request))
    await review_model(db(request), request[MEMBER], model, str(form.get("status", model.status)), today(request),
                       str(form.get("reason", "")) or None)
    back = await area_in_scope(request, str(form.get("back", ""))) if form.get("back") else unit_of(model).home
    raise web.HTTPSeeOther(url(request, f"/models/{back.code}#model-{model.id}"))


def routes(router: web.UrlDispatcher) -> None:
    """The model routes."""
    router.add_get("/models", start, name="models-start")
    router.add_get("/models/{code}", registry, name="models")
    router.add_post("/models/{code}", add, name="model-add")
    router.add_post(r"/models/{id:\d+}/review", review, name="model-review")
