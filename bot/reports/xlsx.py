"""Reports as Excel workbooks: a summary, one sheet per level, and progress over time."""

from pathlib import Path

from aiogram.utils.i18n import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from bot.reports.table import Report, columns, levels_below, row, target_row, tips_by_kind
from db.services import tallies as t
from handlers.labels import LEVEL_LABELS
from handlers.tip_labels import kind_label

MET = PatternFill("solid", fgColor="C6EFCE")
UNMET = PatternFill("solid", fgColor="FFC7CE")
BOLD = Font(bold=True)


def write_xlsx(report: Report, path: Path) -> None:
    """Write the workbook."""
    book = Workbook()
    summary = book.active
    summary.title = _("Tổng hợp")[:31]
    _level_sheet(summary, report, [report.tallies.root], with_total=False)
    for level, tallies in levels_below(report.tallies):
        sheet = book.create_sheet(str(LEVEL_LABELS[level])[:31])
        _level_sheet(sheet, report, tallies, with_total=True)
    _progress_sheet(book.create_sheet(_("Tiến độ")[:31]), report)
    _tips_sheet(book.create_sheet(_("Tin báo theo loại")[:31]), report)
    book.save(path)


def _tips_sheet(sheet, report: Report) -> None:
    sheet.append([_("Loại"), _("Nhận được"), _("Đã xử lý")])
    for cell in sheet[1]:
        cell.font = BOLD
    for kind, received, handled in tips_by_kind(report.tallies.root):
        sheet.append([kind_label(kind), received, handled])
    sheet.column_dimensions["A"].width = 36


def _level_sheet(sheet, report: Report, tallies: list[t.AreaTally], with_total: bool) -> None:
    cols = columns()
    sheet.append([str(c.header) for c in cols])
    for cell in sheet[1]:
        cell.font = BOLD
    for tally in tallies:
        values = row(tally, report.campaign)
        sheet.append([_cell(c, values.get(c.key)) for c in cols])
        for index, column in enumerate(cols, start=1):
            if column.kind == "flag" and values.get(column.key) is not None:
                sheet.cell(sheet.max_row, index).fill = MET if values[column.key] else UNMET
    if with_total:
        totals = [_("Tổng cộng"), ""]
        for column in cols[2:]:
            if column.kind == "count":
                cells = [sheet.cell(r, cols.index(column) + 1).coordinate for r in (2, sheet.max_row)]
                totals.append(f"=SUM({cells[0]}:{cells[1]})")
            else:
                totals.append(None)
        sheet.append(totals)
        for cell in sheet[sheet.max_row]:
            cell.font = BOLD
    targets = target_row(report.campaign)
    sheet.append([_cell(c, targets.get(c.key)) for c in cols])
    sheet.cell(sheet.max_row, 1).font = BOLD
    for index, column in enumerate(cols, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = 28 if column.key == "name" else 14
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
