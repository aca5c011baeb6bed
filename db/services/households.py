"""The hamlet head's lists: households not yet pledged, and not yet reached by outreach."""

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Area, Campaign, Household, Pledge, Reading

LISTS = ("unpledged", "unreached")


def _missing(which: str, campaign: Campaign):
    """The condition "this household has no confirmed pledge / no reading in the campaign"."""
    if which == "unpledged":
        return ~exists().where(
            Pledge.household_id == Household.id, Pledge.campaign_id == campaign.id,
            Pledge.status == "confirmed",
        )
    return ~exists().where(Reading.household_id == Household.id, Reading.campaign_id == campaign.id)


async def households_missing(
    session: AsyncSession, which: str, hamlet: Area, campaign: Campaign, page: int, size: int
) -> tuple[list[Household], int]:
    """One page of the hamlet's active households that have not pledged / not been reached,
    and how many there are in all."""
    where = (Household.hamlet_id == hamlet.id, Household.status == "active", _missing(which, campaign))
    total = await session.scalar(select(func.count()).select_from(Household).where(*where))
    statement = (
        select(Household).where(*where)
        .order_by(Household.code).offset(page * size).limit(size)
    )
    return list(await session.scalars(statement)), total or 0


async def household_statuses(
    session: AsyncSession, hamlet: Area, campaign: Campaign, which: str | None = None
) -> list[tuple[Household, bool, bool]]:
    """The hamlet's active households with whether each pledged and was reached in the campaign;
    `which` ("unpledged", "unreached") keeps only those missing it."""
    pledged = ~_missing("unpledged", campaign)
    reached = ~_missing("unreached", campaign)
    query = select(Household, pledged.label("pledged"), reached.label("reached")).where(
        Household.hamlet_id == hamlet.id, Household.status == "active")
    if which in LISTS:
        query = query.where(_missing(which, campaign))
    rows = await session.execute(query.order_by(Household.code))
    return [(household, bool(p), bool(r)) for household, p, r in rows]
