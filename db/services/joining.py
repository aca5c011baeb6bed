"""Joining: consent, finding the hamlet and the household, registering a new household."""

import html
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Area, Household, Member, utcnow
from db.services.audit import record
from db.services.deliveries import enqueue_one
from db.services.members import ensure_member, scope_covers
from db.text import N_, Problem, Translator, fold, nfc, visible_text

# Bump when the privacy notice changes: members then agree to the new text.
CONSENT_VERSION = "2026.1"
MAX_NAME = 200
MAX_ADDRESS = 300


async def hamlet_by_join_code(session: AsyncSession, join_code: str) -> Area | None:
    """The hamlet a join code (as typed: any case, spaces) belongs to."""
    code = "".join(join_code.split()).upper()
    if not code:
        return None
    return await session.scalar(select(Area).where(Area.join_code == code, Area.level == "hamlet"))


async def give_consent(
    session: AsyncSession, channel: str, user_id: str, locale: str | None
) -> Member:
    """Record the member's explicit agreement to the privacy notice (creating the member)."""
    member = await ensure_member(session, channel, user_id)
    member.consent_at = utcnow()
    member.consent_version = CONSENT_VERSION
    if locale and not member.locale:
        member.locale = locale
    await session.flush()
    return member


def has_consented(member: Member | None) -> bool:
    """True when the member agreed to the current privacy notice."""
    return member is not None and member.consent_version == CONSENT_VERSION


def _joinable(hamlet: Area):
    return (Household.hamlet_id == hamlet.id, Household.status == "active")


async def search_households(
    session: AsyncSession, hamlet: Area, query: str, limit: int = 8
) -> list[Household]:
    """Households of the hamlet whose head's name contains every word typed (with or without
    diacritics), or whose code is what was typed."""
    words = fold(query).split()
    if not words:
        return []
    by_name = and_(*[Household.head_name_key.contains(word, autoescape=True) for word in words])
    by_code = Household.code == "".join(query.split()).upper()
    statement = (
        select(Household)
        .where(*_joinable(hamlet), or_(by_name, by_code))
        .order_by(Household.head_name_key, Household.code)
        .limit(limit)
    )
    return list(await session.scalars(statement))


async def household_page(
    session: AsyncSession, hamlet: Area, page: int, size: int
) -> tuple[list[Household], int]:
    """One page of the hamlet's households by head's name, and how many there are."""
    total = await session.scalar(select(func.count()).select_from(Household).where(*_joinable(hamlet)))
    statement = (
        select(Household)
        .where(*_joinable(hamlet))
        .order_by(Household.head_name_key, Household.code)
        .offset(page * size)
        .limit(size)
    )
    return list(await session.scalars(statement)), total or 0


async def join_household(session: AsyncSession, member: Member, household_id: int) -> Household:
    """Put the member in an active household."""
    household = await session.get(Household, household_id)
    if household is None or household.status != "active":
        raise Problem(N_("Không tìm thấy hộ này. Bạn hãy tìm lại."))
    member.household_id = household.id
    member.household = household
    await session.flush()
    return household


def _clean(text: str, limit: int, message: str) -> str:
    # A bidi control would show the hamlet head another name or address than the one stored.
    value = nfc(visible_text(text))
    if not value or len(value) > limit or any(ord(ch) < 32 for ch in value):
        raise Problem(message, limit=limit)
    return value


def clean_head_name(text: str) -> str:
    """A typed head's name as it is stored (NFC, spaces collapsed, no invisible characters),
    or a Problem (bidi controls are refused)."""
    return _clean(text, MAX_NAME, N_("Tên chủ hộ cần từ 1 đến {limit} ký tự."))


def clean_address(text: str) -> str:
    """A typed address as it is stored, or a Problem (bidi controls are refused)."""
    return _clean(text, MAX_ADDRESS, N_("Địa chỉ cần từ 1 đến {limit} ký tự."))


async def register_household(
    session: AsyncSession, member: Member, hamlet: Area, head_name: str, address: str, size: int,
    translator: Translator, now: datetime,
) -> Household:
    """A household not on the list, waiting for the hamlet head's approval; the member is in it,
    and the hamlet's heads are told (through the delivery worker) that it waits for them."""
    head_name, address = clean_head_name(head_name), clean_address(address)
    if not 1 <= size <= 99:
        raise Problem(N_("Số người trong hộ phải từ 1 đến 99."))
    taken = set(await session.scalars(select(Household.code).where(Household.hamlet_id == hamlet.id)))
    # Households registered in chat get codes DK0001, DK0002, … (đăng ký) within the hamlet.
    number = sum(1 for code in taken if code.startswith("DK")) + 1
    while f"DK{number:04d}" in taken:
        number += 1
    household = Household(
        hamlet_id=hamlet.id, hamlet=hamlet, code=f"DK{number:04d}", head_name=head_name,
        head_name_key=fold(head_name), address=address, size=size, status="pending",
    )
    session.add(household)
    await session.flush()
    member.household_id = household.id
    member.household = household
    await session.flush()
    heads = await session.scalars(select(Member).where(
        Member.role == "hamlet_head", Member.area_id == hamlet.id, Member.unreachable_at.is_(None)))
    for head in heads:
        text = translator(head.locale, N_(
            "Có hộ mới đăng ký ở {hamlet}: {head} ({code}). Gõ /approve để duyệt.")).format(
            hamlet=html.escape(hamlet.name, quote=False),
            head=html.escape(household.head_name, quote=False), code=household.code)
        await enqueue_one(session, f"household:{household.id}:registered", head, text, now)
    return household


async def pending_households(session: AsyncSession, hamlet: Area) -> list[Household]:
    """Households of the hamlet waiting for approval, oldest first."""
    statement = select(Household).where(
        Household.hamlet_id == hamlet.id, Household.status == "pending"
    ).order_by(Household.created_at, Household.id)
    return list(await session.scalars(statement))


async def decide_household(
    session: AsyncSession, staff: Member, household_id: int, approve: bool, translator: Translator,
    now: datetime,
) -> tuple[Household, list[Member]]:
    """Approve or reject a pending household; returns it and the members who registered it,
    who are told through the delivery worker (in their language).

    Rejected households keep their row (for the record) and lose their members' link.
    """
    household = await session.get(Household, household_id)
    if household is None:
        raise Problem(N_("Không tìm thấy hộ này."))
    if not scope_covers(staff, household.hamlet):
        raise Problem(N_("Hộ này không thuộc địa bàn bạn phụ trách."))
    if household.status != "pending":
        raise Problem(N_("Hộ {code} đã được xử lý trước đó."), code=household.code)
    members = list(await session.scalars(select(Member).where(Member.household_id == household.id)))
    household.status = "active" if approve else "rejected"
    if not approve:
        for member in members:
            member.household_id = None
            member.household = None
    await session.flush()
    await record(session, staff, "household_decision", household.hamlet, subject=f"household:{household.id}",
                 detail="approved" if approve else "rejected", at=now)
    message = (N_("✅ Trưởng ấp đã duyệt hộ {head} ({code}). Gõ /pledge để xác nhận cam kết của hộ.")
               if approve else
               N_("Đăng ký hộ {head} chưa được trưởng ấp duyệt. Bạn gõ /join để chọn lại hộ, "
                  "hoặc hỏi trưởng ấp."))
    for member in members:
        text = translator(member.locale, message).format(
            head=html.escape(household.head_name, quote=False), code=household.code)
        await enqueue_one(session, f"household:{household.id}:decided", member, text, now)
    return household, members
