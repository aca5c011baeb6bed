"""The report's columns and rows: the same numbers for xlsx, csv, Markdown and chat."""

from dataclasses import dataclass
from datetime import date

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.i18n.lazy_proxy import LazyProxy

from db.models import LEVELS, TIP_KINDS, Campaign
from db.services import tallies as t

SMALL_COUNT = 5  # tips below this are shown as "<5" below commune level, so no tipster stands out


@dataclass(frozen=True)
class Column:
    """One column: its header, and how a value of it is shown."""

    key: str
    header: LazyProxy
    kind: str = "count"  # count | percent | flag | text


COLUMNS = [
    Column("name", __("Địa bàn"), "text"),
    Column("code", __("Mã"), "text"),
    Column(t.HOUSEHOLDS, __("Số hộ")),
    Column(t.ON_BOT, __("Hộ dùng Bình Yên")),
    Column(t.REACHED, __("Hộ được tuyên truyền")),
    Column("reached_pct", __("Tỷ lệ tuyên truyền (%)"), "percent"),
    Column("reached_met", __("Đạt chỉ tiêu tuyên truyền"), "flag"),
    Column(t.PLEDGED, __("Hộ ký cam kết")),
    Column("pledged_pct", __("Tỷ lệ ký cam kết (%)"), "percent"),
    Column("pledged_met", __("Đạt chỉ tiêu cam kết"), "flag"),
    Column(t.QUIZ_ATTEMPTS, __("Lượt trả lời câu hỏi")),
    Column("quiz_score", __("Điểm trung bình câu hỏi (%)"), "percent"),
    Column(t.TIPS_RECEIVED, __("Tin báo nhận được")),
    Column(t.TIPS_HANDLED, __("Tin báo đã xử lý")),
    Column(t.BROADCASTS, __("Thông báo đã gửi")),
    Column(t.DELIVERIES_SENT, __("Tin nhắn đã đến")),
    Column("delivery_pct", __("Tỷ lệ gửi thành công (%)"), "percent"),
]


def columns() -> list[Column]:
    """The report's columns, in order."""
    return COLUMNS


def below_commune(level: str) -> bool:
    """True for hamlets (and anything under a commune), where small tip counts are hidden."""
    return LEVELS[level] > LEVELS["commune"]


def row(tally: t.AreaTally, campaign: Campaign) -> dict[str, object]:
    """The values of one area, rounded for reading; tips below 5 hidden below commune level."""
    counts = tally.counts
    values: dict[str, object] = {
        "name": tally.area.name, "code": tally.area.code,
        "reached_pct": tally.share(t.REACHED), "reached_met": tally.meets(t.REACHED, campaign),
        "pledged_pct": tally.share(t.PLEDGED), "pledged_met": tally.meets(t.PLEDGED, campaign),
        "quiz_score": tally.average_quiz_score(),
    }
    for column in columns():
        if column.kind == "count":
            values[column.key] = int(counts[column.key])
    total = counts[t.DELIVERIES_TOTAL]
    values["delivery_pct"] = 100.0 * counts[t.DELIVERIES_SENT] / total if total else None
    for key in (t.TIPS_RECEIVED, t.TIPS_HANDLED):
        values[key] = tip_count(tally, key)
    return values


def tip_count(tally: t.AreaTally, indicator: str) -> int | str:
    """A count of tips, shown as "<5" when it is 1 to 4 in an area below a commune."""
    value = int(tally.counts[indicator])
    if below_commune(tally.area.level) and 0 < value < SMALL_COUNT:
        return f"<{SMALL_COUNT}"
    return value


def tips_by_kind(tally: t.AreaTally) -> list[tuple[str, int | str, int | str]]:
    """(kind, received, handled) for every kind of tip, small counts hidden as in `row`."""
    return [(kind, tip_count(tally, t.by_kind(t.TIPS_RECEIVED, kind)),
             tip_count(tally, t.by_kind(t.TIPS_HANDLED, kind))) for kind in TIP_KINDS]


def shown(column: Column, value: object) -> str:
    """A value as text for csv, Markdown and chat."""
    if value is None:
        return "—"
    if column.kind == "percent":
        return f"{value:.1f}"
    if column.kind == "flag":
        return _("Đạt") if value else _("Chưa đạt")
    return str(value)


def target_row(campaign: Campaign) -> dict[str, object]:
    """The campaign's targets, under the columns they apply to."""
    targets = campaign.targets
    return {"name": _("Chỉ tiêu"), "reached_pct": targets.get("households_reached_pct"),
            "pledged_pct": targets.get("households_pledged_pct")}


def levels_below(tallies: t.Tallies) -> list[tuple[str, list[t.AreaTally]]]:
    """The areas below the root grouped by level, top level first (one sheet each)."""
    grouped: dict[str, list[t.AreaTally]] = {}
    for tally in tallies.areas.values():
        if tally.area.id != tallies.root.area.id:
            grouped.setdefault(tally.area.level, []).append(tally)
    order = sorted(grouped, key=lambda level: LEVELS[level])
    return [(level, sorted(grouped[level], key=lambda x: x.area.code)) for level in order]


@dataclass
class Report:
    """Everything a report shows; built once, rendered in any format."""

    tallies: t.Tallies
    history: dict[str, list[tuple[date, float]]]
    made_on: date

    @property
    def campaign(self) -> Campaign:
        return self.tallies.campaign

    @property
    def title(self) -> str:
        """The report's heading."""
        return _("Phong trào toàn dân bảo vệ an ninh Tổ quốc — {area}, năm {year}").format(
            area=self.tallies.root.area.name, year=self.campaign.year)
