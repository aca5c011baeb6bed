"""Recognition "An toàn về an ninh, trật tự" of a unit in a campaign: registering it, the officers'
ticks, the steps registered → self-assessed → proposed → decided, and who may take each."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    LEVELS,
    Area,
    Campaign,
    CriterionCheck,
    Member,
    Organization,
    OrganizationRegistration,
    Recognition,
    RecognitionCriterion,
    utcnow,
)
from db.services.audit import record, unit_area
from db.services.campaigns import current_campaign
from db.services.criteria import Checklist, RecognitionUnit, checklist
from db.services.members import OFFICER_ROLES, scope_covers
from db.services.sql import insert_returning
from db.text import N_, Problem, nfc, visible_text

STATUS_LABELS = {
    None: N_("chưa đăng ký"),
    "registered": N_("đã đăng ký"),
    "self_assessed": N_("đã tự đánh giá"),
    "proposed": N_("đã đề nghị công nhận"),
    "decided": N_("đã có quyết định"),
}
RESULT_LABELS = {"passed": N_("đạt"), "failed": N_("chưa đạt")}
# The steps before the decision, in order.
STEPS = ("registered", "self_assessed", "proposed")
MAX_NOTE = 500
MAX_NUMBER = 64
# Who decides communes when nothing else is set: an admin at province level (the 2025 reform left
# it unclear; BINHYEN_COMMUNE_APPROVER).
DEFAULT_APPROVER = ("admin", "province")
APPROVER_ROLES = OFFICER_ROLES
APPROVER_LEVELS = ("province", "district")


def parse_approver(text: str) -> tuple[str, str]:
    """"admin:province" → (role, level): who decides communes; ValueError otherwise."""
    role, _sep, level = text.strip().lower().partition(":")
    if role not in APPROVER_ROLES or level not in APPROVER_LEVELS:
        raise ValueError(f"must be ROLE:LEVEL with ROLE one of {', '.join(sorted(APPROVER_ROLES))} "
                         f"and LEVEL one of {', '.join(APPROVER_LEVELS)} (for example admin:province)")
    return role, level


def label_status(recognition: Recognition | None) -> str:
    """The msgid of where a recognition stands (its result once decided)."""
    if recognition is not None and recognition.status == "decided":
        return RESULT_LABELS[recognition.result]
    return STATUS_LABELS[recognition.status if recognition is not None else None]


async def unit_by_ref(session: AsyncSession, kind: str, unit_id: int) -> RecognitionUnit | None:
    """The unit a button names: ("area", id) of a hamlet or commune, or ("org", id)."""
    if kind == "area":
        area = await session.get(Area, unit_id)
        return RecognitionUnit(area=area) if area is not None and area.level in ("hamlet", "commune") else None
    organization = await session.get(Organization, unit_id)
    return RecognitionUnit(organization=organization) if organization is not None else None


def may_prepare(member: Member | None, unit: RecognitionUnit) -> bool:
    """Officers and admins whose scope covers the unit register it, tick its criteria and move it
    along (a commune's own officers prepare the commune's file)."""
    return member is not None and member.role in OFFICER_ROLES and scope_covers(member, unit.home)


def may_decide(member: Member | None, unit: RecognitionUnit, approver: tuple[str, str]) -> bool:
    """Commune officers (and admins) decide the hamlets and organizations of their commune; a
    commune is decided by the approver role at its level or above (BINHYEN_COMMUNE_APPROVER)."""
    if unit.kind != "commune":
        return may_prepare(member, unit)
    role, level = approver
    if member is None or member.role != role or not scope_covers(member, unit.area):
        return False
    return member.area is None or LEVELS[member.area.level] <= LEVELS[level]


async def open_campaign(session: AsyncSession, area: Area, today: date) -> Campaign:
    """The campaign open for the area, or a Problem."""
    campaign = await current_campaign(session, area, today)
    if campaign is None:
        raise Problem(N_("Chưa có đợt thi đua nào đang mở cho {area}."), area=area.name)
    return campaign


async def campaign_of(session: AsyncSession, unit: RecognitionUnit, today: date) -> Campaign:
    """The campaign open for the unit, or a Problem."""
    return await open_campaign(session, unit.home, today)


def _unit_is(unit: RecognitionUnit):
    if unit.area is not None:
        return Recognition.area_id == unit.area.id
    return Recognition.organization_id == unit.organization.id


async def recognition_of(session: AsyncSession, campaign: Campaign, unit: RecognitionUnit) -> Recognition | None:
    """The unit's recognition in the campaign, if it was registered."""
    return await session.scalar(select(Recognition).where(
        Recognition.campaign_id == campaign.id, _unit_is(unit)).execution_options(populate_existing=True))


async def unit_checklist(session: AsyncSession, campaign: Campaign, unit: RecognitionUnit) -> Checklist:
    """The unit's recognition (if any) and its checklist in the campaign."""
    return await checklist(session, campaign, unit, await recognition_of(session, campaign, unit))


async def organization_registered(session: AsyncSession, campaign: Campaign, organization: Organization) -> bool:
    """The organization's registration for the campaign is confirmed."""
    status = await session.scalar(select(OrganizationRegistration.status).where(
        OrganizationRegistration.organization_id == organization.id,
        OrganizationRegistration.campaign_id == campaign.id))
    return status == "confirmed"


async def register_unit(session: AsyncSession, member: Member | None, campaign: Campaign,
                        unit: RecognitionUnit) -> tuple[Recognition, bool]:
    """Register the unit for recognition in the campaign (an organization once its registration is
    confirmed); (recognition, False) when it was already. `member` None: the command line."""
    if member is not None and not may_prepare(member, unit):
        raise Problem(N_("Đơn vị {code} nằm ngoài phạm vi bạn phụ trách."), code=unit.code)
    if unit.organization is not None and not await organization_registered(session, campaign, unit.organization):
        raise Problem(N_("{name} chưa đăng ký phong trào: ghi nhận đăng ký của đơn vị trước (/orgs)."),
                      name=unit.name)
    now = utcnow()
    values = {"campaign_id": campaign.id, "unit_kind": unit.kind, "status": "registered",
              "area_id": unit.area.id if unit.area else None,
              "organization_id": unit.organization.id if unit.organization else None,
              "registered_at": now, "updated_at": now}
    conflict = ["campaign_id", "area_id"] if unit.area is not None else ["campaign_id", "organization_id"]
    recognition = await insert_returning(session, Recognition, values, conflict)
    if recognition is not None:
        await _audit(session, member, "recognition_step", unit, recognition, "registered")
        return recognition, True
    return await recognition_of(session, campaign, unit), False


async def _audit(session: AsyncSession, member: Member | None, action: str, unit: RecognitionUnit,
                 recognition: Recognition, detail: str) -> None:
    """A step or decision in the audit log, filed under the unit's area (an organization's commune)."""
    await record(session, member, action, await unit_area(session, unit.area, unit.organization),
                 subject=f"recognition:{recognition.id}", detail=detail)


def _unit_of(recognition: Recognition) -> RecognitionUnit:
    return RecognitionUnit(recognition.area, recognition.organization)


def _check_open(recognition: Recognition) -> None:
    if recognition.status == "decided":
        raise Problem(N_("Đơn vị đã có quyết định công nhận năm nay; không sửa được nữa."))


async def get_recognition(session: AsyncSession, recognition_id: int) -> Recognition | None:
    """The recognition with this id, or None."""
    return await session.get(Recognition, recognition_id, populate_existing=True)


async def tick(session: AsyncSession, member: Member, recognition: Recognition, criterion: RecognitionCriterion,
               met: bool) -> CriterionCheck:
    """An officer's tick on a criterion the bot does not compute: met or not (its note stays)."""
    unit = _unit_of(recognition)
    if not may_prepare(member, unit):
        raise Problem(N_("Đơn vị {code} nằm ngoài phạm vi bạn phụ trách."), code=unit.code)
    _check_open(recognition)
    if criterion.unit_kind != recognition.unit_kind or criterion.rule is not None:
        raise Problem(N_("Tiêu chí này không đánh dấu được cho đơn vị này."))
    check = await session.scalar(select(CriterionCheck).where(
        CriterionCheck.recognition_id == recognition.id, CriterionCheck.criterion_id == criterion.id))
    if check is None:
        check = CriterionCheck(recognition_id=recognition.id, criterion_id=criterion.id, met=met)
        session.add(check)
    check.met, check.checked_by_id, check.checked_by_role, check.checked_at = met, member.id, member.role, utcnow()
    recognition.updated_at = utcnow()
    await session.flush()
    return check


async def note(session: AsyncSession, member: Member, recognition: Recognition, criterion: RecognitionCriterion,
               text: str) -> CriterionCheck:
    """An officer's note on a ticked criterion."""
    unit = _unit_of(recognition)
    if not may_prepare(member, unit):
        raise Problem(N_("Đơn vị {code} nằm ngoài phạm vi bạn phụ trách."), code=unit.code)
    _check_open(recognition)
    text = nfc(visible_text(text))
    if not text or len(text) > MAX_NOTE or any(ord(ch) < 32 for ch in text):
        raise Problem(N_("Ghi chú cần từ 1 đến {limit} ký tự."), limit=MAX_NOTE)
    check = await session.scalar(select(CriterionCheck).where(
        CriterionCheck.recognition_id == recognition.id, CriterionCheck.criterion_id == criterion.id))
    if check is None:
        raise Problem(N_("Hãy đánh dấu tiêu chí đạt hay chưa đạt trước khi ghi chú."))
    check.note, check.checked_by_id, check.checked_by_role, check.checked_at = text, member.id, member.role, utcnow()
    await session.flush()
    return check


async def advance(session: AsyncSession, member: Member, recognition: Recognition, status: str) -> Recognition:
    """The next step: registered → self-assessed → proposed (one step at a time)."""
    unit = _unit_of(recognition)
    if not may_prepare(member, unit):
        raise Problem(N_("Đơn vị {code} nằm ngoài phạm vi bạn phụ trách."), code=unit.code)
    _check_open(recognition)
    if status not in STEPS[1:] or STEPS.index(status) != STEPS.index(recognition.status) + 1:
        raise Problem(N_("Bước này không còn đúng: đơn vị đang ở bước “{status}”."),
                      status=STATUS_LABELS[recognition.status])
    recognition.status, recognition.updated_at = status, utcnow()
    await session.flush()
    await _audit(session, member, "recognition_step", unit, recognition, status)
    return recognition


@dataclass(frozen=True)
class Decision:
    """What a decision records."""

    result: str
    number: str
    decided_on: date


def check_decision_number(text: str) -> str:
    """The decision's number as written (e.g. "125/QĐ-UBND"), or a Problem."""
    number = nfc(visible_text(text))
    if not number or len(number) > MAX_NUMBER or any(ord(ch) < 32 for ch in number):
        raise Problem(N_("Số quyết định cần từ 1 đến {limit} ký tự, ví dụ 125/QĐ-UBND."), limit=MAX_NUMBER)
    return number


async def decide(session: AsyncSession, member: Member | None, recognition: Recognition, decision: Decision,
                 approver: tuple[str, str], today: date) -> Recognition:
    """Record the decision on a proposed unit: đạt only when every criterion holds. `member` None:
    the command line (the operator records a decision taken on paper)."""
    unit = _unit_of(recognition)
    if member is not None and not may_decide(member, unit, approver):
        raise Problem(N_("Bạn chưa có quyền quyết định công nhận {name}."), name=unit.name)
    _check_open(recognition)
    if recognition.status != "proposed":
        raise Problem(N_("Chỉ quyết định được khi đơn vị đã được đề nghị công nhận (đang ở bước “{status}”)."),
                      status=STATUS_LABELS[recognition.status])
    if decision.result not in RESULT_LABELS:
        raise Problem(N_("Kết quả phải là đạt hoặc chưa đạt."))
    if decision.decided_on > today:
        raise Problem(N_("Ngày quyết định không thể sau hôm nay."))
    number = check_decision_number(decision.number)
    campaign = await session.get(Campaign, recognition.campaign_id)
    if decision.result == "passed":
        found = await checklist(session, campaign, unit, recognition)
        if not found.all_met:
            raise Problem(N_("Chưa đủ tiêu chí để công nhận đạt: {numbers}."),
                          numbers=", ".join(item.criterion.number for item in found.unmet))
    recognition.status, recognition.result = "decided", decision.result
    recognition.decision_number, recognition.decided_on = number, decision.decided_on
    recognition.decided_by_id = member.id if member else None
    recognition.decided_by_role = member.role if member else "operator"
    recognition.updated_at = utcnow()
    await session.flush()
    await _audit(session, member, "recognition_decision", unit, recognition, decision.result)
    return recognition


# ---------------------------------------------------------------------------------------------
# The units of an area, for the lists.


@dataclass
class UnitLine:
    """A unit in a list, with its recognition in the campaign (None: not registered)."""

    unit: RecognitionUnit
    recognition: Recognition | None


async def units_of(session: AsyncSession, area: Area, everything: bool = False) -> list[RecognitionUnit]:
    """The units a list of `area` shows: a hamlet itself; a commune itself, its hamlets and its
    organizations; above, its communes (`everything`: and all their hamlets and organizations)."""
    if area.level == "hamlet":
        return [RecognitionUnit(area=area)]
    below = select(Area).where(Area.path.startswith(area.path, autoescape=True))
    levels = ("commune", "hamlet") if area.level == "commune" or everything else ("commune",)
    areas = list(await session.scalars(below.where(Area.level.in_(levels)).order_by(Area.path)))
    units = [RecognitionUnit(area=found) for found in areas]
    if area.level == "commune" or everything:
        organizations = await session.scalars(select(Organization).where(
            Organization.commune_id.in_(select(Area.id).where(Area.path.startswith(area.path, autoescape=True))))
            .order_by(Organization.commune_id, Organization.name))
        units += [RecognitionUnit(organization=found) for found in organizations]
    return units


async def unit_lines(session: AsyncSession, campaign: Campaign, units: list[RecognitionUnit]) -> list[UnitLine]:
    """The units with their recognitions in the campaign."""
    area_ids = [u.area.id for u in units if u.area is not None]
    org_ids = [u.organization.id for u in units if u.organization is not None]
    found = list(await session.scalars(select(Recognition).where(
        Recognition.campaign_id == campaign.id,
        (Recognition.area_id.in_(area_ids)) | (Recognition.organization_id.in_(org_ids)))))
    by_area = {r.area_id: r for r in found if r.area_id is not None}
    by_org = {r.organization_id: r for r in found if r.organization_id is not None}
    return [UnitLine(u, by_area.get(u.area.id) if u.area is not None else by_org.get(u.organization.id))
            for u in units]
