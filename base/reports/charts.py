"""Charts: the children's reach and pledge rates against the targets, and progress over time."""

import io
import textwrap
from datetime import timedelta

from aiogram.utils.i18n import gettext as _

from base.reports.movement import indicators
from base.reports.table import Report
from db.services import tallies as t

# Every area below is drawn, one horizontal bar pair each, the figure growing with them (a
# province after the 2025 reform has about 100 communes). Past MAX_BARS (a photo must stay under
# Telegram's 10,000 pixels) the chart shows the areas lowest by pledge rate, and says so.
MAX_BARS = 150
BAR_INCHES = 0.24
PROGRESS_INCHES = 3.2
MOVEMENT_INCHES = 3.0


def bar_order(report: Report) -> list[t.AreaTally]:
    """The areas drawn: the children, lowest pledge rate first (then reach, then name) so the
    steering committee sees first where to push; those without households last."""
    children = report.tallies.children_of(report.tallies.root) or [report.tallies.root]
    return sorted(children, key=lambda x: (x.share(t.PLEDGED) is None, x.share(t.PLEDGED) or 0,
                                           x.share(t.REACHED) or 0, x.area.name))


def _movement_panel(axes, report: Report) -> None:
    """The movement's indicators as bars of their shares, each with its target marked."""
    found = indicators(report.tallies, report.tallies.root)
    positions = range(len(found))
    colors = ["#28B463" if x.met else "#CB4335" if x.met is False else "#AAB7B8" for x in found]
    axes.barh(list(positions), [x.share or 0 for x in found], 0.6, color=colors)
    for position, indicator in zip(positions, found):
        target = 100 if indicator.every else indicator.target
        if target is not None:
            axes.plot([target, target], [position - 0.4, position + 0.4], color="#1B2631", linewidth=1.5)
        axes.text(min((indicator.share or 0) + 1, 92), position, f"{indicator.count}/{indicator.total}",
                  va="center", fontsize=7)
    axes.set_yticks(list(positions), [textwrap.fill(x.label, 34) for x in found], fontsize=7)
    axes.invert_yaxis()
    axes.set_xlim(0, 105)
    axes.set_title(_("Công nhận “An toàn về ANTT”, đơn vị và mô hình (vạch: chỉ tiêu)"), fontsize=10)


def chart_png(report: Report) -> bytes:
    """A PNG with the bar chart of the children (or the area itself) and the progress line."""
    return _save(draw(report), "png")


def chart_svg(report: Report) -> bytes:
    """The same chart as SVG, for the desk's pages (text drawn as paths: no fonts needed)."""
    return _save(draw(report), "svg")


def _save(figure, fmt: str) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, dpi=110, metadata={"Date": None} if fmt == "svg" else None)
    return buffer.getvalue()


def draw(report: Report):
    """The chart's matplotlib Figure.

    It uses matplotlib's Figure directly (not pyplot), so charts can be drawn in a worker
    thread while the bot goes on answering. matplotlib is imported here, on the first chart:
    it holds some 40 MB that a bot nobody asks for /stats never needs."""
    from matplotlib.dates import DateFormatter
    from matplotlib.figure import Figure

    campaign = report.campaign
    ordered = bar_order(report)
    bars = ordered[:MAX_BARS]
    bars_inches = max(3.5, 1.6 + BAR_INCHES * len(bars))
    figure = Figure(figsize=(10, bars_inches + PROGRESS_INCHES + MOVEMENT_INCHES))
    rates, progress, movement = figure.subplots(
        3, 1, height_ratios=[bars_inches, PROGRESS_INCHES, MOVEMENT_INCHES])
    positions = range(len(bars))
    height = 0.4
    rates.barh([p - height / 2 for p in positions], [x.share(t.REACHED) or 0 for x in bars], height,
               label=_("Tuyên truyền (%)"), color="#2E86C1")
    rates.barh([p + height / 2 for p in positions], [x.share(t.PLEDGED) or 0 for x in bars], height,
               label=_("Ký cam kết (%)"), color="#28B463")
    for key, color in (("households_reached_pct", "#1B4F72"), ("households_pledged_pct", "#186A3B")):
        target = campaign.targets.get(key)
        if target is not None:
            rates.axvline(target, color=color, linestyle="--", linewidth=1,
                          label=_("Chỉ tiêu {target}%").format(target=f"{target:g}"))
    rates.set_yticks(list(positions), [x.area.name for x in bars], fontsize=8)
    rates.invert_yaxis()  # the lowest pledge rate on top
    rates.set_xlim(0, 105)
    if len(ordered) > len(bars):
        order = _("{shown} trên {total} địa bàn có tỷ lệ ký cam kết thấp nhất, thấp nhất ở trên").format(
            shown=len(bars), total=len(ordered))
    else:
        order = _("Xếp theo tỷ lệ ký cam kết, thấp nhất ở trên")
    rates.set_title(f"{report.title}\n{order}", fontsize=10, pad=26)
    rates.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=4, frameon=False)
    households = dict(report.history.get(t.HOUSEHOLDS, []))
    for key, label, color in ((t.REACHED, _("Tuyên truyền (%)"), "#2E86C1"),
                              (t.PLEDGED, _("Ký cam kết (%)"), "#28B463")):
        series = [(day, 100.0 * value / households[day]) for day, value in report.history.get(key, [])
                  if households.get(day)]
        if series:
            progress.plot([d for d, _v in series], [v for _d, v in series], marker="o", label=label, color=color)
    days = sorted(day for day, _v in report.history.get(t.HOUSEHOLDS, []))
    if days:
        # At least a week wide, so one snapshot is a point and not a four-year axis.
        progress.set_xlim(min(days[0], days[-1] - timedelta(days=6)) - timedelta(days=1),
                          days[-1] + timedelta(days=1))
    progress.xaxis.set_major_formatter(DateFormatter("%d/%m"))
    progress.set_ylim(0, 105)
    progress.set_title(_("Tiến độ theo ngày"), fontsize=10)
    if progress.get_legend_handles_labels()[0]:
        progress.legend(fontsize=8, loc="lower right")
    _movement_panel(movement, report)
    figure.tight_layout()
    return figure
