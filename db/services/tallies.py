"""Tallies: the campaign's indicators for every area, counted in SQL and rolled up the tree.

Each indicator is one grouped query that counts per area where the thing happens (the
hamlet of a household, the commune of a tip, ...); the totals of every area above are sums
over its subtree, done on the few hundred areas, never on the households themselves.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo

from sqlalchemy import ColumnElement, Select, and_, distinct, func, literal, select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    FINAL_STATUSES,
    LEVELS,
    TIP_KINDS,
    Area,
    Broadcast,
    Campaign,
    Delivery,
    Household,
    Member,
    MovementModel,
    Organization,
    OrganizationRegistration,
    Pledge,
    QuizAttempt,
    Reading,
    Recognition,
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
# The movement's units (issue 15): hamlets and communes, and those recognized "An toàn về ANTT"
# in the campaign; agencies, enterprises and schools, registered and recognized; the models
# working effectively that hamlets and communes run (a commune's target: at least one).
HAMLETS = "hamlets"
HAMLETS_RECOGNIZED = "hamlets_recognized"
COMMUNES = "communes"
COMMUNES_RECOGNIZED = "communes_recognized"
ORGANIZATIONS = "organizations"
ORGANIZATIONS_REGISTERED = "organizations_registered"
ORGANIZATIONS_RECOGNIZED = "organizations_recognized"
MODELS_EFFECTIVE = "models_effective"


def by_kind(indicator: str, kind: str) -> str:
    """The name of a per-kind tip indicator, e.g. "tips_received:drugs"."""
    return f"{indicator}:{kind}"

# Indicators compared with a campaign target: (count, target key in Campaign.targets).
TARGETED = {REACHED: "households_reached_pct", PLEDGED: "households_pledged_pct"}
# The share of the areas below that meet the household targets (reach, pledges) is held against
# the campaign's communes-safe figure (95% in the seeds), for want of a goal of its own. It is
# not the communes recognized "An toàn về ANTT": those are counted from the recognitions.
AREAS_GOAL = "communes_safe_pct"


# Above this many areas in a subtree, queries select them by path instead of listing their ids
# (a statement takes at most 32,767 parameters on PostgreSQL and SQLite).
MAX_LISTED_AREAS = 5000


@dataclass(frozen=True)
class Scope:
    """What a query counts: the campaign's period and the areas of one subtree."""

    campaign: Campaign
    root: Area
    area_ids: tuple[int, ...]
    start: datetime
    end: datetime

    def covers(self, column) -> ColumnElement[bool]:
        """`column` (an area id) lies in the subtree: an id list, so a commune's report reads
        only its own hamlets' rows through the indexes, not the whole campaign."""
        if len(self.area_ids) <= MAX_LISTED_AREAS:
            return column.in_(self.area_ids)
        return column.in_(select(Area.id).where(Area.path.startswith(self.root.path)))

    def homes(self, column) -> ColumnElement[bool]:
        """`column`, the household of a row of the campaign joined to `Household`, is one of
        the subtree's households.

        Every row of the campaign lies under the campaign's area, so a subtree that holds it
        needs no test, and the rows are read along the campaign's index. A smaller one (a
        commune's report) is tested twice over, once for each planner: PostgreSQL starts from
        the joined households of the listed hamlets; SQLite, which has no statistics, would
        read the whole campaign along (campaign, ...) unless the household ids are named, and
        then looks the rows up by (campaign, household) for those households only."""
        if self.root.contains(self.campaign.area):
            return true()
        households = select(Household.id).where(self.covers(Household.hamlet_id))
        return and_(self.covers(Household.hamlet_id), column.in_(households))


def campaign_period(campaign: Campaign, tz: tzinfo) -> tuple[datetime, datetime]:
    """The campaign's first and last day in the bot's time zone, as UTC instants [start, end)."""
    # In UTC: SQLite compares the stored UTC wall time, whatever offset the bound value has.
    return (datetime.combine(campaign.starts_on, time(), tz).astimezone(timezone.utc),
            datetime.combine(campaign.ends_on + timedelta(days=1), time(), tz).astimezone(timezone.utc))


def _households(scope: Scope) -> Select:
    return (select(Household.hamlet_id, func.count())
            .where(scope.covers(Household.hamlet_id), Household.status == "active")
            .group_by(Household.hamlet_id))


def _on_bot(scope: Scope) -> Select:
    # A household counts once however many members it has, on however many channels.
    return (select(Household.hamlet_id, func.count(distinct(Member.household_id)))
            .select_from(Member)
            .join(Household, Household.id == Member.household_id)
            .where(scope.covers(Household.hamlet_id), Household.status == "active")
            .group_by(Household.hamlet_id))


def _reached(scope: Scope) -> Select:
    return (select(Household.hamlet_id, func.count(distinct(Reading.household_id)))
            .select_from(Reading)
            .join(Household, Household.id == Reading.household_id)
            .where(Reading.campaign_id == scope.campaign.id, scope.homes(Reading.household_id))
            .group_by(Household.hamlet_id))


def _pledged(scope: Scope) -> Select:
    # The status is tested in the count, not the WHERE: there it would lead SQLite to read
    # every confirmed pledge of the campaign along (campaign, status) even for one commune.
    return (select(Household.hamlet_id, func.count().filter(Pledge.status == "confirmed"))
            .select_from(Pledge)
            .join(Household, Household.id == Pledge.household_id)
            .where(Pledge.campaign_id == scope.campaign.id, scope.homes(Pledge.household_id))
            .group_by(Household.hamlet_id))


def _finished_quizzes(scope: Scope, value) -> Select:
    return (select(Household.hamlet_id, value)
            .select_from(QuizAttempt)
            .join(Household, Household.id == QuizAttempt.household_id)
            .where(QuizAttempt.campaign_id == scope.campaign.id, scope.homes(QuizAttempt.household_id),
                   QuizAttempt.finished_at.is_not(None))
            .group_by(Household.hamlet_id))


def _broadcasts(scope: Scope) -> Select:
    return (select(Broadcast.area_id, func.count())
            .where(scope.covers(Broadcast.area_id), Broadcast.status.in_(("sending", "done")),
                   Broadcast.send_at >= scope.start, Broadcast.send_at < scope.end)
            .group_by(Broadcast.area_id))


def _deliveries(scope: Scope, statuses: tuple[str, ...]) -> Select:
    # The broadcasts' messages to residents, not the count reported back to their sender.
    # Named by broadcast, so the rows are looked up by (broadcast, status) for the subtree's
    # broadcasts only.
    broadcasts = select(Broadcast.id).where(scope.covers(Broadcast.area_id), Broadcast.send_at >= scope.start,
                                            Broadcast.send_at < scope.end)
    return (select(Broadcast.area_id, func.count())
            .select_from(Delivery)
            .join(Broadcast, Broadcast.id == Delivery.broadcast_id)
            .where(Delivery.broadcast_id.in_(broadcasts), Delivery.status.in_(statuses),
                   Delivery.source.not_like("%:report"))
            .group_by(Broadcast.area_id))


def _tips(scope: Scope, handled: bool, kind: str | None = None) -> Select:
    # Tips of the campaign's period, counted where they happened (the commune or hamlet picked).
    query = (select(Tip.area_id, func.count())
             .where(scope.covers(Tip.area_id), Tip.created_at >= scope.start, Tip.created_at < scope.end)
             .group_by(Tip.area_id))
    if handled:
        query = query.where(Tip.status.in_(HANDLED_STATUSES))
    return query.where(Tip.kind == kind) if kind else query


def _areas(scope: Scope, level: str) -> Select:
    # One row per area of the level, worth one: the sums above count them.
    return select(Area.id, literal(1)).where(scope.covers(Area.id), Area.level == level)


def _passed():
    return and_(Recognition.status == "decided", Recognition.result == "passed")


def _recognized_areas(scope: Scope, level: str) -> Select:
    return (select(Recognition.area_id, func.count())
            .where(Recognition.campaign_id == scope.campaign.id, scope.covers(Recognition.area_id),
                   Recognition.unit_kind == level, _passed())
            .group_by(Recognition.area_id))


def _organizations(scope: Scope) -> Select:
    return (select(Organization.commune_id, func.count())
            .where(scope.covers(Organization.commune_id)).group_by(Organization.commune_id))


def _subtree_organizations(scope: Scope) -> Select:
    return select(Organization.id).where(scope.covers(Organization.commune_id))


def _organizations_registered(scope: Scope) -> Select:
    # The organizations named, so the registrations are looked up by (organization, campaign) for
    # the subtree's only; the status is tested in the count, as for pledges (_pledged).
    return (select(Organization.commune_id, func.count().filter(OrganizationRegistration.status == "confirmed"))
            .select_from(OrganizationRegistration)
            .join(Organization, Organization.id == OrganizationRegistration.organization_id)
            .where(OrganizationRegistration.campaign_id == scope.campaign.id,
                   OrganizationRegistration.organization_id.in_(_subtree_organizations(scope)))
            .group_by(Organization.commune_id))


def _organizations_recognized(scope: Scope) -> Select:
    return (select(Organization.commune_id, func.count().filter(_passed()))
            .select_from(Recognition)
            .join(Organization, Organization.id == Recognition.organization_id)
            .where(Recognition.campaign_id == scope.campaign.id,
                   Recognition.organization_id.in_(_subtree_organizations(scope)))
            .group_by(Organization.commune_id))


def _models_effective(scope: Scope) -> Select:
    return (select(MovementModel.area_id, func.count())
            .where(scope.covers(MovementModel.area_id), MovementModel.status == "effective")
            .group_by(MovementModel.area_id))


# indicator → a query of (area id where it happened, value) for the campaign in a subtree.
QUERIES: dict[str, Callable[[Scope], Select]] = {
    HOUSEHOLDS: _households,
    ON_BOT: _on_bot,
    REACHED: _reached,
    PLEDGED: _pledged,
    QUIZ_ATTEMPTS: lambda scope: _finished_quizzes(scope, func.count()),
    QUIZ_SCORE_SUM: lambda scope: _finished_quizzes(
        scope, func.sum(QuizAttempt.score * 1.0 / QuizAttempt.total)),
    BROADCASTS: _broadcasts,
    DELIVERIES_SENT: lambda scope: _deliveries(scope, ("sent",)),
    DELIVERIES_TOTAL: lambda scope: _deliveries(scope, FINAL_STATUSES),
    TIPS_RECEIVED: lambda scope: _tips(scope, handled=False),
    TIPS_HANDLED: lambda scope: _tips(scope, handled=True),
    HAMLETS: lambda scope: _areas(scope, "hamlet"),
    HAMLETS_RECOGNIZED: lambda scope: _recognized_areas(scope, "hamlet"),
    COMMUNES: lambda scope: _areas(scope, "commune"),
    COMMUNES_RECOGNIZED: lambda scope: _recognized_areas(scope, "commune"),
    ORGANIZATIONS: _organizations,
    ORGANIZATIONS_REGISTERED: _organizations_registered,
    ORGANIZATIONS_RECOGNIZED: _organizations_recognized,
    MODELS_EFFECTIVE: _models_effective,
}
for _kind in TIP_KINDS:
    QUERIES[by_kind(TIPS_RECEIVED, _kind)] = lambda scope, kind=_kind: _tips(scope, False, kind)
    QUERIES[by_kind(TIPS_HANDLED, _kind)] = lambda scope, kind=_kind: _tips(scope, True, kind)


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

    def units_of(self, tally: AreaTally) -> list[AreaTally]:
        """The areas whose share meeting the targets is judged for `tally`: the communes of its
        subtree above commune level (the seeds' target is "95% of communes", whether districts
        lie between or not), its hamlets for a commune, none for a hamlet."""
        if LEVELS[tally.area.level] >= LEVELS["commune"]:
            return self.children_of(tally)
        prefix = tally.area.path
        return sorted((x for x in self.areas.values()
                       if x.area.level == "commune" and x.area.path.startswith(prefix)),
                      key=lambda x: x.area.name)

    def units_meeting(self, tally: AreaTally, indicator: str) -> tuple[int, int]:
        """How many of the judged areas (those with households) meet the target, of how many."""
        judged = [unit.meets(indicator, self.campaign) for unit in self.units_of(tally)]
        judged = [verdict for verdict in judged if verdict is not None]
        return sum(judged), len(judged)

    def units_share(self, tally: AreaTally, indicator: str) -> float | None:
        """The judged areas meeting the target, in percent (None when none is judged)."""
        met, judged = self.units_meeting(tally, indicator)
        return 100.0 * met / judged if judged else None

    def units_meet_goal(self, tally: AreaTally, indicator: str) -> bool | None:
        """Whether that share reaches the goal the campaign's communes-safe figure gives (95% in
        the seeds; AREAS_GOAL)."""
        share = self.units_share(tally, indicator)
        goal = self.campaign.targets.get(AREAS_GOAL)
        return None if share is None or goal is None else share >= goal

    def communes_with_models(self, tally: AreaTally) -> tuple[int, int]:
        """How many communes of the subtree run at least the campaign's models_per_commune models
        working effectively (in the commune or its hamlets), of how many communes."""
        minimum = self.campaign.targets.get("models_per_commune", 1) or 0
        prefix = tally.area.path
        communes = [x for x in self.areas.values()
                    if x.area.level == "commune" and x.area.path.startswith(prefix)]
        return sum(1 for x in communes if x.counts[MODELS_EFFECTIVE] >= minimum), len(communes)


async def compute_tallies(session: AsyncSession, campaign: Campaign, root: Area, tz: tzinfo) -> Tallies:
    """The campaign's counted indicators for `root` and every area below it; the campaign's
    days are those of the bot's time zone `tz`."""
    areas = list(await session.scalars(
        select(Area).where(Area.path.startswith(root.path)).order_by(Area.depth, Area.name)))
    tallies = {area.id: AreaTally(area) for area in areas}
    for area in areas:
        if area.parent_id in tallies and area.id != root.id:
            tallies[area.parent_id].children.append(area.id)
    start, end = campaign_period(campaign, tz)
    scope = Scope(campaign, root, tuple(tallies), start, end)
    for name, query in QUERIES.items():
        for area_id, value in (await session.execute(query(scope))).all():
            # Add the value to the area and every area above it inside the subtree.
            for ancestor in ancestor_ids(tallies[area_id].area) if area_id in tallies else []:
                if ancestor in tallies:
                    tallies[ancestor].counts[name] += float(value or 0)
    return Tallies(campaign, tallies[root.id], tallies)


async def sync_tallies(session: AsyncSession, campaign: Campaign, day: date, tz: tzinfo) -> int:
    """Store the day's snapshot for every area of the campaign; replaces that day's values.

    An upsert, so the daily job and a `binhyen tallies sync` at the same moment both succeed
    (the later one's numbers stay) instead of one failing on the primary key."""
    tallies = await compute_tallies(session, campaign, campaign.area, tz)
    rows = [
        {"campaign_id": campaign.id, "area_id": area_id, "indicator": name, "day": day,
         "value": tally.counts[name]}
        for area_id, tally in tallies.areas.items() for name in QUERIES
    ]
    if rows:
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        upsert = dialect.insert(Tally)
        upsert = upsert.on_conflict_do_update(
            index_elements=[Tally.campaign_id, Tally.area_id, Tally.indicator, Tally.day],
            set_={"value": upsert.excluded.value})
        await session.execute(upsert, rows)
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
