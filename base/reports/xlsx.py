"""Reports as Excel workbooks: a summary, one sheet per level, and progress over time."""

import io
import re
from pathlib import Path

from aiogram.utils.i18n import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from base.labels import LEVEL_LABELS
from base.reports.movement import indicators
from base.reports.table import (
    TARGETED,
    Report,
    below_commune,
    columns,
    has_units,
    levels_below,
    row,
    target_row,
    tips_by_kind,
    total_row,
    units_label,
    verdict,
)
from base.reports.text import current_locale, small_count_note
from base.tip_labels import kind_label
from db.services import tallies as t
from db.services.criteria import KIND_LABELS as UNIT_KIND_LABELS
from db.services.recognition import label_status
from db.services.self_management import STATUS_LABELS as MODEL_STATUS_LABELS

MET = PatternFill("solid", fgColor="C6EFCE")
UNMET = PatternFill("solid", fgColor="FFC7CE")
BOLD = Font(bold=True)
# Excel refuses these in a sheet's name, and names longer than 31 characters.
NOT_IN_TITLE = re.compile(r"[:\\/?*\[\]]")
MAX_TITLE = 31


def write_xlsx(report: Report, path: Path) -> None:
    """Write the workbook."""
    book = Workbook()
    taken: set[str] = set()
    summary = book.active
    summary.title = sheet_title(_("Tổng hợp"), taken)
    _level_sheet(summary, report, [report.tallies.root], with_total=False, with_parent=False)
    _units_block(summary, report)
    _movement_block(summary, report)
    for level, tallies in levels_below(report.tallies):
        sheet = book.create_sheet(sheet_title(str(LEVEL_LABELS[level]), taken))
        _level_sheet(sheet, report, tallies, with_total=True, with_parent=True)
    _progress_sheet(book.create_sheet(sheet_title(_("Tiến độ"), taken)), report)
    _tips_sheet(book.create_sheet(sheet_title(_("Tin báo theo loại"), taken)), report)
    if report.movement is not None:
        _recognition_sheet(book.create_sheet(sheet_title(_("Công nhận An toàn"), taken)), report)
        _models_sheet(book.create_sheet(sheet_title(_("Mô hình tự quản"), taken)), report)
        _organizations_sheet(book.create_sheet(sheet_title(_("Cơ quan, doanh nghiệp, trường"), taken)), report)
    book.save(path)


def sheet_title(label: str, taken: set[str]) -> str:
    """A sheet name Excel accepts (none of : \\ / ? * [ ], at most 31 characters, no quote at
    either end) and unlike the names in `taken` (case aside), which it joins."""
    base = re.sub(r"\s+", " ", NOT_IN_TITLE.sub("-", label)).strip(" '-") or "Sheet"
    title, number = base[:MAX_TITLE].rstrip(" '"), 1
    while title.lower() in taken:
        number += 1
        suffix = f" ({number})"
        title = base[:MAX_TITLE - len(suffix)].rstrip(" '") + suffix
    taken.add(title.lower())
    return title


def _tips_sheet(sheet, report: Report) -> None:
    sheet.append([_("Loại"), _("Nhận được"), _("Đã xử lý")])
    for cell in sheet[1]:
        cell.font = BOLD
    for kind, received, handled in tips_by_kind(report.tallies.root):
        sheet.append([kind_label(kind), received, handled])
    if below_commune(report.tallies.root.area.level):
        sheet.append([])
        sheet.append([small_count_note()])
    sheet.column_dimensions["A"].width = 36


def _units_block(sheet, report: Report) -> None:
    """The share of the areas below (the communes, or a commune's hamlets) meeting each target,
    against the campaign's communes-safe target, in words."""
    tallies, root = report.tallies, report.tallies.root
    units = units_label(tallies, root)
    if units is None:
        return
    values = row(tallies, root)
    goal = report.campaign.targets.get(t.AREAS_GOAL)
    sheet.append([])
    sheet.append([_("Địa bàn trực thuộc đạt chỉ tiêu"), _("Đạt"), _("Được xét"), _("Tỷ lệ (%)"),
                  _("Mục tiêu (%)"), _("Kết quả")])
    for cell in sheet[sheet.max_row]:
        cell.font = BOLD
    for _key, prefix in TARGETED:
        label = (_("{units} đạt chỉ tiêu tuyên truyền") if prefix == "reached"
                 else _("{units} đạt chỉ tiêu cam kết")).format(units=units)
        share = values[f"{prefix}_units_pct"]
        outcome = values[f"{prefix}_units_goal"]
        sheet.append([label, values[f"{prefix}_units_met"], values["units_judged"],
                      None if share is None else round(share, 1), goal, verdict(outcome)])
        if outcome is not None:
            sheet.cell(sheet.max_row, 6).fill = MET if outcome else UNMET


def _header(sheet, labels: list[str]) -> None:
    sheet.append(labels)
    for cell in sheet[sheet.max_row]:
        cell.font = BOLD


def _movement_block(sheet, report: Report) -> None:
    """The movement's indicators against their targets, in words."""
    sheet.append([])
    _header(sheet, [_("Phong trào: công nhận, đơn vị, mô hình"), _("Đạt"), _("Tổng số"), _("Tỷ lệ (%)"),
                    _("Chỉ tiêu (%)"), _("Kết quả")])
    for indicator in indicators(report.tallies, report.tallies.root):
        share = indicator.share
        target = 100 if indicator.every else indicator.target
        judged = verdict(indicator.met) if target is not None else "—"
        sheet.append([indicator.label, indicator.count, indicator.total,
                      None if share is None else round(share, 1), target, judged])
        if indicator.met is not None:
            sheet.cell(sheet.max_row, 6).fill = MET if indicator.met else UNMET


def _recognition_sheet(sheet, report: Report) -> None:
    """Every unit of the subtree with where its recognition stands."""
    _header(sheet, [_("Mã"), _("Đơn vị"), _("Loại"), _("Thuộc xã"), _("Tình trạng"), _("Số quyết định"),
                    _("Ngày quyết định")])
    for line in report.movement.units:
        unit, recognition = line.unit, line.recognition
        commune = None
        if unit.organization is not None:
            commune = unit.organization.commune.name
        elif unit.kind == "hamlet" and unit.area.parent_id in report.tallies.areas:
            commune = report.tallies.areas[unit.area.parent_id].area.name
        decided = recognition is not None and recognition.status == "decided"
        sheet.append([unit.code, unit.name, _(UNIT_KIND_LABELS[unit.kind]), commune,
                      _(label_status(recognition)), recognition.decision_number if decided else None,
                      recognition.decided_on if decided else None])
        if decided:
            sheet.cell(sheet.max_row, 5).fill = MET if recognition.result == "passed" else UNMET
            sheet.cell(sheet.max_row, 7).number_format = "DD/MM/YYYY"
    for column, width in zip("ABCDEFG", (14, 36, 18, 24, 22, 18, 14)):
        sheet.column_dimensions[column].width = width


def _models_sheet(sheet, report: Report) -> None:
    """The models by type, then the models to review."""
    locale = current_locale()
    data = report.movement
    _header(sheet, [_("Loại"), _("Mô hình"), _("Hiệu quả"), _("Tổ"), _("Điểm"), _("Thành viên")])
    for line in data.by_type:
        sheet.append([line.model_type.name(locale), line.models, line.effective, line.groups, line.sites,
                      line.members])
    sheet.append([])
    sheet.append([_("Mô hình cần rà soát (hình thức, hoặc chưa rà soát năm {year})").format(
        year=report.campaign.year)])
    sheet.cell(sheet.max_row, 1).font = BOLD
    _header(sheet, [_("Mô hình"), _("Đơn vị"), _("Loại"), _("Tình trạng"), _("Rà soát gần nhất")])
    for model in data.to_review:
        unit = model.area.name if model.area is not None else model.organization.name
        sheet.append([model.name, unit, model.type.name(locale), _(MODEL_STATUS_LABELS[model.status]),
                      model.reviewed_on])
        sheet.cell(sheet.max_row, 5).number_format = "DD/MM/YYYY"
    for column, width in zip("ABCDEF", (40, 30, 40, 22, 16, 12)):
        sheet.column_dimensions[column].width = width


def _organizations_sheet(sheet, report: Report) -> None:
    """Every agency, enterprise and school with its registration and recognition."""
    _header(sheet, [_("Mã"), _("Đơn vị"), _("Loại"), _("Xã, phường"), _("Đăng ký phong trào"), _("Công nhận")])
    for line in report.movement.organizations:
        organization, registration = line.organization, line.registration
        registered = registration is not None and registration.status == "confirmed"
        state = (_("đã đăng ký (trên giấy)") if registered and registration.via == "paper"
                 else _("đã đăng ký") if registered else _("đã rút") if registration else _("chưa đăng ký"))
        sheet.append([organization.code, organization.name, _(UNIT_KIND_LABELS[organization.kind]),
                      organization.commune.name, state, _(label_status(line.recognition))])
        sheet.cell(sheet.max_row, 5).fill = MET if registered else UNMET
    for column, width in zip("ABCDEF", (14, 40, 18, 24, 24, 22)):
        sheet.column_dimensions[column].width = width


def _level_sheet(sheet, report: Report, tallies: list[t.AreaTally], with_total: bool,
                 with_parent: bool) -> None:
    level = tallies[0].area.level
    cols = columns(parent=with_parent, units=has_units(level), movement=True)
    sheet.append([str(c.header) for c in cols])
    for cell in sheet[1]:
        cell.font = BOLD
    for tally in tallies:
        values = row(report.tallies, tally)
        sheet.append([_cell(c, values.get(c.key)) for c in cols])
        for index, column in enumerate(cols, start=1):
            if column.kind == "flag" and values.get(column.key) is not None:
                sheet.cell(sheet.max_row, index).fill = MET if values[column.key] else UNMET
    if with_total:
        # The real sums, not SUM formulas: a formula would skip the "<5" cells and be wrong.
        totals = total_row(tallies)
        sheet.append([_cell(c, totals.get(c.key)) for c in cols])
        for cell in sheet[sheet.max_row]:
            cell.font = BOLD
    targets = target_row(report.campaign)
    sheet.append([_cell(c, targets.get(c.key)) for c in cols])
    sheet.cell(sheet.max_row, 1).font = BOLD
    if below_commune(level):
        sheet.append([small_count_note()])
    for index, column in enumerate(cols, start=1):
        wide = column.key in ("name", "parent")
        sheet.column_dimensions[get_column_letter(index)].width = 28 if wide else 14
    sheet.freeze_panes = "C2"


def _cell(column, value):
    if column.kind == "flag":
        return None if value is None else (_("Đạt") if value else _("Chưa đạt"))
    if column.kind == "percent" and value is not None:
        return round(float(value), 1)
    return value


def _progress_sheet(sheet, report: Report) -> None:
    households = dict(report.history.get(t.HOUSEHOLDS, []))
    sheet.append([_("Ngày"), _("Hộ được tuyên truyền"), _("Tỷ lệ tuyên truyền (%)"),
                  _("Hộ ký cam kết"), _("Tỷ lệ ký cam kết (%)")])
    for cell in sheet[1]:
        cell.font = BOLD
    reached = dict(report.history.get(t.REACHED, []))
    pledged = dict(report.history.get(t.PLEDGED, []))
    for day in sorted(set(reached) | set(pledged)):
        total = households.get(day) or 0
        sheet.append([day, reached.get(day, 0), _pct(reached.get(day, 0), total),
                      pledged.get(day, 0), _pct(pledged.get(day, 0), total)])
        sheet.cell(sheet.max_row, 1).number_format = "DD/MM/YYYY"
    sheet.column_dimensions["A"].width = 12


def _pct(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def xlsx_bytes(report: Report) -> bytes:
    """The workbook as bytes (the desk's download)."""
    buffer = io.BytesIO()
    write_xlsx(report, buffer)
    return buffer.getvalue()
