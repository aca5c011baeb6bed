"""Reports as Excel workbooks: a summary, one sheet per level, and progress over time."""

import io
import re
from pathlib import Path

from aiogram.utils.i18n import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from base.labels import LEVEL_LABELS
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
from base.reports.text import small_count_note
from base.tip_labels import kind_label
from db.services import tallies as t

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
    for level, tallies in levels_below(report.tallies):
        sheet = book.create_sheet(sheet_title(str(LEVEL_LABELS[level]), taken))
        _level_sheet(sheet, report, tallies, with_total=True, with_parent=True)
    _progress_sheet(book.create_sheet(sheet_title(_("Tiến độ"), taken)), report)
    _tips_sheet(book.create_sheet(sheet_title(_("Tin báo theo loại"), taken)), report)
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
    goal = report.campaign.targets.get(t.CHILDREN_TARGET)
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


def _level_sheet(sheet, report: Report, tallies: list[t.AreaTally], with_total: bool,
                 with_parent: bool) -> None:
    level = tallies[0].area.level
    cols = columns(parent=with_parent, units=has_units(level))
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
