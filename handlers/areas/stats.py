"""/stats: the key numbers of the caller's area against the targets, and the chart."""

import asyncio

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.markdown import html_decoration as hd
from sqlalchemy.ext.asyncio import AsyncSession

from base.clock import Clock
from base.commands import COMMANDS
from base.formatting import echo, today
from base.reports.build import build_report
from base.reports.charts import chart_png
from base.reports.movement import indicators
from base.reports.table import columns as report_columns
from base.reports.table import row, shown, units_label, verdict
from base.reports.text import indicator_line
from base.settings import Settings
from db.models import Member
from db.services import tallies as t
from db.services.areas import children, get_area
from db.services.members import scope_covers


async def stats(message: Message, command: CommandObject, session: AsyncSession, member: Member,
                clock: Clock, settings: Settings) -> None:
    """The caller's area (or the one named, within their scope): numbers, then the chart."""
    code = (command.args or "").strip()
    area = member.area
    if code:
        area = await get_area(session, code)
        if area is None or not scope_covers(member, area):
            await message.answer(_("Địa bàn {code} nằm ngoài phạm vi bạn phụ trách.").format(code=echo(code)))
            return
    if area is None:  # an admin of the whole deployment: the first province
        provinces = await children(session, None)
        if not provinces:
            await message.answer(_("Chưa có địa bàn nào."))
            return
        area = provinces[0]
    report = await build_report(session, area, today(clock, settings), settings.tz)
    root = report.tallies.root
    values = row(report.tallies, root)
    by_key = {column.key: column for column in report_columns()}
    lines = [f"<b>{hd.quote(report.title)}</b>"]
    for key in (t.HOUSEHOLDS, t.ON_BOT, t.REACHED, "reached_pct", "reached_met", t.PLEDGED, "pledged_pct",
                "pledged_met", t.QUIZ_ATTEMPTS, "quiz_score", t.TIPS_RECEIVED, t.TIPS_HANDLED,
                t.BROADCASTS, t.DELIVERIES_SENT, "delivery_pct"):
        if key in by_key:
            # Values are text such as "<5" (a small tip count, hidden): quoted like any text.
            lines.append(f"• {hd.quote(str(by_key[key].header))}: {hd.quote(shown(by_key[key], values.get(key)))}")
    units = units_label(report.tallies, root)
    if units:
        goal = report.campaign.targets.get(t.AREAS_GOAL)
        for prefix, label in (("reached", _("tuyên truyền")), ("pledged", _("cam kết"))):
            share = values[f"{prefix}_units_pct"]
            line = _("• {units} đạt chỉ tiêu {label}: {met}/{judged} ({share}), mục tiêu {goal} — {verdict}")
            lines.append(hd.quote(line.format(
                units=units, label=label, met=values[f"{prefix}_units_met"], judged=values["units_judged"],
                share="—" if share is None else f"{share:.1f}%", goal="—" if goal is None else f"{goal:g}%",
                verdict=verdict(values[f"{prefix}_units_goal"]))))
    lines += [f"• {hd.quote(indicator_line(indicator))}" for indicator in indicators(report.tallies, root)]
    await message.answer("\n".join(lines))
    png = await asyncio.to_thread(chart_png, report)  # drawing takes a moment: not on the loop
    try:
        await message.answer_photo(BufferedInputFile(png, filename="binhyen.png"),
                                   caption=hd.quote(report.tallies.root.area.name))
    except TelegramBadRequest:  # a channel that cannot show it (Zalo without a webhook)
        await message.answer(_(
            "Biểu đồ không gửi được qua kênh này. Xem biểu đồ trong báo cáo "
            "(binhyen report --area {code} --format png) hoặc trên Telegram."
        ).format(code=hd.quote(report.tallies.root.area.code)))


def router() -> Router:
    """The /stats router (staff only)."""
    router = Router(name="stats")
    router.message.register(stats, Command("stats"), flags=COMMANDS["stats"].flags)
    return router
