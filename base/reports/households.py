"""A hamlet's households with their pledge and reach status, as the desk's page shows them and
as downloads (xlsx, csv, png), made by the same code for the desk and `binhyen report --households`.

The list holds household heads' names: personal data. It is written only to the file asked for
and never to a log."""

import csv
import io
from dataclasses import dataclass
from datetime import date

from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Area, Campaign
from db.services.households import LISTS, household_statuses


@dataclass(frozen=True)
class HouseholdLine:
    """One household as listed: plain values, so the files can be written in a thread."""

    code: str
    head_name: str
    address: str
    pledged: bool
    reached: bool


@dataclass(frozen=True)
class HouseholdList:
    """A hamlet's active households in a campaign, all or only those not pledged / not reached."""

    hamlet_code: str
    hamlet_name: str
    campaign_name: str
    year: int
    show: str | None  # None, "unpledged" or "unreached"
    made_on: date
    lines: list[HouseholdLine]

    @property
    def file_stem(self) -> str:
        """The download's name without extension: codes only, never a household's name."""
        suffix = f"-{self.show}" if self.show else ""
        return f"binhyen-{self.hamlet_code}-{self.year}-households{suffix}"


async def build_household_list(session: AsyncSession, hamlet: Area, campaign: Campaign, show: str | None,
                               today: date) -> HouseholdList:
    """The hamlet's households in the campaign; `show` ("unpledged", "unreached") keeps only those
    missing it, anything else lists all."""
    show = show if show in LISTS else None
    rows = await household_statuses(session, hamlet, campaign, show)
    lines = [HouseholdLine(h.code, h.head_name, h.address, pledged, reached) for h, pledged, reached in rows]
    return HouseholdList(hamlet.code, hamlet.name, campaign.name, campaign.year, show, today, lines)


def filter_label(show: str | None) -> str:
    """Which households the list holds, in words."""
    if show == "unpledged":
        return _("Chưa ký cam kết")
    if show == "unreached":
        return _("Chưa được tuyên truyền")
    return _("Tất cả")


def headers() -> list[str]:
    """The columns, as on the page."""
    return [_("Mã"), _("Chủ hộ"), _("Địa chỉ"), _("Ký cam kết"), _("Tuyên truyền")]


def yes_no(value: bool) -> str:
    """A status as a word."""
    return _("có") if value else _("chưa")


def title(listing: HouseholdList) -> str:
    """The list's title: the hamlet, the campaign, the filter."""
    return _("Các hộ của {area}").format(area=listing.hamlet_name) + f" — {listing.campaign_name} — " \
        + filter_label(listing.show)


def households_csv(listing: HouseholdList) -> str:
    """One line per household, UTF-8 with BOM for Excel."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers())
    for line in listing.lines:
        writer.writerow([line.code, line.head_name, line.address, yes_no(line.pledged), yes_no(line.reached)])
    return "\ufeff" + out.getvalue()


def households_xlsx(listing: HouseholdList) -> bytes:
    """A workbook with one sheet: the title, the date and count, then the table, statuses coloured."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    from base.reports.xlsx import BOLD, MET, UNMET, sheet_title

    book = Workbook()
    sheet = book.active
    sheet.title = sheet_title(listing.hamlet_name, set())
    sheet.append([title(listing)])
    sheet["A1"].font = BOLD
    sheet.append([_("Số liệu ngày {date}.").format(date=listing.made_on.strftime("%d/%m/%Y")),
                  _("Số hộ: {n}").format(n=len(listing.lines))])
    sheet.append(headers())
    for cell in sheet[3]:
        cell.font = BOLD
    for line in listing.lines:
        sheet.append([line.code, line.head_name, line.address, yes_no(line.pledged), yes_no(line.reached)])
        for cell, value in zip(sheet[sheet.max_row][3:5], (line.pledged, line.reached)):
            cell.fill = MET if value else UNMET
    for number, width in enumerate((12, 30, 40, 14, 14), start=1):
        sheet.column_dimensions[get_column_letter(number)].width = width
    sheet.freeze_panes = "A4"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


ROW_INCHES = 0.26


def households_png(listing: HouseholdList) -> bytes:
    """The table as a picture (for a printout or a chat), the statuses coloured; as tall as the
    list. matplotlib's Figure, not pyplot, so it can be drawn in a worker thread."""
    from matplotlib.figure import Figure

    from base.reports.charts import _save

    rows = [[line.code, line.head_name, line.address, yes_no(line.pledged), yes_no(line.reached)]
            for line in listing.lines] or [["—"] * 5]
    figure = Figure(figsize=(10, 1.0 + ROW_INCHES * (len(rows) + 1)))
    axes = figure.add_axes((0.02, 0.02, 0.96, 1 - 0.9 / figure.get_figheight()))
    axes.set_axis_off()
    axes.set_title(f"{title(listing)}\n" + _("Số liệu ngày {date}.").format(
        date=listing.made_on.strftime("%d/%m/%Y")) + " " + _("Số hộ: {n}").format(n=len(listing.lines)),
        fontsize=10)
    table = axes.table(cellText=rows, colLabels=headers(), colWidths=[0.11, 0.3, 0.37, 0.11, 0.11],
                       loc="upper center", cellLoc="left")
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    table.scale(1, ROW_INCHES * 72 / 8 / 1.6)
    for (number, column), cell in table.get_celld().items():
        if number == 0:
            cell.set_text_props(fontweight="bold")
        elif column in (3, 4) and listing.lines:
            line = listing.lines[number - 1]
            cell.set_facecolor("#C6EFCE" if (line.pledged if column == 3 else line.reached) else "#FFC7CE")
    return _save(figure, "png")
