"""Members: find or create a chat user, grant roles, and check what a role's scope covers."""

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import CHANNELS, LEVELS, ROLES, Area, Member
from db.services.areas import require_area
from db.text import N_, Problem

# The levels a role may be scoped to; an admin may also have no area (the whole deployment).
ROLE_LEVELS = {
    "hamlet_head": {"hamlet"},
    "officer": {"commune", "district", "province"},
    "admin": set(LEVELS),
}
STAFF_ROLES = frozenset({"hamlet_head", "officer", "admin"})
# The staff who read and answer tips, keep the campaign calendar and may send urgent messages.
OFFICER_ROLES = frozenset({"officer", "admin"})


# Asked on every update: built once, its values passed as parameters.
_MEMBER = select(Member).where(Member.channel == bindparam("channel"), Member.user_id == bindparam("user_id"))


async def get_member(session: AsyncSession, channel: str, user_id: str) -> Member | None:
    """The member for this channel user, or None when they never registered."""
    return await session.scalar(_MEMBER, {"channel": channel, "user_id": user_id})


# Channels whose user ids are numbers.
NUMERIC_ID_CHANNELS = ("telegram", "console")


async def ensure_member(session: AsyncSession, channel: str, user_id: str) -> Member:
    """The member for this channel user, created as a resident if new."""
    if channel not in CHANNELS:
        raise Problem(N_("Kênh không hợp lệ: {channel}."), channel=channel)
    member = await get_member(session, channel, user_id)
    if member is None:
        member = Member(channel=channel, user_id=user_id, role="resident")
        session.add(member)
        await session.flush()
    return member


async def grant_role(
    session: AsyncSession, channel: str, user_id: str, role: str, area_code: str | None
) -> Member:
    """Give a channel user a role scoped to an area (resident clears the scope)."""
    if role not in ROLES:
        raise Problem(N_("Vai trò không hợp lệ: {role}."), role=role)
    if channel in NUMERIC_ID_CHANNELS and not (user_id.isascii() and user_id.isdigit()):
        # Nobody could ever be that member: their updates carry a number (Zalo's ids are text).
        raise Problem(N_("Mã người dùng trên {channel} là một số (người đó gõ /id cho bot để biết), "
                         "không phải “{user}”."), channel=channel, user=user_id)
    area = await require_area(session, area_code) if area_code else None
    if role == "resident":
        area = None
    elif area is None and role != "admin":
        raise Problem(N_("Vai trò {role} cần một địa bàn (--area)."), role=role)
    elif area is not None and area.level not in ROLE_LEVELS[role]:
        raise Problem(
            N_("Vai trò {role} không gắn được với địa bàn cấp {level}."),
            role=role,
            level=area.level,
        )
    member = await ensure_member(session, channel, user_id)
    member.role = role
    member.area_id = area.id if area else None
    member.area = area
    await session.flush()
    return member


def scope_covers(member: Member | None, area: Area) -> bool:
    """True when the member's role may act on `area` (their own area or anything below it)."""
    if member is None or member.role not in STAFF_ROLES:
        return False
    if member.area is None:
        return member.role == "admin"
    return member.area.contains(area)


async def set_locale(session: AsyncSession, member: Member, locale: str) -> None:
    """Remember the member's interface language."""
    member.locale = locale
    await session.flush()


async def list_staff(session: AsyncSession) -> list[Member]:
    """Every member with a role above resident, for the operator's listing."""
    query = select(Member).where(Member.role != "resident")
    return list(await session.scalars(query.order_by(Member.role, Member.channel, Member.user_id)))
