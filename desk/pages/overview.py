"""Overview of an area: every target with its figure, the areas below (sortable), the chart,
the campaign switch; and exports of what it shows (xlsx, csv, png), built like `binhyen report`."""

import asyncio
from datetime import date

from aiogram.utils.i18n import gettext as _
from aiohttp import web

from base.labels import LEVEL_LABELS, TARGET_LABELS
from base.reports.build import build_report
from base.reports.charts import bar_order, chart_png, chart_svg
from base.reports.movement import indicators
from base.reports.table import Report, row, target_row, units_label
from db.services import tallies as t
from db.services.campaigns import campaign_years
from db.services.tips import place_trail
from desk.access import area_in_scope, db, staff, within
from desk.app import context_of, render
from desk.keys import MEMBER

SORTS = {
    "name": lambda x: x.area.name,
    "households": lambda x: x.counts[t.HOUSEHOLDS],
    "reached": lambda x: (x.share(t.REACHED) is None, x.share(t.REACHED) or 0),
    "pledged": lambda x: (x.share(t.PLEDGED) is None, x.share(t.PLEDGED) or 0),
}
FORMATS = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           "csv": "text/csv; charset=utf-8", "png": "image/png"}


def today(request: web.Request) -> date:
    """Today where the deployment is."""
    context = context_of(request)
    return context.clock.now().astimezone(context.settings.tz).date()


def _year(request: web.Request) -> int | None:
    text = request.query.get("year", "")
    return int(text) if text.isascii() and text.isdigit() and 2000 <= int(text) <= 2100 else None


async def report_of(request: web.Request, area) -> Report:
    """The report of the area for the year asked (default the running campaign), at most
    ReportCache.SECONDS old (the member's scope is checked before, on every request)."""
    context = context_of(request)
    key, now = (area.id, _year(request), today(request)), context.clock.monotonic()
    report = context.reports.get(key, now)
    if report is None:
        report = await build_report(db(request), area, today(request), context.settings.tz, _year(request))
        context.reports.put(key, report, now)
    return report


def targets(report: Report) -> list[dict]:
    """Every target of the campaign with its figure and verdict: households reached and pledged,
    the share of the areas below meeting them, and the movement's indicators (units recognized
    and registered, communes with an effective model), as /stats and the reports show them."""
    values, goals = row(report.tallies, report.tallies.root), target_row(report.campaign)
    units = units_label(report.tallies, report.tallies.root)
    wanted = report.campaign.targets
    lines = []
    for key, prefix in (("households_reached_pct", "reached"), ("households_pledged_pct", "pledged")):
        if key in wanted:
            label = str(TARGET_LABELS[key]).format(value=f"{wanted[key]:g}") if key in TARGET_LABELS else key
            lines.append({"label": label, "figure": values[f"{prefix}_pct"], "unit": "%",
                          "met": values[f"{prefix}_met"]})
    if units and t.AREAS_GOAL in wanted:
        for prefix, what in (("reached", _("tuyên truyền")), ("pledged", _("cam kết"))):
            lines.append({
                "label": _("{units} đạt chỉ tiêu {what}: mục tiêu {goal}%").format(
                    units=units, what=what, goal=f"{goals[f'{prefix}_units_pct']:g}"),
                "figure": values[f"{prefix}_units_pct"], "unit": "%", "met": values[f"{prefix}_units_goal"],
                "note": _("{met}/{judged} địa bàn").format(met=values[f"{prefix}_units_met"],
                                                        judged=values["units_judged"])})
    for indicator in indicators(report.tallies, report.tallies.root):
        share = indicator.share
        goal = "" if indicator.target is None else _(": mục tiêu {goal}%").format(goal=f"{indicator.target:g}")
        lines.append({"label": indicator.label + goal, "figure": None if share is None else round(share, 1),
                      "unit": "%", "met": indicator.met,
                      "note": _("{count}/{total}").format(count=indicator.count, total=indicator.total)})
    return lines


@staff
async def overview(request: web.Request) -> web.StreamResponse:
    """An area's overview."""
    member = request[MEMBER]
    area = await area_in_scope(request, request.match_info["code"])
    report = await report_of(request, area)
    sort = request.query.get("sort", "pledged")
    sort = sort if sort in SORTS else "pledged"
    descending = request.query.get("dir") == "desc"
    children = report.tallies.children_of(report.tallies.root)
    children = sorted(children, key=lambda x: (SORTS[sort](x), x.area.name), reverse=descending) \
        if sort != "pledged" or descending else bar_order(report)
    trail = [a for a in await place_trail(db(request), area) if within(member, a)]
    values = {
        "area": area, "report": report, "root": row(report.tallies, report.tallies.root),
        "targets": targets(report), "children": [(x, row(report.tallies, x)) for x in children],
        "trail": trail, "years": await campaign_years(db(request), area), "year": report.campaign.year,
        "sort": sort, "descending": descending, "level_labels": LEVEL_LABELS,
        "year_query": f"year={report.campaign.year}",
    }
    template = "overview_children.html" if request.headers.get("HX-Target") == "children" else "overview.html"
    return render(request, template, values)


@staff
async def chart(request: web.Request) -> web.StreamResponse:
    """The overview's chart as SVG, drawn in a thread."""
    area = await area_in_scope(request, request.match_info["code"])
    report = await report_of(request, area)
    svg = await asyncio.to_thread(chart_svg, report)
    return web.Response(body=svg, content_type="image/svg+xml")


@staff
async def export(request: web.Request) -> web.StreamResponse:
    """What the overview shows as xlsx, csv or png, made by the report's own writers in a thread."""
    from base.reports.text import to_csv
    from base.reports.xlsx import xlsx_bytes

    fmt = request.match_info["fmt"]
    area = await area_in_scope(request, request.match_info["code"])
    report = await report_of(request, area)
    if fmt == "xlsx":
        body = await asyncio.to_thread(xlsx_bytes, report)
    elif fmt == "png":
        body = await asyncio.to_thread(chart_png, report)
    else:
        body = (await asyncio.to_thread(to_csv, report)).encode("utf-8")
    name = f"binhyen-{area.code}-{report.campaign.year}.{fmt}"
    return web.Response(body=body, headers={"Content-Type": FORMATS[fmt],
                                            "Content-Disposition": f'attachment; filename="{name}"'})


def routes(router: web.UrlDispatcher) -> None:
    """The overview routes."""
    router.add_get("/area/{code}", overview, name="overview")
    router.add_get("/area/{code}/chart.svg", chart, name="chart")
    router.add_get("/area/{code}/export.{fmt:xlsx|csv|png}", export, name="export")
