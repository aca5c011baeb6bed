"""Self-management models: the catalog of types, the registry per unit (a hamlet, a commune or an
organization), adding and reviewing models."""

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    MODEL_STATUSES,
    Area,
    Member,
    ModelType,
    MovementModel,
    Organization,
)
from db.services.audit import record, unit_area
from db.services.campaigns import ancestor_ids
from db.services.members import OFFICER_ROLES, scope_covers
from db.text import N_, Problem, nfc, visible_text

STATUS_LABELS = {
    "active": N_("đang hoạt động"),
    "effective": N_("hoạt động hiệu quả"),
    "formal": N_("hình thức, cần củng cố"),
    "removed": N_("đã loại bỏ"),
}
MAX_NAME = 200
MAX_HOW = 300
MAX_REASON = 500
MAX_COUNT = 1_000_000
TYPE_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")


@dataclass(frozen=True)
class Unit:
    """What runs a model: a hamlet or commune (`area`), or an organization."""

    area: Area | None = None
    organization: Organization | None = None

    @property
    def home(self) -> Area:
        """The area whose officers look after the unit: the area itself, or the organization's commune."""
        return self.area if self.area is not None else self.organization.commune

    @property
    def name(self) -> str:
        """The unit's name."""
        return self.area.name if self.area is not None else self.organization.name

    @property
    def code(self) -> str:
        """The unit's code."""
        return self.area.code if self.area is not None else self.organization.code


def unit_of(model: MovementModel) -> Unit:
    """The unit a model belongs to."""
    return Unit(model.area, model.organization)


def clean_text(text: str, limit: int, message: str, required: bool = True) -> str:
    """Text in NFC, spaces collapsed, without control characters, within `limit`; a Problem
    (`message`, with the limit) otherwise."""
    value = nfc(visible_text(text or ""))  # a bidi control would show another text than stored
    if (required and not value) or len(value) > limit or any(ord(ch) < 32 for ch in value):
        raise Problem(message, limit=limit)
    return value


def check_count(value: int) -> int:
    """A number of groups, sites or members: 0 to a million."""
    if not 0 <= value <= MAX_COUNT:
        raise Problem(N_("Số tổ, điểm, thành viên phải từ 0 đến {limit}."), limit=MAX_COUNT)
    return value


def may_manage(member: Member | None, unit: Unit) -> bool:
    """Officers and admins whose scope covers the unit add and review its models (None: the
    operator's command line)."""
    return member is None or (member.role in OFFICER_ROLES and scope_covers(member, unit.home))


def _visible_types(area: Area | None):
    ids = ancestor_ids(area) if area is not None else []
    return or_(ModelType.area_id.is_(None), ModelType.area_id.in_(ids))


async def model_types(session: AsyncSession, area: Area | None) -> list[ModelType]:
    """The types a unit of `area` may choose: the seeded ones and its province's own."""
    return list(await session.scalars(
        select(ModelType).where(_visible_types(area)).order_by(ModelType.area_id.is_not(None), ModelType.id)))


async def type_by_code(session: AsyncSession, code: str, area: Area | None) -> ModelType:
    """The type with this code that `area` may use, or a Problem."""
    found = await session.scalar(select(ModelType).where(
        ModelType.code == code.strip().lower(), _visible_types(area)))
    if found is None:
        raise Problem(N_("Không có loại mô hình mã “{code}” (xem: binhyen models types)."), code=code)
    return found


async def add_model_type(session: AsyncSession, area: Area, code: str, name_vi: str, name_en: str) -> ModelType:
    """A province's own type of model."""
    code = code.strip().lower()
    if not TYPE_CODE.match(code):
        raise Problem(N_("Mã loại mô hình “{code}” chỉ gồm chữ thường không dấu, số và gạch ngang "
                         "(2 đến 40 ký tự)."), code=code)
    if area.level != "province":
        raise Problem(N_("Loại mô hình riêng được thêm ở cấp tỉnh; {code} không phải tỉnh."), code=area.code)
    if await session.scalar(select(ModelType.id).where(ModelType.code == code)) is not None:
        raise Problem(N_("Đã có loại mô hình mã “{code}”."), code=code)
    model_type = ModelType(
        code=code, area_id=area.id,
        name_vi=clean_text(name_vi, MAX_NAME, N_("Tên loại mô hình cần từ 1 đến {limit} ký tự.")),
        name_en=clean_text(name_en, MAX_NAME, N_("Tên loại mô hình cần từ 1 đến {limit} ký tự.")))
    session.add(model_type)
    await session.flush()
    return model_type


@dataclass
class ModelDraft:
    """What adding a model needs, as typed or imported."""

    name: str
    started_on: date | None = None
    groups: int = 0
    sites: int = 0
    members: int = 0
    status: str = "active"
    reviewed_on: date | None = None
    how_to_join: str = ""
    removed_reason: str | None = None

    def checked(self) -> "ModelDraft":
        """The draft with its text cleaned, or a Problem naming what is wrong."""
        if self.status not in MODEL_STATUSES:
            raise Problem(N_("Tình trạng mô hình không hợp lệ: {status} (chọn: {statuses})."),
                          status=self.status, statuses=", ".join(MODEL_STATUSES))
        reason = None
        if self.status == "removed":
            reason = clean_text(self.removed_reason or "", MAX_REASON,
                                N_("Mô hình bị loại bỏ cần lý do, từ 1 đến {limit} ký tự."))
        for value in (self.groups, self.sites, self.members):
            check_count(value)
        return ModelDraft(
            clean_text(self.name, MAX_NAME, N_("Tên mô hình cần từ 1 đến {limit} ký tự.")),
            self.started_on, self.groups, self.sites, self.members, self.status, self.reviewed_on,
            clean_text(self.how_to_join, MAX_HOW, N_("Cách tham gia dài quá {limit} ký tự."), required=False),
            reason)


def check_unit(unit: Unit) -> None:
    """Models belong to hamlets, communes and organizations (not to provinces or districts)."""
    if unit.area is not None and unit.area.level not in ("hamlet", "commune"):
        raise Problem(N_("Mô hình gắn với ấp, khóm, xã, phường hoặc cơ quan, doanh nghiệp, trường học; "
                         "{code} là cấp khác."), code=unit.area.code)


async def add_model(
    session: AsyncSession, member: Member | None, unit: Unit, model_type: ModelType, draft: ModelDraft
) -> MovementModel:
    """Register a model of `unit` (an officer of its area, or the command line)."""
    check_unit(unit)
    if not may_manage(member, unit):
        raise Problem(N_("Đơn vị {code} nằm ngoài phạm vi bạn phụ trách."), code=unit.code)
    draft = draft.checked()
    model = MovementModel(
        type_id=model_type.id, type=model_type, area_id=unit.area.id if unit.area else None,
        area=unit.area, organization_id=unit.organization.id if unit.organization else None,
        organization=unit.organization, name=draft.name, started_on=draft.started_on,
        groups=draft.groups, sites=draft.sites, members=draft.members, status=draft.status,
        removed_reason=draft.removed_reason, reviewed_on=draft.reviewed_on, how_to_join=draft.how_to_join)
    session.add(model)
    await session.flush()
    area = await unit_area(session, unit.area, unit.organization)
    await record(session, member, "model", area, subject=f"model:{model.id}")
    return model


async def get_model(session: AsyncSession, model_id: int) -> MovementModel | None:
    """The model with this id, or None."""
    return await session.get(MovementModel, model_id)


async def review_model(
    session: AsyncSession, member: Member | None, model: MovementModel, status: str, today: date,
    reason: str | None = None,
) -> MovementModel:
    """Rate the model at a review (rà soát): its status, and today as its review date; removing
    it (thanh loại) needs a reason."""
    if not may_manage(member, unit_of(model)):
        raise Problem(N_("Đơn vị {code} nằm ngoài phạm vi bạn phụ trách."), code=unit_of(model).code)
    if status not in MODEL_STATUSES:
        raise Problem(N_("Tình trạng mô hình không hợp lệ: {status} (chọn: {statuses})."),
                      status=status, statuses=", ".join(MODEL_STATUSES))
    if status == "removed":
        model.removed_reason = clean_text(reason or "", MAX_REASON,
                                          N_("Mô hình bị loại bỏ cần lý do, từ 1 đến {limit} ký tự."))
    else:
        model.removed_reason = None
    model.status = status
    model.reviewed_on = today
    await session.flush()
    area = await unit_area(session, model.area, model.organization)
    await record(session, member, "model_review", area, subject=f"model:{model.id}", detail=status)
    return model


async def update_counts(
    session: AsyncSession, member: Member | None, model: MovementModel, groups: int, sites: int,
    members: int, today: date,
) -> MovementModel:
    """New numbers of groups, sites and members, reviewed today."""
    if not may_manage(member, unit_of(model)):
        raise Problem(N_("Đơn vị {code} nằm ngoài phạm vi bạn phụ trách."), code=unit_of(model).code)
    model.groups, model.sites, model.members = check_count(groups), check_count(sites), check_count(members)
    model.reviewed_on = today
    await session.flush()
    area = await unit_area(session, model.area, model.organization)
    await record(session, member, "model_review", area, subject=f"model:{model.id}", detail="counts")
    return model


def parse_counts(text: str) -> tuple[int, int, int]:
    """"3 5 40" (groups, sites, members) as typed; a Problem that shows the form otherwise."""
    parts = text.replace(",", " ").replace(";", " ").split()
    if len(parts) == 3 and all(part.isascii() and part.isdigit() and len(part) <= 7 for part in parts):
        return tuple(check_count(int(part)) for part in parts)
    raise Problem(N_("Gõ ba số cách nhau bởi dấu cách: số tổ, số điểm, số thành viên (ví dụ: 3 5 40)."))


def _in_area(area: Area) -> Select:
    """The condition "the model's unit lies in `area`'s subtree"."""
    areas = select(Area.id).where(Area.path.startswith(area.path, autoescape=True))
    organizations = select(Organization.id).where(Organization.commune_id.in_(areas))
    return or_(MovementModel.area_id.in_(areas), MovementModel.organization_id.in_(organizations))


async def models_in(
    session: AsyncSession, area: Area, page: int, size: int, include_removed: bool = False
) -> tuple[list[MovementModel], int]:
    """One page of the models run in `area`'s subtree, and how many there are."""
    where = [_in_area(area)]
    if not include_removed:
        where.append(MovementModel.status != "removed")
    total = await session.scalar(select(func.count()).select_from(MovementModel).where(*where))
    statement = (select(MovementModel).where(*where)
                 .order_by(MovementModel.area_id.is_(None), MovementModel.area_id,
                           MovementModel.organization_id, MovementModel.name)
                 .offset(page * size).limit(size))
    return list(await session.scalars(statement)), total or 0


async def models_of(session: AsyncSession, unit: Unit, include_removed: bool = False) -> list[MovementModel]:
    """The models of one unit, by name."""
    if unit.area is not None:
        where = [MovementModel.area_id == unit.area.id]
    else:
        where = [MovementModel.organization_id == unit.organization.id]
    if not include_removed:
        where.append(MovementModel.status != "removed")
    return list(await session.scalars(select(MovementModel).where(*where).order_by(MovementModel.name)))
