"""Campaigns: the current campaign for an area, and creating one."""

from datetime import date

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import SEED_TARGETS, Area, Campaign, Member


def ancestor_ids(area: Area) -> list[int]:
    """The ids on the path from the root to `area`, root first."""
    return [int(part) for part in area.path.strip("/").split("/") if part]


# Asked on every pledge and reading: built once, its values passed as parameters.
_RUNNING = select(Campaign).where(
    Campaign.area_id.in_(bindparam("ids", expanding=True)),
    Campaign.starts_on <= bindparam("today"), Campaign.ends_on >= bindparam("today"),
)


async def current_campaign(session: AsyncSession, area: Area, today: date) -> Campaign | None:
    """The campaign running on `today` for `area`, set at the area or the nearest area above it."""
    ids = ancestor_ids(area)
    campaigns = list(await session.scalars(_RUNNING, {"ids": ids, "today": today}))
    campaigns.sort(key=lambda campaign: ids.index(campaign.area_id), reverse=True)
    return campaigns[0] if campaigns else None


async def campaign_of_member(session: AsyncSession, member: Member | None, today: date) -> Campaign | None:
    """The campaign running on `today` where the member lives (their household's hamlet, approved
    or not) or, without a household, over the area of their role; None when neither has one."""
    if member is None:
        return None
    area = member.household.hamlet if member.household is not None else member.area
    return await current_campaign(session, area, today) if area is not None else None


async def campaign_for_report(
    session: AsyncSession, area: Area, today: date, year: int | None = None
) -> Campaign | None:
    """The campaign a report on `area` is about: the one of `year` (set at the area or above),
    else the one running today, else the latest one."""
    ids = ancestor_ids(area)
    query = select(Campaign).where(Campaign.area_id.in_(ids))
    if year is not None:
        query = query.where(Campaign.year == year)
    campaigns = list(await session.scalars(query))
    if not campaigns:
        return None
    running = [c for c in campaigns if c.starts_on <= today <= c.ends_on]
    candidates = running or campaigns
    # The nearest area's campaign wins, then the latest year.
    return max(candidates, key=lambda c: (c.year, ids.index(c.area_id)))


async def create_campaign(
    session: AsyncSession,
    area: Area,
    year: int,
    name: str,
    pledge_version: str,
    targets: dict[str, float] | None = None,
) -> Campaign:
    """A calendar-year campaign for `area` with the seed targets unless others are given.

    `pledge_version` names the pledge text in the catalog (content/pledges/<version>/): the
    caller, which has the catalog, passes its newest version (db/ knows nothing of content/)."""
    campaign = Campaign(
        area_id=area.id,
        area=area,
        year=year,
        name=name,
        starts_on=date(year, 1, 1),
        ends_on=date(year, 12, 31),
        pledge_version=pledge_version,
        targets=dict(targets or SEED_TARGETS),
    )
    session.add(campaign)
    await session.flush()
    return campaign


async def all_campaigns(session: AsyncSession) -> list[Campaign]:
    """Every campaign, oldest year first (to check their pledge texts exist)."""
    return list(await session.scalars(select(Campaign).order_by(Campaign.year, Campaign.id)))


async def campaign_years(session: AsyncSession, area: Area) -> list[int]:
    """The years of the campaigns that cover `area` (set at it or above it), newest first."""
    query = select(Campaign.year).where(Campaign.area_id.in_(ancestor_ids(area))).distinct()
    return sorted(await session.scalars(query), reverse=True)
