"""The officers' tip inbox, GlobaLeaks-like: tips in scope, filterable; a tip's page hands the
browser only ciphertext, which the officer's private key (picked locally, kept in the page's
memory) opens there. Status changes and replies go through db/services/tips.py as in chat."""

import base64
from datetime import datetime, timezone

from aiogram.utils.i18n import gettext as _
from aiohttp import web

from base.tip_labels import KIND_LABELS, STATUS_ACTIONS, STATUS_LABELS, WHEN_LABELS
from db.models import TIP_KINDS, TIP_STATUSES, Tip
from db.services.tips import (
    OFFICER_STATUSES,
    add_reply,
    change_status,
    place_trail,
    sealed_parts,
    tip_by_id_for_officer,
    tips_in_scope,
)
from db.text import N_, Problem
from desk.access import OutOfScope, db, officers
from desk.app import context_of, render, url
from desk.keys import MEMBER


def _b64(data: bytes | None) -> str | None:
    return base64.b64encode(data).decode("ascii") if data is not None else None


def _age(tip: Tip, now: datetime) -> str:
    created = tip.created_at if tip.created_at.tzinfo else tip.created_at.replace(tzinfo=timezone.utc)
    days = (now - created).days
    return _("{days} ngày").format(days=days) if days else _("hôm nay")


async def _tip(request: web.Request) -> Tip:
    """The tip of the path, if the officer's scope covers it; OutOfScope (404) otherwise, the
    same for a tip elsewhere as for one that does not exist."""
    text = request.match_info["id"]
    try:
        return await tip_by_id_for_officer(db(request), request[MEMBER], int(text) if len(text) < 10 else 0)
    except Problem:
        raise OutOfScope() from None


@officers
async def inbox(request: web.Request) -> web.StreamResponse:
    """The tips in the officer's scope: reference, kind, area, status and age; filters."""
    context = context_of(request)
    status, kind = request.query.get("status"), request.query.get("kind")
    tips, total = await tips_in_scope(db(request), request[MEMBER], status, kind)
    now = context.clock.now()
    return render(request, "tips.html", {
        "tips": [(tip, tip.reference_in(context.settings.tz), _age(tip, now)) for tip in tips], "total": total,
        "status": status if status in TIP_STATUSES else None, "kind": kind if kind in TIP_KINDS else None,
        "statuses": TIP_STATUSES, "kinds": TIP_KINDS, "status_labels": STATUS_LABELS, "kind_labels": KIND_LABELS,
        "configured": context.tip_keys is not None})


@officers
async def tip_page(request: web.Request) -> web.StreamResponse:
    """A tip: what is known without the key; its words and photos open in the browser."""
    context = context_of(request)
    tip = await _tip(request)
    trail = await place_trail(db(request), tip.area)
    return render(request, "tip.html", {
        "tip": tip, "reference": tip.reference_in(context.settings.tz), "trail": trail,
        "kind_labels": KIND_LABELS, "status_labels": STATUS_LABELS, "actions": STATUS_ACTIONS,
        "officer_statuses": OFFICER_STATUSES, "tz": context.settings.tz,
        "labels": {"when": {key: str(value) for key, value in WHEN_LABELS.items()},
                   "reply": _("Trả lời của công an"), "addition": _("Người báo bổ sung"),
                   "status": _("Đổi trạng thái"), "wrong_key": _("Khóa này không mở được tin báo này."),
                   "bad_file": _("Tệp này không phải là khóa riêng của tin báo."),
                   "place": _("Nơi xảy ra"), "when_label": _("Thời điểm"), "location": _("Vị trí")},
        "replied": request.query.get("replied") == "1"})


@officers
async def sealed(request: web.Request) -> web.StreamResponse:
    """The tip's ciphertext (base64): its words, photos and history, as stored."""
    context = context_of(request)
    tip = await _tip(request)
    photos, entries = await sealed_parts(db(request), tip)
    history = [{"kind": entry.kind, "status": entry.status,
                "at": entry.created_at.astimezone(context.settings.tz).strftime("%H:%M %d/%m/%Y")
                if entry.created_at.tzinfo else entry.created_at.replace(tzinfo=timezone.utc)
                .astimezone(context.settings.tz).strftime("%H:%M %d/%m/%Y"),
                "sealed": _b64(entry.sealed_for_officers)} for entry in entries]
    return web.json_response({"tip": _b64(tip.sealed), "photos": [_b64(p) for p in photos], "history": history})


@officers
async def set_status(request: web.Request) -> web.StreamResponse:
    """Move the tip to another status."""
    tip = await _tip(request)
    form = await request.post()
    await change_status(db(request), request[MEMBER], tip, str(form.get("status", "")))
    raise web.HTTPSeeOther(url(request, f"/tips/{tip.id}"))


@officers
async def reply(request: web.Request) -> web.StreamResponse:
    """Answer the tipster (sealed to their receipt code's key, and to the officers')."""
    keys = context_of(request).tip_keys
    if keys is None:
        raise Problem(N_("Chưa bật nhận tin báo: thiếu BINHYEN_TIP_PUBLIC_KEY."))
    tip = await _tip(request)
    form = await request.post()
    await add_reply(db(request), keys, request[MEMBER], tip, str(form.get("text", "")))
    raise web.HTTPSeeOther(url(request, f"/tips/{tip.id}?replied=1"))


def routes(router: web.UrlDispatcher) -> None:
    """The tip routes."""
    router.add_get("/tips", inbox, name="tips")
    router.add_get(r"/tips/{id:\d+}", tip_page, name="tip")
    router.add_get(r"/tips/{id:\d+}/sealed", sealed, name="tip-sealed")
    router.add_post(r"/tips/{id:\d+}/status", set_status, name="tip-status")
    router.add_post(r"/tips/{id:\d+}/reply", reply, name="tip-reply")
