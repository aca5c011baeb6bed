"""Tips: take a sealed tip, find it by receipt code, triage and answer it, route and read it."""

import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from nacl.public import PrivateKey, PublicKey
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import CHANNELS, TIP_KINDS, TIP_STATUSES, Area, Member, Tip, TipEntry, TipPhoto, TipRoute, utcnow
from db.services.areas import require_area
from db.services.audit import record
from db.services.campaigns import ancestor_ids
from db.services.members import OFFICER_ROLES, scope_covers
from db.services.tip_sealing import (
    CodeLookup,
    TipKeys,
    derive_lookup,
    derive_reply_key,
    new_receipt,
    same_hash,
    seal,
    unseal,
)
from db.text import N_, Problem, visible_text

MAX_TEXT = 4000
MAX_PLACE = 300
MAX_WHEN = 200
MAX_PHOTOS = 5
# Each addition is copied to the officers' group: a tip takes this many in 24 hours.
MAX_ADDITIONS_PER_DAY = 5
# The quick answers to "when did it happen?"; anything else is typed.
WHEN_CHOICES = ("now", "today", "yesterday", "days_ago", "long_ago")
# Statuses officers set; "received" is where every tip starts.
OFFICER_STATUSES = ("checking", "handled", "closed")
# Groups of the levels that receive tips: a hamlet's tips go to its commune's group.
ROUTE_LEVELS = frozenset({"province", "district", "commune"})
_REFERENCE = re.compile(r"^T-(\d{4})-(\d{1,9})$", re.IGNORECASE)
_CHAT_ID = re.compile(r"^-?[A-Za-z0-9_]{1,64}$")
# Line breaks and tabs are text; every other control, private-use, unassigned or surrogate
# character (and the replacement character) means binary garbage or a broken encoding.
_ALLOWED_CONTROLS = frozenset("\n\t")
_GARBAGE_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Cn"})


@dataclass
class TipDraft:
    """What the tipster said, collected by the conversation; only sealed once it is stored."""

    kind: str
    area_id: int
    text: str
    when_choice: str | None = None
    when_text: str | None = None
    place: str | None = None
    location: tuple[float, float] | None = None


@dataclass
class HistoryItem:
    """One line of a tip's history: a status change, a reply or an addition (opened)."""

    kind: str
    at: datetime
    status: str | None = None
    text: str | None = None
    officer_id: int | None = None


@dataclass
class OpenedTip:
    """A stored tip opened with the officers' private key."""

    tip: Tip
    draft: TipDraft
    photos: list[bytes] = field(default_factory=list)
    history: list[HistoryItem] = field(default_factory=list)


def clean_text(text: str | None, limit: int) -> str:
    """Typed text in NFC without invisible characters, or a Problem when it is empty (no
    letter or digit), longer than `limit` or garbage."""
    # Bidi controls are refused and other format characters dropped (db.text.visible_text).
    text = visible_text((text or "").replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not any(char.isalnum() for char in text):
        raise Problem(N_("Nội dung trống. Bạn hãy gõ vài dòng mô tả."))
    if any(
        (unicodedata.category(char) in _GARBAGE_CATEGORIES and char not in _ALLOWED_CONTROLS)
        or char == "\ufffd"
        for char in text
    ):
        raise Problem(N_("Nội dung có ký tự lạ, không đọc được. Bạn hãy gõ lại bằng chữ thường."))
    if len(text) > limit:
        raise Problem(N_("Nội dung dài {length} ký tự, quá giới hạn {limit} ký tự. Bạn hãy rút gọn."),
                      length=len(text), limit=limit)
    return text


def _hour(moment: datetime) -> datetime:
    """Rounded down to the hour: tipsters' times must not match up with other records."""
    return moment.replace(minute=0, second=0, microsecond=0)


def _payload(draft: TipDraft) -> bytes:
    return json.dumps({
        "v": 1,
        "text": draft.text,
        "when_choice": draft.when_choice,
        "when_text": draft.when_text,
        "place": draft.place,
        "location": list(draft.location) if draft.location else None,
    }, ensure_ascii=False).encode("utf-8")


async def submit_tip(
    session: AsyncSession, keys: TipKeys, draft: TipDraft, photos: list[bytes]
) -> tuple[Tip, str]:
    """Store a tip sealed to the officers' key; returns it and its receipt code (shown once).

    `photos` must already be cleaned (db.services.tip_photos.clean_photo)."""
    if draft.kind not in TIP_KINDS:
        raise Problem(N_("Loại vụ việc không hợp lệ."))
    area = await session.get(Area, draft.area_id)
    if area is None:
        raise Problem(N_("Địa bàn đã chọn không còn trong hệ thống. Bạn hãy chọn lại."))
    receipt = await new_receipt(keys)
    tip = Tip(
        area_id=area.id,
        area=area,
        kind=draft.kind,
        status="received",
        sealed=seal(keys.officers, _payload(draft)),
        code_hash=receipt.lookup,
        code_salt=receipt.salt,
        reply_key=bytes(receipt.key.public_key),
        created_at=_hour(utcnow()),
    )
    session.add(tip)
    await session.flush()
    session.add_all(TipPhoto(tip_id=tip.id, sealed=seal(keys.officers, photo)) for photo in photos)
    await session.flush()
    return tip, receipt.code


@dataclass(frozen=True)
class FoundTip:
    """A tip found by its receipt code, with what the code derived (its reply key comes from it)."""

    tip: Tip
    lookup: CodeLookup


async def find_by_code(session: AsyncSession, keys: TipKeys, code: str) -> FoundTip | None:
    """The tip this receipt code (normalised) belongs to, or None. Each call costs one
    argon2id derivation (in the derivations' thread), right code or wrong."""
    found = await derive_lookup(keys, code)
    tip = await session.scalar(select(Tip).where(Tip.code_hash == found.value))
    if tip is None or not same_hash(tip.code_hash, found.value):
        return None
    return FoundTip(tip, found)


async def _entries(session: AsyncSession, tip_ids: list[int]) -> list[TipEntry]:
    query = select(TipEntry).where(TipEntry.tip_id.in_(tip_ids)).order_by(TipEntry.id)
    return list(await session.scalars(query))


async def tipster_history(session: AsyncSession, found: FoundTip) -> list[HistoryItem]:
    """The tip's history as its tipster may read it: replies opened with the code's key."""
    key = await derive_reply_key(found.lookup, found.tip.code_salt)
    items = []
    for entry in await _entries(session, [found.tip.id]):
        text = None
        if entry.sealed_for_tipster is not None:
            text = unseal(key, entry.sealed_for_tipster).decode("utf-8")
        items.append(HistoryItem(entry.kind, entry.created_at, entry.status, text))
    return items


async def check_addition_room(session: AsyncSession, tip: Tip) -> None:
    """Raise a Problem when the tip is closed or took MAX_ADDITIONS_PER_DAY in the last 24 hours."""
    if tip.status == "closed":
        raise Problem(N_("Tin báo này đã đóng nên không bổ sung được nữa. Nếu có việc mới, bạn hãy gửi tin báo mới bằng /tip."))
    added = await session.scalar(select(func.count(TipEntry.id)).where(
        TipEntry.tip_id == tip.id, TipEntry.kind == "addition",
        TipEntry.created_at > utcnow() - timedelta(days=1),
    ))
    if added >= MAX_ADDITIONS_PER_DAY:
        raise Problem(N_("Tin báo này đã được bổ sung {limit} lần trong 24 giờ qua, là mức tối đa. "
                         "Bạn hãy bổ sung tiếp vào ngày mai; nếu khẩn cấp, hãy gọi ngay 113."),
                      limit=MAX_ADDITIONS_PER_DAY)


async def add_addition(session: AsyncSession, keys: TipKeys, tip: Tip, text: str) -> None:
    """The tipster adds information to their tip (sealed to both keys), if it has room."""
    await check_addition_room(session, tip)
    data = clean_text(text, MAX_TEXT).encode("utf-8")
    session.add(TipEntry(
        tip_id=tip.id,
        kind="addition",
        sealed_for_officers=seal(keys.officers, data),
        sealed_for_tipster=seal(PublicKey(tip.reply_key), data),
        created_at=_hour(utcnow()),
    ))
    await session.flush()


def parse_reference(text: str) -> tuple[int, int] | None:
    """The year and tip id of a reference such as T-2026-000123, or None."""
    match = _REFERENCE.match(text.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def _require_officer(member: Member | None, tip: Tip) -> None:
    if member is None or member.role not in OFFICER_ROLES or not scope_covers(member, tip.area):
        raise Problem(N_("Tin báo này thuộc địa bàn ngoài phạm vi bạn phụ trách."))


async def tip_for_officer(session: AsyncSession, member: Member | None, reference: str, tz: ZoneInfo) -> Tip:
    """The tip with this reference (its year in `tz`), if the member is an officer or admin
    whose scope covers it."""
    parsed = parse_reference(reference)
    tip = await session.get(Tip, parsed[1]) if parsed else None
    if tip is None or tip.year_in(tz) != parsed[0]:
        raise Problem(N_("Không có tin báo {reference}."), reference=reference.strip())
    _require_officer(member, tip)
    return tip


async def tip_by_id_for_officer(session: AsyncSession, member: Member | None, tip_id: int) -> Tip:
    """The tip with this id (from a button), if the member's scope covers it."""
    tip = await session.get(Tip, tip_id) if 0 < tip_id < 2**31 else None
    if tip is None:
        raise Problem(N_("Không có tin báo này."))
    _require_officer(member, tip)
    return tip


async def change_status(session: AsyncSession, member: Member, tip: Tip, status: str) -> None:
    """An officer moves the tip to `status`; the change is kept with the officer's id."""
    _require_officer(member, tip)
    if status not in OFFICER_STATUSES:
        raise Problem(N_("Trạng thái không hợp lệ."))
    tip.status = status
    session.add(TipEntry(tip_id=tip.id, kind="status", status=status, officer_id=member.id))
    await record(session, member, "tip_status", tip.area, subject=f"tip:{tip.id}", detail=status)


async def add_reply(session: AsyncSession, keys: TipKeys, member: Member, tip: Tip, text: str) -> None:
    """An officer answers the tipster: readable by the code's holder, and by the officers."""
    _require_officer(member, tip)
    data = clean_text(text, MAX_TEXT).encode("utf-8")
    session.add(TipEntry(
        tip_id=tip.id,
        kind="reply",
        officer_id=member.id,
        sealed_for_officers=seal(keys.officers, data),
        sealed_for_tipster=seal(PublicKey(tip.reply_key), data),
    ))
    await record(session, member, "tip_reply", tip.area, subject=f"tip:{tip.id}")


def _in_scope(member: Member):
    """A filter on Tip for the tips whose area lies within the member's scope."""
    if member.area is None:
        return Tip.id.is_not(None)
    return Tip.area_id.in_(select(Area.id).where(Area.path.startswith(member.area.path, autoescape=True)))


async def open_tips(session: AsyncSession, member: Member, limit: int) -> tuple[list[Tip], int]:
    """The newest tips not closed within an officer's scope (at most `limit`), and how many there are."""
    if member.role not in OFFICER_ROLES:
        return [], 0
    where = (_in_scope(member), Tip.status != "closed")
    total = await session.scalar(select(func.count(Tip.id)).where(*where))
    tips = await session.scalars(select(Tip).where(*where).order_by(Tip.id.desc()).limit(limit))
    return list(tips), total or 0


async def tips_in_scope(
    session: AsyncSession, member: Member, status: str | None = None, kind: str | None = None,
    area: Area | None = None, limit: int = 200,
) -> tuple[list[Tip], int]:
    """The newest tips within an officer's scope (of `area` when given), filtered by status and
    kind (at most `limit`), and how many match."""
    if member.role not in OFFICER_ROLES:
        return [], 0
    where = [_in_scope(member)]
    if status in TIP_STATUSES:
        where.append(Tip.status == status)
    if kind in TIP_KINDS:
        where.append(Tip.kind == kind)
    if area is not None:
        where.append(Tip.area_id.in_(select(Area.id).where(Area.path.startswith(area.path, autoescape=True))))
    total = await session.scalar(select(func.count(Tip.id)).where(*where))
    tips = await session.scalars(select(Tip).where(*where).order_by(Tip.id.desc()).limit(limit))
    return list(tips), total or 0


async def sealed_parts(session: AsyncSession, tip: Tip) -> tuple[list[bytes], list[TipEntry]]:
    """A tip's photos and history as stored (sealed): what the desk hands to the officer's
    browser, which opens them with the private key."""
    photos = await session.scalars(select(TipPhoto.sealed).where(TipPhoto.tip_id == tip.id).order_by(TipPhoto.id))
    return list(photos), await _entries(session, [tip.id])


async def set_route(session: AsyncSession, area_code: str, channel: str, chat_id: str) -> TipRoute:
    """Send copies of the area's new tips to this group chat (replacing an earlier one)."""
    area = await require_area(session, area_code)
    if area.level not in ROUTE_LEVELS:
        raise Problem(N_("Nhóm nhận tin báo gắn với xã/phường (hoặc cấp trên), không gắn với cấp {level}."),
                      level=area.level)
    if channel not in CHANNELS:
        raise Problem(N_("Kênh không hợp lệ: {channel}."), channel=channel)
    chat_id = chat_id.strip()
    if not _CHAT_ID.match(chat_id):
        raise Problem(N_("Mã nhóm chat không hợp lệ: {chat}."), chat=chat_id)
    route = await session.scalar(
        select(TipRoute).where(TipRoute.area_id == area.id, TipRoute.channel == channel)
    )
    if route is None:
        route = TipRoute(area_id=area.id, area=area, channel=channel, chat_id=chat_id)
        session.add(route)
    route.chat_id = chat_id
    await session.flush()
    return route


async def route_for(session: AsyncSession, area: Area, channel: str) -> TipRoute | None:
    """The group for a tip of `area` on `channel`: the area's own, else the nearest above it."""
    ids = ancestor_ids(area)
    routes = {
        route.area_id: route
        for route in await session.scalars(
            select(TipRoute).where(TipRoute.area_id.in_(ids), TipRoute.channel == channel)
        )
    }
    return next((routes[area_id] for area_id in reversed(ids) if area_id in routes), None)


async def list_routes(session: AsyncSession) -> list[TipRoute]:
    """Every officers' group, by area code."""
    routes = await session.scalars(select(TipRoute).join(TipRoute.area).order_by(Area.code, TipRoute.channel))
    return list(routes)


async def tips_in_area(session: AsyncSession, area: Area) -> list[Tip]:
    """Every tip of the area's subtree, oldest first (for the officers' listing and export)."""
    below = select(Area.id).where(Area.path.startswith(area.path, autoescape=True))
    return list(await session.scalars(select(Tip).where(Tip.area_id.in_(below)).order_by(Tip.id)))


def _draft(tip: Tip, payload: dict) -> TipDraft:
    location = payload.get("location")
    return TipDraft(
        kind=tip.kind,
        area_id=tip.area_id,
        text=payload["text"],
        when_choice=payload.get("when_choice"),
        when_text=payload.get("when_text"),
        place=payload.get("place"),
        location=tuple(location) if location else None,
    )


async def open_stored_tips(session: AsyncSession, key: PrivateKey, tips: list[Tip]) -> list[OpenedTip]:
    """Open tips, their photos and history with the officers' private key."""
    ids = [tip.id for tip in tips]
    photos: dict[int, list[bytes]] = {tip_id: [] for tip_id in ids}
    history: dict[int, list[HistoryItem]] = {tip_id: [] for tip_id in ids}
    if ids:
        for photo in await session.scalars(select(TipPhoto).where(TipPhoto.tip_id.in_(ids)).order_by(TipPhoto.id)):
            photos[photo.tip_id].append(unseal(key, photo.sealed))
        for entry in await _entries(session, ids):
            text = None
            if entry.sealed_for_officers is not None:
                text = unseal(key, entry.sealed_for_officers).decode("utf-8")
            history[entry.tip_id].append(
                HistoryItem(entry.kind, entry.created_at, entry.status, text, entry.officer_id)
            )
    return [
        OpenedTip(tip, _draft(tip, json.loads(unseal(key, tip.sealed))), photos[tip.id], history[tip.id])
        for tip in tips
    ]


async def place_trail(session: AsyncSession, area: Area) -> list[Area]:
    """The area and the areas above it, root first (for "Ấp …, Xã …, Tỉnh …")."""
    ids = ancestor_ids(area)
    found = {found.id: found for found in await session.scalars(select(Area).where(Area.id.in_(ids)))}
    return [found[area_id] for area_id in ids if area_id in found]
