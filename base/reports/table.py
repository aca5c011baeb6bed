"""The report's columns and rows: the same numbers for xlsx, csv, Markdown and chat."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.i18n.lazy_proxy import LazyProxy

from base.labels import LEVEL_LABELS
from base.reports.movement import MovementData, indicators
from db.models import LEVELS, TIP_KINDS, Campaign
from db.services import tallies as t

SMALL_COUNT = 5  # tips below this are shown as "<5" below commune level, so no tipster stands out
SMALL_LABEL = f"<{SMALL_COUNT}"
# Shown for a count of 5 or more hidden beside a lone "<5" (see shown_tip_counts).
HIDDEN_LABEL = f"≥{SMALL_COUNT}"


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
# The area above each row: hamlet names such as "Khóm 1" repeat in every commune.
PARENT = Column("parent", __("Trực thuộc"), "text")
# The share of the areas below meeting each target, against the campaign's communes-safe target
# (the seeds' 95% of communes): the communes of a province or district, the hamlets of a commune.
UNIT_COLUMNS = [
    Column("units_judged", __("Địa bàn trực thuộc được xét")),
    Column("reached_units_met", __("Địa bàn trực thuộc đạt chỉ tiêu tuyên truyền")),
    Column("reached_units_pct", __("Tỷ lệ địa bàn đạt chỉ tiêu tuyên truyền (%)"), "percent"),
    Column("reached_units_goal", __("Đạt mục tiêu địa bàn (tuyên truyền)"), "flag"),
    Column("pledged_units_met", __("Địa bàn trực thuộc đạt chỉ tiêu cam kết")),
    Column("pledged_units_pct", __("Tỷ lệ địa bàn đạt chỉ tiêu cam kết (%)"), "percent"),
    Column("pledged_units_goal", __("Đạt mục tiêu địa bàn (cam kết)"), "flag"),
]
# The movement's units and models (issue 15), each share against its campaign target.
MOVEMENT_COLUMNS = [
    Column(t.HAMLETS, __("Khu dân cư")),
    Column(t.HAMLETS_RECOGNIZED, __("Khu dân cư được công nhận An toàn")),
    Column("hamlets_recognized_pct", __("Tỷ lệ khu dân cư được công nhận (%)"), "percent"),
    Column(t.COMMUNES, __("Xã, phường")),
    Column(t.COMMUNES_RECOGNIZED, __("Xã, phường được công nhận An toàn")),
    Column("communes_recognized_pct", __("Tỷ lệ xã, phường được công nhận (%)"), "percent"),
    Column("communes_recognized_met", __("Đạt chỉ tiêu xã, phường an toàn"), "flag"),
    Column(t.ORGANIZATIONS, __("Cơ quan, doanh nghiệp, trường học")),
    Column(t.ORGANIZATIONS_REGISTERED, __("Đơn vị đăng ký phong trào")),
    Column("organizations_registered_pct", __("Tỷ lệ đơn vị đăng ký (%)"), "percent"),
    Column("organizations_registered_met", __("Đạt chỉ tiêu đơn vị đăng ký"), "flag"),
    Column(t.ORGANIZATIONS_RECOGNIZED, __("Đơn vị được công nhận An toàn")),
    Column("organizations_recognized_pct", __("Tỷ lệ đơn vị được công nhận (%)"), "percent"),
    Column("organizations_recognized_met", __("Đạt chỉ tiêu đơn vị an toàn"), "flag"),
    Column(t.MODELS_EFFECTIVE, __("Mô hình hoạt động hiệu quả (ấp, xã)")),
    Column("communes_with_model", __("Xã, phường có mô hình hiệu quả")),
    Column("communes_with_model_met", __("Đạt chỉ tiêu mô hình mỗi xã"), "flag"),
]
TIP_KEYS = (t.TIPS_RECEIVED, t.TIPS_HANDLED)
MOVEMENT_COUNTS = (t.HAMLETS, t.HAMLETS_RECOGNIZED, t.COMMUNES, t.COMMUNES_RECOGNIZED, t.ORGANIZATIONS,
                   t.ORGANIZATIONS_REGISTERED, t.ORGANIZATIONS_RECOGNIZED, t.MODELS_EFFECTIVE)
# The shares of the movement's counts: (column, part, whole).
MOVEMENT_SHARES = (("hamlets_recognized_pct", t.HAMLETS_RECOGNIZED, t.HAMLETS),
                   ("communes_recognized_pct", t.COMMUNES_RECOGNIZED, t.COMMUNES),
                   ("organizations_registered_pct", t.ORGANIZATIONS_REGISTERED, t.ORGANIZATIONS),
                   ("organizations_recognized_pct", t.ORGANIZATIONS_RECOGNIZED, t.ORGANIZATIONS))
# The targeted indicators and the prefix of their columns.
TARGETED = ((t.REACHED, "reached"), (t.PLEDGED, "pledged"))


def columns(parent: bool = False, units: bool = False, movement: bool = False) -> list[Column]:
    """The report's columns, in order; with the parent area after the code, the share of the
    areas below meeting the household targets, and the movement's units and models at the end."""
    cols = list(COLUMNS)
    if parent:
        cols.insert(2, PARENT)
    if units:
        cols += UNIT_COLUMNS
    return cols + MOVEMENT_COLUMNS if movement else cols


def below_commune(level: str) -> bool:
    """True for hamlets (and anything under a commune), where small tip counts are hidden."""
    return LEVELS[level] > LEVELS["commune"]


def has_units(level: str) -> bool:
    """True for the levels whose areas below are judged against the communes-safe target."""
    return not below_commune(level)


def _figures(counts: dict[str, float]) -> dict[str, object]:
    """The counted columns and the rates derived from them."""
    values: dict[str, object] = {column.key: int(counts[column.key])
                                 for column in COLUMNS if column.key in t.QUERIES}
    households, attempts, final = counts[t.HOUSEHOLDS], counts[t.QUIZ_ATTEMPTS], counts[t.DELIVERIES_TOTAL]
    values["reached_pct"] = 100.0 * counts[t.REACHED] / households if households else None
    values["pledged_pct"] = 100.0 * counts[t.PLEDGED] / households if households else None
    values["quiz_score"] = 100.0 * counts[t.QUIZ_SCORE_SUM] / attempts if attempts else None
    values["delivery_pct"] = 100.0 * counts[t.DELIVERIES_SENT] / final if final else None
    return values


def row(tallies: t.Tallies, tally: t.AreaTally) -> dict[str, object]:
    """The values of one area, rounded for reading; tips below 5 hidden below commune level."""
    campaign = tallies.campaign
    parent = tallies.areas.get(tally.area.parent_id)
    values: dict[str, object] = {"name": tally.area.name, "code": tally.area.code,
                                 "parent": parent.area.name if parent else None}
    values.update(_figures(tally.counts))
    for indicator, prefix in TARGETED:
        values[f"{prefix}_met"] = tally.meets(indicator, campaign)
    for key in TIP_KEYS:
        values[key] = tip_count(tallies, tally, key)
    values.update(movement_values(tallies, tally))
    if has_units(tally.area.level):
        for indicator, prefix in TARGETED:
            met, judged = tallies.units_meeting(tally, indicator)
            values["units_judged"] = judged
            values[f"{prefix}_units_met"] = met
            values[f"{prefix}_units_pct"] = tallies.units_share(tally, indicator)
            values[f"{prefix}_units_goal"] = tallies.units_meet_goal(tally, indicator)
    return values


def movement_values(tallies: t.Tallies, tally: t.AreaTally) -> dict[str, object]:
    """The movement's columns of one area: counts, shares and whether each target is met."""
    values: dict[str, object] = {key: int(tally.counts[key]) for key in MOVEMENT_COUNTS}
    for indicator in indicators(tallies, tally):
        values[f"{indicator.key}_pct"] = indicator.share
        values[f"{indicator.key}_met"] = indicator.met
        if indicator.key == "communes_with_model":
            values[indicator.key] = indicator.count
    return values


def total_row(group: list[t.AreaTally]) -> dict[str, object]:
    """The real sums of the counted columns over a group of areas of one level (and the rates
    of those sums). Below commune level the tip totals are left out: the hamlets' exact sum
    beside their "<5" would tell what a hidden count is."""
    counts: dict[str, float] = defaultdict(float)
    for tally in group:
        for key, value in tally.counts.items():
            counts[key] += value
    values = {"name": _("Tổng cộng"), **_figures(counts)}
    values.update({key: int(counts[key]) for key in MOVEMENT_COUNTS})
    for key, part, whole in MOVEMENT_SHARES:
        values[key] = 100.0 * counts[part] / counts[whole] if counts[whole] else None
    if group and below_commune(group[0].area.level):
        for key in TIP_KEYS:
            values[key] = None
    return values


def shown_tip_counts(values: list[int]) -> list[int | str]:
    """How a group of tip counts that add up to a total shown exactly is shown below commune
    level: the sibling hamlets of a commune, or the kinds of one area's tips.

    Every count under 5, zero too, reads "<5": were zeros exact, the total less the other
    hamlets would tell which hamlet a lone tip came from. And a "<5" must never be the only
    hidden one of its group, or the total less the others gives it exactly: then the smallest
    other count is hidden too, as "≥5"."""
    shown: list[int | str] = [SMALL_LABEL if value < SMALL_COUNT else value for value in values]
    small = [index for index, value in enumerate(values) if value < SMALL_COUNT]
    exact = [index for index, value in enumerate(values) if value >= SMALL_COUNT]
    if len(small) == 1 and exact:
        shown[min(exact, key=lambda index: values[index])] = HIDDEN_LABEL
    return shown


def tip_count(tallies: t.Tallies, tally: t.AreaTally, indicator: str) -> int | str:
    """A count of tips as a report shows it: exact down to communes, hidden below them by the
    rule of shown_tip_counts among the area's siblings (all of them in `tallies`)."""
    value = int(tally.counts[indicator])
    if not below_commune(tally.area.level):
        return value
    parent = tallies.areas.get(tally.area.parent_id)
    siblings = [tallies.areas[child] for child in parent.children if child in tallies.areas] \
        if parent is not None else [tally]
    counts = [int(sibling.counts[indicator]) for sibling in siblings]
    return shown_tip_counts(counts)[siblings.index(tally)]


def tips_by_kind(tally: t.AreaTally) -> list[tuple[str, int | str, int | str]]:
    """(kind, received, handled) for every kind of tip; below commune level the kinds are
    hidden by the rule of shown_tip_counts (they add up to the area's total)."""
    received = [int(tally.counts[t.by_kind(t.TIPS_RECEIVED, kind)]) for kind in TIP_KINDS]
    handled = [int(tally.counts[t.by_kind(t.TIPS_HANDLED, kind)]) for kind in TIP_KINDS]
    if below_commune(tally.area.level):
        received, handled = shown_tip_counts(received), shown_tip_counts(handled)
    return list(zip(TIP_KINDS, received, handled))


def units_label(tallies: t.Tallies, tally: t.AreaTally) -> str | None:
    """The level of the areas judged for `tally` ("Xã, phường"), or None when there are none."""
    units = tallies.units_of(tally)
    return str(LEVEL_LABELS[units[0].area.level]) if units else None


def verdict(value: bool | None) -> str:
    """A met/unmet flag as a word; no verdict where there is nothing to judge."""
    if value is None:
        return _("không có số liệu")
    return _("đạt") if value else _("chưa đạt")


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
    goal = targets.get(t.AREAS_GOAL)
    return {"name": _("Chỉ tiêu"), "reached_pct": targets.get("households_reached_pct"),
            "pledged_pct": targets.get("households_pledged_pct"),
            "reached_units_pct": goal, "pledged_units_pct": goal,
            "communes_recognized_pct": targets.get("communes_safe_pct"),
            "organizations_registered_pct": targets.get("agencies_registered_pct"),
            "organizations_recognized_pct": targets.get("agencies_safe_pct"),
            "communes_with_model": targets.get("models_per_commune")}


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
    # The lists of the movement's sheets (base/reports/movement.py); the indicators come from the tallies.
    movement: MovementData | None = None

    @property
    def campaign(self) -> Campaign:
        return self.tallies.campaign

    @property
    def title(self) -> str:
        """The report's heading."""
        return _("Phong trào toàn dân bảo vệ an ninh Tổ quốc — {area}, năm {year}").format(
            area=self.tallies.root.area.name, year=self.campaign.year)
