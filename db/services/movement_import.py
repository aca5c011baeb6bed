"""Bulk import of organizations and self-management models from UTF-8 CSV files: all rows or
none, with the conventions of the area and household imports (db/services/csv_import.py)."""

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import MODEL_STATUSES, ORGANIZATION_KINDS, Area, MovementModel, Organization
from db.services.csv_import import CODE, ImportFailed, ImportSummary, Row
from db.services.organizations import unused_join_code
from db.services.schedule_times import parse_day
from db.services.self_management import ModelDraft, Unit, check_unit, model_types
from db.text import N_, Problem, fold, visible_text

# The kinds as a Vietnamese file may write them, folded (no diacritics, lower case).
KIND_WORDS = {
    "agency": "agency", "co quan": "agency",
    "enterprise": "enterprise", "doanh nghiep": "enterprise",
    "school": "school", "co so giao duc": "school", "truong": "school", "truong hoc": "school",
}
STATUS_WORDS = {
    **{status: status for status in MODEL_STATUSES},
    "dang hoat dong": "active", "hieu qua": "effective", "hoat dong hieu qua": "effective",
    "hinh thuc": "formal", "loai bo": "removed", "da loai bo": "removed",
}


async def import_organizations(session: AsyncSession, rows: list[Row]) -> ImportSummary:
    """Create or update agencies, enterprises and schools of existing communes; a new one gets
    its join code. Raises ImportFailed."""
    failed, summary = ImportFailed(), ImportSummary()
    communes = {a.code: a for a in await session.scalars(select(Area).where(Area.level == "commune"))}
    area_codes = set(await session.scalars(select(Area.code)))
    existing = {o.code: o for o in await session.scalars(select(Organization))}
    checked, seen = [], set()
    for row in rows:
        cells = row.cells
        code = cells["code"].upper()
        commune = communes.get(cells["commune_code"].upper())
        kind = KIND_WORDS.get(fold(cells["kind"]))
        try:  # a bidi control would show officers another name than stored
            name, address = visible_text(cells["name"]).strip(), visible_text(cells.get("address", "")).strip()
        except Problem as problem:
            failed.add(row.line, problem.message, **problem.params)
            continue
        if commune is None:
            failed.add(row.line, N_("Không có xã, phường mã {code}."), code=cells["commune_code"])
        elif not CODE.match(code):
            failed.add(row.line, N_("Mã đơn vị không hợp lệ: “{code}”."), code=code)
        elif code in area_codes:
            # Model files name a unit by its code: an organization's must not be an area's.
            failed.add(row.line, N_("Mã {code} đã là mã của một địa bàn; hãy chọn mã khác."), code=code)
        elif code in seen:
            failed.add(row.line, N_("Mã {code} xuất hiện hai lần trong tệp."), code=code)
        elif kind is None:
            failed.add(row.line, N_("Loại đơn vị phải là {kinds}, không phải “{kind}”."),
                       kinds=", ".join(ORGANIZATION_KINDS), kind=cells["kind"])
        elif not name or len(name) > 200:
            failed.add(row.line, N_("Tên đơn vị phải có từ 1 đến 200 ký tự."))
        elif len(address) > 300:
            failed.add(row.line, N_("Địa chỉ dài quá 300 ký tự."))
        elif code in existing and existing[code].commune_id != commune.id:
            failed.add(row.line, N_("Đơn vị {code} đã có ở xã khác; không thể chuyển."), code=code)
        else:
            seen.add(code)
            checked.append((code, commune, kind, name, address))
    if failed.problems:
        raise failed
    for code, commune, kind, name, address in checked:
        organization = existing.get(code)
        if organization is None:
            session.add(Organization(code=code, name=name, kind=kind, commune_id=commune.id,
                                     address=address, join_code=await unused_join_code(session)))
            await session.flush()
            summary.created += 1
        elif (organization.name, organization.kind, organization.address) != (name, kind, address):
            organization.name, organization.kind, organization.address = name, kind, address
            summary.updated += 1
    await session.flush()
    return summary


def _date(text: str) -> date | None:
    """A date cell: DD/MM/YYYY or YYYY-MM-DD; empty is None."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return parse_day(text)


def _number(text: str) -> int:
    if not text:
        return 0
    if not (text.isascii() and text.isdigit() and len(text) <= 7):
        raise Problem(N_("Số tổ, điểm, thành viên phải là số từ 0 trở lên, không phải “{value}”."), value=text)
    return int(text)


async def import_models(session: AsyncSession, rows: list[Row]) -> ImportSummary:
    """Create or update the models of hamlets, communes and organizations, each named by its
    unit's code and the model's name (an existing one of the same unit and name is updated).
    Raises ImportFailed."""
    failed, summary = ImportFailed(), ImportSummary()
    areas = {a.code: a for a in await session.scalars(select(Area))}
    organizations = {o.code: o for o in await session.scalars(select(Organization))}
    types: dict[int, dict[str, object]] = {}
    existing = {(m.area_id, m.organization_id, fold(m.name)): m
                for m in await session.scalars(select(MovementModel))}
    checked, seen = [], set()
    for row in rows:
        cells = row.cells
        code = cells["unit_code"].upper()
        unit = (Unit(area=areas[code]) if code in areas else
                Unit(organization=organizations[code]) if code in organizations else None)
        try:
            if unit is None:
                raise Problem(N_("Không có ấp, xã hay đơn vị mã {code}."), code=cells["unit_code"])
            check_unit(unit)
            home = unit.home
            if home.id not in types:
                types[home.id] = {t.code: t for t in await model_types(session, home)}
            model_type = types[home.id].get(cells["type"].strip().lower())
            if model_type is None:
                raise Problem(N_("Không có loại mô hình mã “{code}” (xem: binhyen models types)."),
                              code=cells["type"])
            status = STATUS_WORDS.get(fold(cells.get("status", "")) or "active")
            if status is None:
                raise Problem(N_("Tình trạng mô hình không hợp lệ: {status} (chọn: {statuses})."),
                              status=cells["status"], statuses=", ".join(MODEL_STATUSES))
            draft = ModelDraft(
                cells["name"], _date(cells.get("started_on", "")), _number(cells.get("groups", "")),
                _number(cells.get("sites", "")), _number(cells.get("members", "")), status,
                _date(cells.get("reviewed_on", "")), cells.get("how_to_join", ""),
                cells.get("removed_reason") or None).checked()
        except Problem as problem:
            failed.add(row.line, problem.message, **problem.params)
            continue
        key = (unit.area.id if unit.area else None, unit.organization.id if unit.organization else None,
               fold(draft.name))
        if key in seen:
            failed.add(row.line, N_("Mô hình “{name}” của {code} xuất hiện hai lần trong tệp."),
                       name=draft.name, code=code)
            continue
        seen.add(key)
        checked.append((key, unit, model_type, draft))
    if failed.problems:
        raise failed
    for key, unit, model_type, draft in checked:
        model = existing.get(key)
        if model is None:
            model = MovementModel(area_id=key[0], organization_id=key[1])
            session.add(model)
            summary.created += 1
        else:
            summary.updated += 1
        model.type_id, model.name, model.started_on = model_type.id, draft.name, draft.started_on
        model.groups, model.sites, model.members = draft.groups, draft.sites, draft.members
        model.status, model.removed_reason = draft.status, draft.removed_reason
        model.reviewed_on, model.how_to_join = draft.reviewed_on, draft.how_to_join
    await session.flush()
    return summary
