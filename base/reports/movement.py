"""The movement's indicators in a report: units recognized "An toàn về ANTT" and organizations
registered, each against the campaign's target; communes with effective models; models by type;
and the lists behind them (every unit's recognition, every organization, the models to review)."""

from dataclasses import dataclass, field
from datetime import date

from aiogram.utils.i18n import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Area,
    Campaign,
    ModelType,
    MovementModel,
    Organization,
    OrganizationRegistration,
)
from db.services import tallies as t
from db.services.organizations import registrations_of
from db.services.recognition import UnitLine, unit_lines, units_of
from db.text import N_


@dataclass
class Indicator:
    """One indicator of an area: `count` of `total` against a target in percent (None: no target),
    or, with `every`, met when all of them are."""

    key: str
    message: str  # a msgid (N_), rendered in the reader's language by `label`
    count: int
    total: int
    target: float | None
    every: bool = False
    params: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        """What the indicator counts, in the current language."""
        return _(self.message).format(**self.params)

    @property
    def share(self) -> float | None:
        return 100.0 * self.count / self.total if self.total else None

    @property
    def met(self) -> bool | None:
        """Met, not met, or nothing to judge (no units, or no target)."""
        if not self.total:
            return None
        if self.every:
            return self.count == self.total
        return None if self.target is None else self.share >= self.target


def indicators(tallies: t.Tallies, tally: t.AreaTally) -> list[Indicator]:
    """The movement's indicators of one area's subtree."""
    counts, targets = tally.counts, tallies.campaign.targets
    with_models, communes = tallies.communes_with_models(tally)
    minimum = targets.get("models_per_commune", 1)
    return [
        Indicator("hamlets_recognized", N_("Khu dân cư được công nhận “An toàn về ANTT”"),
                  int(counts[t.HAMLETS_RECOGNIZED]), int(counts[t.HAMLETS]), None),
        Indicator("communes_recognized", N_("Xã, phường được công nhận “An toàn về ANTT”"),
                  int(counts[t.COMMUNES_RECOGNIZED]), int(counts[t.COMMUNES]), targets.get("communes_safe_pct")),
        Indicator("organizations_registered", N_("Cơ quan, doanh nghiệp, trường học đăng ký phong trào"),
                  int(counts[t.ORGANIZATIONS_REGISTERED]), int(counts[t.ORGANIZATIONS]),
                  targets.get("agencies_registered_pct")),
        Indicator("organizations_recognized", N_("Cơ quan, doanh nghiệp, trường học được công nhận"),
                  int(counts[t.ORGANIZATIONS_RECOGNIZED]), int(counts[t.ORGANIZATIONS]),
                  targets.get("agencies_safe_pct")),
        Indicator("communes_with_model", N_("Xã, phường có ít nhất {count} mô hình hoạt động hiệu quả"),
                  with_models, communes, 100.0, every=True,
                  params={"count": f"{minimum:g}" if minimum is not None else "1"}),
    ]


@dataclass
class TypeLine:
    """The models of one type in the subtree (removed ones aside)."""

    model_type: ModelType
    models: int
    effective: int
    groups: int
    sites: int
    members: int


@dataclass
class OrganizationLine:
    """An organization with its registration and recognition in the campaign."""

    organization: Organization
    registration: OrganizationRegistration | None
    recognition: object | None


@dataclass
class MovementData:
    """What the movement's sheets list for a subtree."""

    units: list[UnitLine] = field(default_factory=list)
    organizations: list[OrganizationLine] = field(default_factory=list)
    by_type: list[TypeLine] = field(default_factory=list)
    to_review: list[MovementModel] = field(default_factory=list)


def _in_subtree(area: Area):
    areas = select(Area.id).where(Area.path.startswith(area.path, autoescape=True))
    organizations = select(Organization.id).where(Organization.commune_id.in_(areas))
    return or_(MovementModel.area_id.in_(areas), MovementModel.organization_id.in_(organizations))


def needs_review(campaign: Campaign):
    """Models to review: rated formal-only, or not reviewed in the campaign's year (removed ones
    aside)."""
    return (MovementModel.status != "removed") & (
        (MovementModel.status == "formal") | MovementModel.reviewed_on.is_(None)
        | (MovementModel.reviewed_on < date(campaign.year, 1, 1)))


async def gather(session: AsyncSession, campaign: Campaign, area: Area) -> MovementData:
    """The lists of the movement's sheets for `area`'s subtree (what it holds, no more)."""
    data = MovementData()
    data.units = await unit_lines(session, campaign, await units_of(session, area, everything=True))
    organizations = [line for line in data.units if line.unit.organization is not None]
    registered = await registrations_of(session, campaign, [line.unit.organization for line in organizations])
    data.organizations = [OrganizationLine(line.unit.organization, registered.get(line.unit.organization.id),
                                           line.recognition) for line in organizations]
    live = _in_subtree(area) & (MovementModel.status != "removed")
    rows = await session.execute(
        select(MovementModel.type_id, func.count(), func.count().filter(MovementModel.status == "effective"),
               func.sum(MovementModel.groups), func.sum(MovementModel.sites), func.sum(MovementModel.members))
        .where(live).group_by(MovementModel.type_id))
    found = {row[0]: row for row in rows.all()}
    types = {m.id: m for m in await session.scalars(select(ModelType).where(ModelType.id.in_(list(found))))}
    data.by_type = sorted((TypeLine(types[type_id], row[1], row[2], int(row[3] or 0), int(row[4] or 0),
                                    int(row[5] or 0)) for type_id, row in found.items()),
                          key=lambda line: (-line.models, line.model_type.id))
    data.to_review = list(await session.scalars(
        select(MovementModel).where(_in_subtree(area), needs_review(campaign))
        .order_by(MovementModel.status != "formal", MovementModel.reviewed_on.is_not(None),
                  MovementModel.reviewed_on, MovementModel.id)))
    return data
