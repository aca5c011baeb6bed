"""Joining a household that already has members: the newcomer asks, one of the members or the
hamlet head (or an officer above) confirms or refuses, and everyone concerned is told through
the delivery worker."""

import html
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Area, Household, JoinRequest, Member, utcnow
from db.services.deliveries import enqueue_one
from db.services.members import STAFF_ROLES, scope_covers
from db.text import N_, Problem, Translator, nfc, visible_text

MAX_NOTE = 100
# Requests /requests shows at once, each with its own buttons.
MAX_SHOWN = 20


async def other_members(session: AsyncSession, household_id: int, member: Member | None) -> list[Member]:
    """The members of the household but `member`."""
    query = select(Member).where(Member.household_id == household_id)
    if member is not None:
        query = query.where(Member.id != member.id)
    return list(await session.scalars(query))


def clean_note(text: str) -> str:
    """What a newcomer wrote to be recognised, as stored; a Problem when it will not do."""
    note = nfc(visible_text(text))
    if not 2 <= len(note) <= MAX_NOTE or any(ord(char) < 32 for char in note):
        raise Problem(N_("Bạn gõ vài chữ để người trong hộ nhận ra bạn (từ 2 đến {limit} ký tự)."),
                      limit=MAX_NOTE)
    return note


async def _heads(session: AsyncSession, hamlet: Area) -> list[Member]:
    return list(await session.scalars(select(Member).where(
        Member.role == "hamlet_head", Member.area_id == hamlet.id, Member.unreachable_at.is_(None))))


async def request_to_join(
    session: AsyncSession, member: Member, household_id: int, note: str, translator: Translator,
    now: datetime,
) -> JoinRequest:
    """Ask to join an active household that has members; they and the hamlet's heads are told.
    An earlier request of the member that still waits becomes this one."""
    household = await session.get(Household, household_id)
    if household is None or household.status != "active":
        raise Problem(N_("Không tìm thấy hộ này. Bạn hãy tìm lại."))
    if member.household_id == household.id:
        raise Problem(N_("Bạn đã ở trong hộ này rồi."))
    note = clean_note(note)
    request = await session.scalar(select(JoinRequest).where(
        JoinRequest.member_id == member.id, JoinRequest.status == "pending"))
    if request is None:
        request = JoinRequest(member_id=member.id, member=member, status="pending")
        session.add(request)
    # One request waits per member: a new one replaces it.
    request.household_id, request.household, request.note, request.created_at = household.id, household, note, now
    await session.flush()
    told = {member.id}
    for recipient in [*await other_members(session, household.id, member), *await _heads(session, household.hamlet)]:
        if recipient.id in told or recipient.unreachable_at is not None:
            continue
        told.add(recipient.id)
        text = translator(recipient.locale, N_(
            "Có người xin vào hộ {head} ({code}) và tự giới thiệu: “{note}”. Nếu đúng là người "
            "trong hộ, bạn gõ /requests để đồng ý; nếu không, để từ chối.")).format(
            head=html.escape(household.head_name, quote=False), code=household.code,
            note=html.escape(note, quote=False))
        await enqueue_one(session, f"household:{household.id}:join:{request.id}", recipient, text, now)
    return request


def may_decide(member: Member | None, request: JoinRequest) -> bool:
    """True for a member of the household (not the asker) and for staff whose scope covers
    its hamlet."""
    if member is None or member.id == request.member_id:
        return False
    return member.household_id == request.household_id or scope_covers(member, request.household.hamlet)


async def requests_to_decide(session: AsyncSession, member: Member | None) -> list[JoinRequest]:
    """The waiting requests the member may decide, oldest first (at most MAX_SHOWN + 1, so the
    caller knows there are more)."""
    if member is None:
        return []
    query = select(JoinRequest).join(JoinRequest.household).join(Household.hamlet).where(
        JoinRequest.status == "pending", JoinRequest.member_id != member.id)
    mine = JoinRequest.household_id == member.household_id if member.household_id else None
    scope = None
    if member.role in STAFF_ROLES and member.area is not None:
        scope = Area.path.startswith(member.area.path, autoescape=True)
    elif member.role == "admin":
        scope = JoinRequest.id.is_not(None)
    wanted = [condition for condition in (mine, scope) if condition is not None]
    if not wanted:
        return []
    query = query.where(or_(*wanted)).order_by(JoinRequest.created_at, JoinRequest.id).limit(MAX_SHOWN + 1)
    return list(await session.scalars(query))


async def decide_join(
    session: AsyncSession, decider: Member | None, request_id: int, approve: bool, translator: Translator,
    now: datetime,
) -> JoinRequest:
    """Confirm or refuse a request; the asker joins the household (when confirmed) and is told
    through the delivery worker. The note they wrote is erased either way."""
    request = await session.get(JoinRequest, request_id) if 0 < request_id < 2**31 else None
    if request is None or not may_decide(decider, request):
        raise Problem(N_("Yêu cầu này không thuộc phạm vi của bạn, hoặc không còn nữa."))
    if request.status != "pending":
        raise Problem(N_("Yêu cầu này đã được xử lý trước đó."))
    household, asker = request.household, request.member
    request.status = "approved" if approve else "refused"
    request.note = None
    request.decided_by_id, request.decided_at = decider.id, utcnow()
    if approve:
        asker.household_id = household.id
        asker.household = household
    await session.flush()
    message = (N_("✅ Bạn đã được xác nhận vào hộ {head} ({code}). Gõ /pledge để xem cam kết của hộ.")
               if approve else
               N_("Yêu cầu vào hộ {head} ({code}) không được đồng ý. Bạn gõ /join để chọn lại hộ, "
                  "hoặc hỏi trưởng ấp."))
    text = translator(asker.locale, message).format(
        head=html.escape(household.head_name, quote=False), code=household.code)
    await enqueue_one(session, f"household:{household.id}:join:{request.id}:decided", asker, text, now)
    return request
