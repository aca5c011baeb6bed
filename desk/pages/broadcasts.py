"""Broadcasts: the list with progress, compose (text or article, audience with a live count, now
or later, urgent for officers), cancel; all through db/services/broadcasts.py as in chat."""

from datetime import datetime

from aiogram.utils.i18n import gettext as _
from aiohttp import web

from content.catalog import DEFAULT_LANGUAGE
from db.models import AUDIENCES, Area
from db.services.audiences import AUDIENCE_LABELS
from db.services.broadcasts import (
    STATUS_LABELS,
    URGENT_ROLES,
    cancel_broadcast,
    count_audience,
    create_broadcast,
    recent_broadcasts,
)
from db.services.schedule_times import check_send_time
from db.text import N_, Problem
from desk.access import area_in_scope, db, home_area, staff
from desk.app import context_of, render, url
from desk.keys import MEMBER

MAX_AREAS = 300


async def _areas(request: web.Request) -> list[Area]:
    """The areas the member may send to: their scope, down to hamlets (at most MAX_AREAS)."""
    from db.services.areas import subtree

    scope = await home_area(db(request), request[MEMBER])
    return (await subtree(db(request), scope))[:MAX_AREAS] if scope else []


def _articles(request: web.Request) -> list[tuple[str, str]]:
    catalog = context_of(request).catalog
    return sorted((article_id, article.title) for (article_id, language), article in catalog.articles.items()
                  if language == DEFAULT_LANGUAGE)


@staff
async def listing(request: web.Request) -> web.StreamResponse:
    """The latest broadcasts in the member's scope, with their progress."""
    lines = await recent_broadcasts(db(request), request[MEMBER], limit=50)
    return render(request, "broadcasts.html", {
        "lines": lines, "status_labels": STATUS_LABELS, "audience_labels": AUDIENCE_LABELS,
        "tz": context_of(request).settings.tz, "created": request.query.get("created")})


@staff
async def compose(request: web.Request) -> web.StreamResponse:
    """The compose form."""
    return render(request, "broadcast_new.html", {
        "areas": await _areas(request), "articles": _articles(request), "audiences": AUDIENCES,
        "audience_labels": AUDIENCE_LABELS, "may_urge": request[MEMBER].role in URGENT_ROLES})


@staff
async def recipients(request: web.Request) -> web.StreamResponse:
    """The live count of who would receive it (htmx), or why nobody can be counted."""
    context = context_of(request)
    area = await area_in_scope(request, request.query.get("area", ""))
    audience = request.query.get("audience", "all")
    try:
        count = await count_audience(db(request), request[MEMBER], area, audience, context.clock.now(),
                                     context.settings.tz)
    except Problem as problem:
        from base.labels import render_problem

        return web.Response(text=render_problem(problem, markup=False), content_type="text/plain")
    return web.Response(text=_("{count} người sẽ nhận").format(count=count), content_type="text/plain")


def _when(text: str, request: web.Request) -> datetime | None:
    """The send time typed in the form (local time), or None for now."""
    if not text:
        return None
    context = context_of(request)
    try:
        moment = datetime.fromisoformat(text).replace(tzinfo=context.settings.tz)
    except ValueError:
        raise Problem(N_("Không hiểu thời gian “{text}”."), text=text[:40]) from None
    return check_send_time(moment, context.clock.now(), context.settings.tz)


@staff
async def create(request: web.Request) -> web.StreamResponse:
    """Send now or at a time, as chat does."""
    context = context_of(request)
    form = await request.post()
    area = await area_in_scope(request, str(form.get("area", "")))
    article = str(form.get("article", "")) or None
    when = _when(str(form.get("when", "")).strip(), request) if form.get("later") else None
    broadcast = await create_broadcast(
        db(request), request[MEMBER], area, str(form.get("audience", "all")), str(form.get("text", "")),
        when, form.get("urgent") == "1", context.clock.now(), context.settings.tz, context.settings.quiet,
        context.translator, article_id=article, catalog=context.catalog)
    raise web.HTTPSeeOther(url(request, f"/broadcasts?created={broadcast.id}"))


@staff
async def cancel(request: web.Request) -> web.StreamResponse:
    """Cancel a broadcast that has not started (its sender, or an officer of its area)."""
    text = request.match_info["id"]
    await cancel_broadcast(db(request), request[MEMBER], int(text) if len(text) < 10 else 0)
    raise web.HTTPSeeOther(url(request, "/broadcasts"))


def routes(router: web.UrlDispatcher) -> None:
    """The broadcast routes."""
    router.add_get("/broadcasts", listing, name="broadcasts")
    router.add_get("/broadcasts/new", compose, name="broadcast-new")
    router.add_get("/broadcasts/recipients", recipients, name="broadcast-recipients")
    router.add_post("/broadcasts", create, name="broadcast-create")
    router.add_post(r"/broadcasts/{id:\d+}/cancel", cancel, name="broadcast-cancel")
