"""Audiences of broadcasts and reminders: who in an area receives a message, as one SQL query."""

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AUDIENCES, Area, Household, Member, Organization, Pledge, Reading
from db.text import N_, Problem

AUDIENCE_LABELS = {
    "all": N_("Tất cả bà con"),
    "unpledged": N_("Hộ chưa ký cam kết"),
    "unreached": N_("Hộ chưa được tuyên truyền"),
    "heads": N_("Trưởng ấp, khóm, thôn"),
    "representatives": N_("Người đại diện cơ quan, doanh nghiệp, trường học"),
}
# Audiences a hamlet has none of: its heads are the sender, organizations belong to communes.
NOT_IN_HAMLETS = frozenset({"heads", "representatives"})
# Audiences that are measured against a campaign (its pledges or its readings).
NEEDS_CAMPAIGN = frozenset({"unpledged", "unreached"})


def check_audience(audience: str) -> None:
    """A Problem unless `audience` is one we know."""
    if audience not in AUDIENCES:
        raise Problem(N_("Nhóm người nhận không hợp lệ: {audience}."), audience=audience)


def recipients_query(
    area: Area, audience: str, campaign_id: int | None, exclude_member_id: int | None = None
) -> Select:
    """Members (id, channel, user_id, locale) the audience reaches in `area`'s subtree.

    "all": members of the area's active households and staff scoped within the area;
    "unpledged"/"unreached": members of households with no confirmed pledge / no reading
    for the campaign; "heads": hamlet heads within the area; "representatives": those of the
    agencies, enterprises and schools of the area's communes. Unreachable members are skipped.
    """
    check_audience(audience)
    if audience in NEEDS_CAMPAIGN and campaign_id is None:
        raise Problem(N_("Địa bàn này chưa có chiến dịch đang chạy, nên chưa lọc được hộ theo "
                         "cam kết hay tuyên truyền. Hãy chọn “Tất cả bà con”."))
    areas = select(Area.id).where(Area.path.startswith(area.path, autoescape=True))
    households = select(Household.id).where(
        Household.hamlet_id.in_(areas), Household.status == "active")
    if audience == "all":
        staff = and_(Member.role != "resident", Member.area_id.in_(areas))
        chosen = or_(Member.household_id.in_(households), staff)
    elif audience == "unpledged":
        pledged = exists().where(
            Pledge.household_id == Household.id, Pledge.campaign_id == campaign_id,
            Pledge.status == "confirmed")
        chosen = Member.household_id.in_(households.where(~pledged))
    elif audience == "unreached":
        reached = exists().where(
            Reading.household_id == Household.id, Reading.campaign_id == campaign_id)
        chosen = Member.household_id.in_(households.where(~reached))
    elif audience == "representatives":
        chosen = Member.organization_id.in_(select(Organization.id).where(Organization.commune_id.in_(areas)))
    else:
        chosen = and_(Member.role == "hamlet_head", Member.area_id.in_(areas))
    query = select(Member.id, Member.channel, Member.user_id, Member.locale).where(
        chosen, Member.unreachable_at.is_(None))
    if exclude_member_id is not None:
        query = query.where(Member.id != exclude_member_id)
    return query


async def count_recipients(session: AsyncSession, query: Select) -> int:
    """How many members a recipients query reaches, counted by the database."""
    return await session.scalar(select(func.count()).select_from(query.subquery()))
