"""The recognition criteria: data a province may edit, and the ones the bot computes from what it
records (households pledged, effective models, a commune's units registered and recognized)."""

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    UNIT_KINDS,
    Area,
    Campaign,
    CriterionCheck,
    Household,
    MovementModel,
    Organization,
    OrganizationRegistration,
    Pledge,
    Recognition,
    RecognitionCriterion,
)
from db.services.campaigns import ancestor_ids
from db.text import N_, Problem, nfc, visible_text

HOUSEHOLDS_PLEDGED = "computed:households_pledged"
EFFECTIVE_MODEL = "computed:effective_model"
UNITS_RECOGNIZED = "computed:units_recognized"
RULES = (HOUSEHOLDS_PLEDGED, EFFECTIVE_MODEL, UNITS_RECOGNIZED)
# Which unit kinds each computed rule can be judged for.
RULE_KINDS = {
    HOUSEHOLDS_PLEDGED: {"hamlet"},
    EFFECTIVE_MODEL: set(UNIT_KINDS),
    UNITS_RECOGNIZED: {"commune"},
}
# Thông tư 124/2021/TT-BCA: a hamlet needs all its households registered; a commune all its
# units registered and at least 70% of them recognized; a commune or an organization at least
# one model working effectively.
HOUSEHOLDS_SHARE = 100
UNITS_SHARE = 70
MIN_EFFECTIVE_MODELS = 1
NUMBER = re.compile(r"^[0-9]{1,2}[a-z]?$")
MAX_LABEL = 300

KIND_LABELS = {
    "hamlet": N_("Khu dân cư"),
    "commune": N_("Xã, phường"),
    "agency": N_("Cơ quan"),
    "enterprise": N_("Doanh nghiệp"),
    "school": N_("Cơ sở giáo dục"),
}


@dataclass(frozen=True)
class RecognitionUnit:
    """A unit recognized "An toàn về an ninh, trật tự": a hamlet or commune, or an organization."""

    area: Area | None = None
    organization: Organization | None = None

    @property
    def kind(self) -> str:
        """hamlet, commune, agency, enterprise or school."""
        return self.area.level if self.area is not None else self.organization.kind

    @property
    def home(self) -> Area:
        """The area whose campaign and officers the unit has: itself, or the organization's commune."""
        return self.area if self.area is not None else self.organization.commune

    @property
    def name(self) -> str:
        return self.area.name if self.area is not None else self.organization.name

    @property
    def code(self) -> str:
        return self.area.code if self.area is not None else self.organization.code

    @property
    def ref(self) -> tuple[str, int]:
        """("area", id) or ("org", id): how buttons name the unit."""
        return ("area", self.area.id) if self.area is not None else ("org", self.organization.id)


def share(part: int, whole: int) -> float | None:
    """`part` of `whole` in percent; None when there is nothing to count."""
    return 100.0 * part / whole if whole else None


def shown_share(value: float | None) -> str:
    """A percentage as people write it: "72%", "69.2%", "—" when there is nothing to count."""
    if value is None:
        return "—"
    return f"{value:.1f}".rstrip("0").rstrip(".") + "%"


@dataclass
class Figure:
    """A computed criterion for one unit: met or not, and the figures it was judged on (a msgid and
    its parameters, shown in the reader's language)."""

    met: bool
    message: str
    params: dict[str, Any] = field(default_factory=dict)
    # Hamlets: how many households have not pledged (the head's list of them).
    unpledged: int = 0


async def households_figure(session: AsyncSession, campaign: Campaign, hamlet: Area) -> Figure:
    """All the hamlet's active households pledged in the campaign."""
    total = await session.scalar(select(func.count()).select_from(Household).where(
        Household.hamlet_id == hamlet.id, Household.status == "active")) or 0
    pledged = await session.scalar(
        select(func.count()).select_from(Pledge).join(Household, Household.id == Pledge.household_id).where(
            Household.hamlet_id == hamlet.id, Household.status == "active",
            Pledge.campaign_id == campaign.id, Pledge.status == "confirmed")) or 0
    met = total > 0 and pledged * 100 >= HOUSEHOLDS_SHARE * total
    return Figure(met, N_("{pledged}/{total} hộ đã ký cam kết ({share})"),
                  {"pledged": pledged, "total": total, "share": shown_share(share(pledged, total))},
                  unpledged=total - pledged)


def _areas_below(area: Area):
    return select(Area.id).where(Area.path.startswith(area.path, autoescape=True))


async def effective_models(session: AsyncSession, unit: RecognitionUnit) -> int:
    """Models rated effective of an organization, a hamlet, or a commune (its own and its
    hamlets')."""
    if unit.organization is not None:
        where = MovementModel.organization_id == unit.organization.id
    elif unit.area.level == "hamlet":
        where = MovementModel.area_id == unit.area.id
    else:
        where = MovementModel.area_id.in_(_areas_below(unit.area))
    return await session.scalar(select(func.count()).select_from(MovementModel).where(
        where, MovementModel.status == "effective")) or 0


async def models_figure(session: AsyncSession, unit: RecognitionUnit) -> Figure:
    """At least one model working effectively."""
    count = await effective_models(session, unit)
    return Figure(count >= MIN_EFFECTIVE_MODELS, N_("{count} mô hình hoạt động hiệu quả"), {"count": count})


@dataclass
class UnitCounts:
    """A commune's hamlets and organizations: how many, registered, recognized."""

    hamlets: int = 0
    hamlets_registered: int = 0
    hamlets_recognized: int = 0
    organizations: int = 0
    organizations_registered: int = 0
    organizations_recognized: int = 0

    @property
    def total(self) -> int:
        return self.hamlets + self.organizations

    @property
    def registered(self) -> int:
        return self.hamlets_registered + self.organizations_registered

    @property
    def recognized(self) -> int:
        return self.hamlets_recognized + self.organizations_recognized


async def unit_counts(session: AsyncSession, campaign: Campaign, commune: Area) -> UnitCounts:
    """The commune's hamlets, agencies, enterprises and schools: registered for the campaign
    (a hamlet's recognition begun, an organization's registration confirmed) and recognized
    (decided "đạt")."""
    areas = _areas_below(commune)
    hamlets = select(Area.id).where(Area.path.startswith(commune.path, autoescape=True), Area.level == "hamlet")
    organizations = select(Organization.id).where(Organization.commune_id.in_(areas))
    passed = (Recognition.status == "decided") & (Recognition.result == "passed")
    counts = UnitCounts()
    counts.hamlets = await session.scalar(select(func.count()).select_from(hamlets.subquery())) or 0
    counts.organizations = await session.scalar(select(func.count()).select_from(organizations.subquery())) or 0
    row = (await session.execute(select(func.count(), func.count().filter(passed)).where(
        Recognition.campaign_id == campaign.id, Recognition.area_id.in_(hamlets)))).one()
    counts.hamlets_registered, counts.hamlets_recognized = row[0] or 0, row[1] or 0
    counts.organizations_registered = await session.scalar(select(func.count()).where(
        OrganizationRegistration.campaign_id == campaign.id, OrganizationRegistration.status == "confirmed",
        OrganizationRegistration.organization_id.in_(organizations))) or 0
    counts.organizations_recognized = await session.scalar(select(func.count()).where(
        Recognition.campaign_id == campaign.id, Recognition.organization_id.in_(organizations), passed)) or 0
    return counts


def units_met(counts: UnitCounts) -> bool:
    """Every unit registered, and at least UNITS_SHARE% of them recognized."""
    return (counts.total > 0 and counts.registered == counts.total
            and counts.recognized * 100 >= UNITS_SHARE * counts.total)


async def units_figure(session: AsyncSession, campaign: Campaign, commune: Area) -> Figure:
    """100% of the commune's units registered and at least 70% of them recognized."""
    counts = await unit_counts(session, campaign, commune)
    return Figure(units_met(counts), N_(
        "Đăng ký {registered}/{total} ({registered_share}); công nhận {recognized}/{total} "
        "({recognized_share}): khu dân cư {hamlets_recognized}/{hamlets}, cơ quan, doanh nghiệp, "
        "trường học {organizations_recognized}/{organizations}"), {
        "registered": counts.registered, "total": counts.total,
        "registered_share": shown_share(share(counts.registered, counts.total)),
        "recognized": counts.recognized, "recognized_share": shown_share(share(counts.recognized, counts.total)),
        "hamlets_recognized": counts.hamlets_recognized, "hamlets": counts.hamlets,
        "organizations_recognized": counts.organizations_recognized, "organizations": counts.organizations})


async def computed_figure(session: AsyncSession, campaign: Campaign, unit: RecognitionUnit, rule: str) -> Figure:
    """A computed criterion judged for a unit."""
    if rule == HOUSEHOLDS_PLEDGED and unit.kind == "hamlet":
        return await households_figure(session, campaign, unit.area)
    if rule == UNITS_RECOGNIZED and unit.kind == "commune":
        return await units_figure(session, campaign, unit.area)
    if rule == EFFECTIVE_MODEL:
        return await models_figure(session, unit)
    return Figure(False, N_("Quy tắc {rule} không áp dụng cho đơn vị này."), {"rule": rule})


# ---------------------------------------------------------------------------------------------
# The checklist of a unit.


@dataclass
class CriterionState:
    """One criterion of a unit's checklist: computed (its figure) or ticked (the check, if any)."""

    criterion: RecognitionCriterion
    figure: Figure | None = None
    check: CriterionCheck | None = None

    @property
    def computed(self) -> bool:
        return self.criterion.rule is not None

    @property
    def met(self) -> bool | None:
        """Met, not met, or not ticked yet (None)."""
        if self.figure is not None:
            return self.figure.met
        return self.check.met if self.check is not None else None


@dataclass
class Checklist:
    """A unit's criteria for a campaign, each with where it stands."""

    unit: RecognitionUnit
    campaign: Campaign
    recognition: Recognition | None
    items: list[CriterionState]

    @property
    def all_met(self) -> bool:
        """Every criterion holds (the circular: all of them, for "đạt")."""
        return bool(self.items) and all(item.met is True for item in self.items)

    @property
    def unmet(self) -> list[CriterionState]:
        """The criteria not (yet) met."""
        return [item for item in self.items if item.met is not True]


def _applies_to(unit_area: Area):
    """Criteria seeded for everyone, or added by a province (area) above the unit."""
    return or_(RecognitionCriterion.area_id.is_(None), RecognitionCriterion.area_id.in_(ancestor_ids(unit_area)))


async def criteria_for(session: AsyncSession, kind: str, area: Area | None) -> list[RecognitionCriterion]:
    """The active criteria of a unit kind that apply in `area` (None: the seeded ones only)."""
    where = [RecognitionCriterion.unit_kind == kind, RecognitionCriterion.active.is_(True)]
    where.append(_applies_to(area) if area is not None else RecognitionCriterion.area_id.is_(None))
    return list(await session.scalars(select(RecognitionCriterion).where(*where).order_by(
        RecognitionCriterion.position, RecognitionCriterion.id)))


async def checklist(session: AsyncSession, campaign: Campaign, unit: RecognitionUnit,
                    recognition: Recognition | None) -> Checklist:
    """The unit's criteria with their figures and ticks."""
    checks = {}
    if recognition is not None:
        checks = {check.criterion_id: check for check in await session.scalars(
            select(CriterionCheck).where(CriterionCheck.recognition_id == recognition.id))}
    items = []
    for criterion in await criteria_for(session, unit.kind, unit.home):
        if criterion.rule:
            items.append(CriterionState(criterion, figure=await computed_figure(session, campaign, unit, criterion.rule)))
        else:
            items.append(CriterionState(criterion, check=checks.get(criterion.id)))
    return Checklist(unit, campaign, recognition, items)


# ---------------------------------------------------------------------------------------------
# A province edits the criteria (binhyen recognition criteria …).


def _checked_text(number: str, label_vi: str, label_en: str) -> tuple[str, str, str]:
    number = number.strip().lower()
    if not NUMBER.match(number):
        raise Problem(N_("Số tiêu chí “{number}” là 1 đến 2 chữ số, có thể thêm một chữ (ví dụ 2, 1b)."),
                      number=number)
    labels = []
    for label in (label_vi, label_en):
        value = nfc(visible_text(label))
        if not value or len(value) > MAX_LABEL or any(ord(ch) < 32 for ch in value):
            raise Problem(N_("Nội dung tiêu chí cần từ 1 đến {limit} ký tự."), limit=MAX_LABEL)
        labels.append(value)
    return number, labels[0], labels[1]


async def add_criterion(session: AsyncSession, province: Area, kind: str, number: str, label_vi: str,
                        label_en: str, rule: str | None) -> RecognitionCriterion:
    """A province's own criterion for a unit kind (ticked by officers, or one of the computed rules)."""
    if province.level != "province":
        raise Problem(N_("Tiêu chí riêng được thêm ở cấp tỉnh; {code} không phải tỉnh."), code=province.code)
    if kind not in UNIT_KINDS:
        raise Problem(N_("Loại đơn vị phải là {kinds}, không phải “{kind}”."), kinds=", ".join(UNIT_KINDS), kind=kind)
    if rule is not None and (rule not in RULES or kind not in RULE_KINDS[rule]):
        raise Problem(N_("Quy tắc {rule} không áp dụng cho đơn vị này."), rule=rule)
    number, label_vi, label_en = _checked_text(number, label_vi, label_en)
    last = await session.scalar(select(func.max(RecognitionCriterion.position)).where(
        RecognitionCriterion.unit_kind == kind)) or 0
    criterion = RecognitionCriterion(unit_kind=kind, number=number, position=last + 1, label_vi=label_vi,
                                     label_en=label_en, rule=rule, area_id=province.id, active=True)
    session.add(criterion)
    await session.flush()
    return criterion


async def require_criterion(session: AsyncSession, criterion_id: int) -> RecognitionCriterion:
    """The criterion with this id, or a Problem."""
    criterion = await session.get(RecognitionCriterion, criterion_id)
    if criterion is None:
        raise Problem(N_("Không có tiêu chí #{id}."), id=criterion_id)
    return criterion


async def edit_criterion(session: AsyncSession, criterion: RecognitionCriterion, number: str | None,
                         label_vi: str | None, label_en: str | None) -> RecognitionCriterion:
    """New wording (or number) of a criterion: the province adjusts what the circular left unclear."""
    criterion.number, criterion.label_vi, criterion.label_en = _checked_text(
        number or criterion.number, label_vi or criterion.label_vi, label_en or criterion.label_en)
    await session.flush()
    return criterion


async def retire_criterion(session: AsyncSession, criterion: RecognitionCriterion) -> RecognitionCriterion:
    """The criterion is no longer asked; its ticks stay on record."""
    criterion.active = False
    await session.flush()
    return criterion
