"""Gathering a report: the tallies of an area and its subtree, and the stored progress."""

from datetime import date, tzinfo

from sqlalchemy.ext.asyncio import AsyncSession

from base.reports.movement import gather
from base.reports.table import Report
from db.models import Area
from db.services import tallies as t
from db.services.campaigns import campaign_for_report
from db.text import N_, Problem

PROGRESS = [t.REACHED, t.PLEDGED, t.HOUSEHOLDS]


async def build_report(session: AsyncSession, area: Area, today: date, tz: tzinfo,
                       year: int | None = None) -> Report:
    """The report of `area` for the campaign of `year` (default: the running or latest one);
    `tz` is the bot's time zone, whose days the campaign's dates are."""
    campaign = await campaign_for_report(session, area, today, year)
    if campaign is None:
        if year is not None:
            raise Problem(N_("Không có đợt thi đua năm {year} cho {area}."), year=year, area=area.name)
        raise Problem(N_("Không có đợt thi đua nào cho {area}."), area=area.name)
    tallies = await t.compute_tallies(session, campaign, area, tz)
    history = await t.history(session, campaign, area, PROGRESS)
    return Report(tallies, history, today, await gather(session, campaign, area))
