"""Charts: the children's reach and pledge rates against the targets, and progress over time."""

import io
from datetime import timedelta

from aiogram.utils.i18n import gettext as _

from bot.reports.table import Report
from db.services import tallies as t

MAX_BARS = 40


def chart_png(report: Report) -> bytes:
    """A PNG with the bar chart of the children (or the area itself) and the progress line.

    It uses matplotlib's Figure directly (not pyplot), so charts can be drawn in a worker
    thread while the bot goes on answering. matplotlib is imported here, on the first chart:
    it holds some 40 MB that a bot nobody asks for /stats never needs."""
    from matplotlib.dates import DateFormatter
    from matplotlib.figure import Figure

    campaign, root = report.campaign, report.tallies.root
    bars = report.tallies.children_of(root)[:MAX_BARS] or [root]
    figure = Figure(figsize=(10, 9))
    rates, progress = figure.subplots(2, 1, height_ratios=[3, 2])
    positions = range(len(bars))
    width = 0.4
    rates.bar([p - width / 2 for p in positions], [x.share(t.REACHED) or 0 for x in bars], width,
              label=_("Tuyên truyền (%)"), color="#2E86C1")
    rates.bar([p + width / 2 for p in positions], [x.share(t.PLEDGED) or 0 for x in bars], width,
              label=_("Ký cam kết (%)"), color="#28B463")
    for key, color in (("households_reached_pct", "#1B4F72"), ("households_pledged_pct", "#186A3B")):
        target = campaign.targets.get(key)
        if target is not None:
            rates.axhline(target, color=color, linestyle="--", linewidth=1,
                          label=_("Chỉ tiêu {target}%").format(target=f"{target:g}"))
    rates.set_xticks(list(positions), [x.area.name for x in bars], rotation=45, ha="right", fontsize=8)
    rates.set_title(report.title, fontsize=11)
    rates.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, 1.0), ncol=4, framealpha=0.9)
    rates.set_ylim(0, 118)  # room for the legend above the 100% line
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
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()
