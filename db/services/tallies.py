"""Tallies: the campaign's indicators for every area, counted in SQL and rolled up the tree.

Each indicator is one grouped query that counts per area where the thing happens (the
hamlet of a household, the commune of a tip, ...); the totals of every area above are sums
over its subtree, done on the few hundred areas, never on the households themselves.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import Select, delete, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    FINAL_STATUSES,
    TIP_KINDS,
    Area,
    Broadcast,
    Campaign,
    Delivery,
    Household,
    Member,
    Pledge,
    QuizAttempt,
    Reading,
    Tally,
    Tip,
)
from db.services.campaigns import ancestor_ids

# Counted indicators, in report order. Percentages and averages are derived from them.
HOUSEHOLDS = "households"
ON_BOT = "households_on_bot"
REACHED = "households_reached"
PLEDGED = "households_pledged"
QUIZ_ATTEMPTS = "quiz_attempts"
QUIZ_SCORE_SUM = "quiz_score_sum"
BROADCASTS = "broadcasts_sent"
DELIVERIES_SENT = "deliveries_sent"
DELIVERIES_TOTAL = "deliveries_total"  # those with a final outcome: sent, unreachable or failed
TIPS_RECEIVED = "tips_received"
TIPS_HANDLED = "tips_handled"
HANDLED_STATUSES = ("handled", "closed")


def by_kind(indicator: str, kind: str) -> str:
    """The name of a per-kind tip indicator, e.g. "tips_received:drugs"."""
    return f"{indicator}:{kind}"

# Indicators compared with a campaign target: (count, target key in Campaign.targets).
TARGETED = {REACHED: "households_reached_pct", PLEDGED: "households_pledged_pct"}
CHILDREN_TARGET = "communes_safe_pct"  # the seeds' "95% of communes" meeting the targets


def _households(campaign: Campaign, prefix: str) -> Select:
    return (select(Household.hamlet_id, func.count())
            .join(Area, Area.id == Household.hamlet_id)
            .where(Area.path.startswith(prefix), Household.status == "active")
            .group_by(Household.hamlet_id))


def _on_bot(campaign: Campaign, prefix: str) -> Select:
    # A household counts once however many members it has, on however many channels.
    return (select(Household.hamlet_id, func.count(distinct(Member.household_id)))
            .select_from(Member)
            .join(Household, Household.id == Member.household_id)
            .join(Area, Area.id == Household.hamlet_id)
            .where(Area.path.startswith(prefix), Household.status == "active")
            .group_by(Household.hamlet_id))


def _reached(campaign: Campaign, prefix: str) -> Select:
    return (select(Household.hamlet_id, func.count(distinct(Reading.household_id)))
            .select_from(Reading)
            .join(Household, Household.id == Reading.household_id)
            .join(Area, Area.id == Household.hamlet_id)
            .where(Area.path.startswith(prefix), Reading.campaign_id == campaign.id)
            .group_by(Household.hamlet_id))


def _pledged(campaign: Campaign, prefix: str) -> Select:
    return (select(Household.hamlet_id, func.count())
            .select_from(Pledge)
            .join(Household, Household.id == Pledge.household_id)
            .join(Area, Area.id == Household.hamlet_id)
            .where(Area.path.startswith(prefix), Pledge.campaign_id == campaign.id,
                   Pledge.status == "confirmed")
            .group_by(Household.hamlet_id))


def _finished_quizzes(campaign: Campaign, prefix: str, value) -> Select:
    return (select(Household.hamlet_id, value)
            .select_from(QuizAttempt)
            .join(Household, Household.id == QuizAttempt.household_id)
            .join(Area, Area.id == Household.hamlet_id)
            .where(Area.path.startswith(prefix), QuizAttempt.campaign_id == campaign.id,
                   QuizAttempt.finished_at.is_not(None))
            .group_by(Household.hamlet_id))


def _period(campaign: Campaign) -> tuple[datetime, datetime]:
    # The campaign's days taken in UTC: a tip or broadcast in the first hours of 1 January,
    # Vietnam time, counts in the year before.
    return (datetime.combine(campaign.starts_on, time(), timezone.utc),
            datetime.combine(campaign.ends_on + timedelta(days=1), time(), timezone.utc))


def _broadcasts(campaign: Campaign, prefix: str) -> Select:
    start, end = _period(campaign)
    return (select(Broadcast.area_id, func.count())
            .join(Area, Area.id == Broadcast.area_id)
            .where(Area.path.startswith(prefix), Broadcast.status.in_(("sending", "done")),
                   Broadcast.send_at >= start, Broadcast.send_at < end)
            .group_by(Broadcast.area_id))


def _deliveries(campaign: Campaign, prefix: str, statuses: tuple[str, ...]) -> Select:
    # The broadcasts' messages to residents, not the count reported back to their sender.
    start, end = _period(campaign)
    return (select(Broadcast.area_id, func.count())
            .select_from(Delivery)
            .join(Broadcast, Broadcast.id == Delivery.broadcast_id)
            .join(Area, Area.id == Broadcast.area_id)
            .where(Area.path.startswith(prefix), Delivery.status.in_(statuses),
                   Delivery.source.not_like("%:report"),
                   Broadcast.send_at >= start, Broadcast.send_at < end)
            .group_by(Broadcast.area_id))


def _tips(campaign: Campaign, prefix: str, handled: bool, kind: str | None = None) -> Select:
    # Tips of the campaign's period, counted where they happened (the commune or hamlet picked).
    start, end = _period(campaign)
    query = (select(Tip.area_id, func.count())
             .join(Area, Area.id == Tip.area_id)
             .where(Area.path.startswith(prefix), Tip.created_at >= start, Tip.created_at < end)
             .group_by(Tip.area_id))
    if handled:
        query = query.where(Tip.status.in_(HANDLED_STATUSES))
    return query.where(Tip.kind == kind) if kind else query


# indicator → a query of (area id where it happened, value) for the campaign under a path prefix.
QUERIES: dict[str, Callable[[Campaign, str], Select]] = {
    HOUSEHOLDS: _households,
    ON_BOT: _on_bot,
    REACHED: _reached,
    PLEDGED: _pledged,
    QUIZ_ATTEMPTS: lambda campaign, prefix: _finished_quizzes(campaign, prefix, func.count()),
    QUIZ_SCORE_SUM: lambda campaign, prefix: _finished_quizzes(
        campaign, prefix, func.sum(QuizAttempt.score * 1.0 / QuizAttempt.total)),
    BROADCASTS: _broadcasts,
    DELIVERIES_SENT: lambda campaign, prefix: _deliveries(campaign, prefix, ("sent",)),
    DELIVERIES_TOTAL: lambda campaign, prefix: _deliveries(campaign, prefix, FINAL_STATUSES),
    TIPS_RECEIVED: lambda campaign, prefix: _tips(campaign, prefix, handled=False),
    TIPS_HANDLED: lambda campaign, prefix: _tips(campaign, prefix, handled=True),
}
for _kind in TIP_KINDS:
    QUERIES[by_kind(TIPS_RECEIVED, _kind)] = (
        lambda campaign, prefix, kind=_kind: _tips(campaign, prefix, handled=False, kind=kind))
    QUERIES[by_kind(TIPS_HANDLED, _kind)] = (
        lambda campaign, prefix, kind=_kind: _tips(campaign, prefix, handled=True, kind=kind))


@dataclass
class AreaTally:
    """The counted indicators of one area's whole subtree, and its children's ids."""

    area: Area
    counts: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    children: list[int] = field(default_factory=list)

    def share(self, indicator: str) -> float | None:
        """`indicator` as a percentage of the households (None when there are none)."""
        total = self.counts[HOUSEHOLDS]
        return 100.0 * self.counts[indicator] / total if total else None

    def average_quiz_score(self) -> float | None:
        """The average share of right answers in finished quizzes, in percent."""
        attempts = self.counts[QUIZ_ATTEMPTS]
        return 100.0 * self.counts[QUIZ_SCORE_SUM] / attempts if attempts else None

    def meets(self, indicator: str, campaign: Campaign) -> bool | None:
        """Whether the area reaches the campaign's target for a targeted indicator."""
        share = self.share(indicator)
        target = campaign.targets.get(TARGETED[indicator])
        return None if share is None or target is None else share >= target


@dataclass
class Tallies:
    """Every area of a subtree with its tally; `root` is the area asked for."""

    campaign: Campaign
    root: AreaTally
    areas: dict[int, AreaTally]

    def children_of(self, tally: AreaTally) -> list[AreaTally]:
        """The tallies of an area's children, by name."""
        return sorted((self.areas[i] for i in tally.children), key=lambda t: t.area.name)

    def children_meeting(self, tally: AreaTally, indicator: str) -> tuple[int, int]:
        """How many children (with households) meet the target, of how many."""
        judged = [child.meets(indicator, self.campaign) for child in self.children_of(tally)]
        judged = [verdict for verdict in judged if verdict is not None]
        return sum(judged), len(judged)


async def compute_tallies(session: AsyncSession, campaign: Campaign, root: Area) -> Tallies:
    """The campaign's counted indicators for `root` and every area below it."""
    areas = list(await session.scalars(
        select(Area).where(Area.path.startswith(root.path)).order_by(Area.depth, Area.name)))
    tallies = {area.id: AreaTally(area) for area in areas}
    for area in areas:
        if area.parent_id in tallies and area.id != root.id:
            tallies[area.parent_id].children.append(area.id)
    for name, query in QUERIES.items():
        for area_id, value in (await session.execute(query(campaign, root.path))).all():
            # Add the value to the area and every area above it inside the subtree.
            for ancestor in ancestor_ids(tallies[area_id].area) if area_id in tallies else []:
                if ancestor in tallies:
                    tallies[ancestor].counts[name] += float(value or 0)
    return Tallies(campaign, tallies[root.id], tallies)


async def sync_tallies(session: AsyncSession, campaign: Campaign, day: date) -> int:
    """Store today's snapshot for every area of the campaign; replaces that day's rows."""
    tallies = await compute_tallies(session, campaign, campaign.area)
    await session.execute(delete(Tally).where(Tally.campaign_id == campaign.id, Tally.day == day))
    rows = [
        {"campaign_id": campaign.id, "area_id": area_id, "indicator": name, "day": day,
         "value": tally.counts[name]}
        for area_id, tally in tallies.areas.items() for name in QUERIES
    ]
    if rows:
        await session.execute(Tally.__table__.insert(), rows)
    return len(rows)


async def history(
    session: AsyncSession, campaign: Campaign, area: Area, indicators: list[str]
) -> dict[str, list[tuple[date, float]]]:
    """The stored snapshots of an area, per indicator, by day."""
    rows = await session.execute(
        select(Tally.indicator, Tally.day, Tally.value)
        .where(Tally.campaign_id == campaign.id, Tally.area_id == area.id,
               Tally.indicator.in_(indicators))
        .order_by(Tally.day))
    series: dict[str, list[tuple[date, float]]] = {name: [] for name in indicators}
    for name, day, value in rows.all():
        series[name].append((day, value))
    return series


async def campaigns_running(session: AsyncSession, today: date) -> list[Campaign]:
    """The campaigns whose period includes today (the daily snapshot covers each)."""
    return list(await session.scalars(
        select(Campaign).where(Campaign.starts_on <= today, Campaign.ends_on >= today)))
