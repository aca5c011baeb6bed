"""`binhyen recognition …`: each unit of an area with its status and the criteria not met, the
criteria a province edits, and the recognition's dates as campaign milestones."""

import argparse

from aiogram.utils.i18n import gettext as _
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from base.clock import SystemClock
from base.settings import Settings
from content.catalog import Catalog
from db.models import UNIT_KINDS, RecognitionCriterion
from db.services.areas import require_area
from db.services.campaigns import campaign_for_report
from db.services.criteria import (
    KIND_LABELS,
    RULES,
    add_criterion,
    checklist,
    edit_criterion,
    require_criterion,
    retire_criterion,
)
from db.services.milestones import milestone_title
from db.services.pledge_texts import newest_pledge_version
from db.services.recognition import label_status, unit_lines, units_of
from db.services.recognition_calendar import add_recognition_calendar
from db.text import N_, Problem


async def _transaction(settings: Settings, work, read_only: bool = False) -> int:
    from bot.cli.main import _in_transaction  # bot.cli.main imports this module first

    return await _in_transaction(settings, work, read_only)


def _unmet(item) -> str:
    """A criterion not met, as the list shows it: its number, and why."""
    if item.figure is not None:
        reason = _(item.figure.message).format(**item.figure.params)
    elif item.check is None:
        reason = _("chưa đánh giá")
    else:
        reason = _("chưa đạt") + (f": {item.check.note}" if item.check.note else "")
    return f"{item.criterion.number} ({reason})"


async def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print every unit of an area (communes, hamlets, agencies, enterprises, schools) with its
    kind, status and the criteria it does not meet."""
    from bot.cli.main import local_today

    async def work(session: AsyncSession) -> int:
        area = await require_area(session, args.area)
        campaign = await campaign_for_report(session, area, local_today(settings), args.year)
        if campaign is None and args.year is not None:
            raise Problem(N_("Không có đợt thi đua năm {year} cho {area}."), year=args.year, area=area.name)
        if campaign is None:
            raise Problem(N_("Không có đợt thi đua nào cho {area}."), area=area.name)
        print(_("Công nhận “An toàn về ANTT” — {area}, năm {year}").format(area=area.name, year=campaign.year))
        for line in await unit_lines(session, campaign, await units_of(session, area, everything=True)):
            found = await checklist(session, campaign, line.unit, line.recognition)
            unmet = ", ".join(_unmet(item) for item in found.unmet) or "—"
            print(f"{line.unit.code}\t{_(KIND_LABELS[line.unit.kind])}\t{line.unit.name}\t"
                  f"{_(label_status(line.recognition))}\t{_('chưa đạt tiêu chí')}: {unmet}")
        return 0

    return await _transaction(settings, work, read_only=True)


async def cmd_criteria_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print the criteria (of a kind), seeded and a province's own, active or retired."""
    async def work(session: AsyncSession) -> int:
        query = select(RecognitionCriterion).order_by(RecognitionCriterion.unit_kind, RecognitionCriterion.position)
        if args.kind:
            query = query.where(RecognitionCriterion.unit_kind == args.kind)
        for criterion in await session.scalars(query):
            state = "" if criterion.active else _(" (đã bỏ)")
            print(f"#{criterion.id}\t{criterion.unit_kind}\t{criterion.number}\t{criterion.rule or '—'}\t"
                  f"{criterion.label_vi}{state}")
        return 0

    return await _transaction(settings, work, read_only=True)


async def cmd_criteria_add(args: argparse.Namespace, settings: Settings) -> int:
    """A province's own criterion."""
    async def work(session: AsyncSession) -> int:
        province = await require_area(session, args.area)
        criterion = await add_criterion(session, province, args.kind, args.number, args.vi, args.en, args.rule)
        print(_("Đã thêm tiêu chí #{id} ({kind} {number}) cho {area}.").format(
            id=criterion.id, kind=criterion.unit_kind, number=criterion.number, area=province.name))
        return 0

    return await _transaction(settings, work)


async def cmd_criteria_edit(args: argparse.Namespace, settings: Settings) -> int:
    """New wording of a criterion."""
    async def work(session: AsyncSession) -> int:
        criterion = await edit_criterion(session, await require_criterion(session, args.id), args.number, args.vi,
                                         args.en)
        print(_("Đã sửa tiêu chí #{id}: {number}. {label}").format(
            id=criterion.id, number=criterion.number, label=criterion.label_vi))
        return 0

    return await _transaction(settings, work)


async def cmd_criteria_retire(args: argparse.Namespace, settings: Settings) -> int:
    """Stop asking a criterion."""
    async def work(session: AsyncSession) -> int:
        criterion = await retire_criterion(session, await require_criterion(session, args.id))
        print(_("Đã bỏ tiêu chí #{id}; các đánh giá trước vẫn được lưu.").format(id=criterion.id))
        return 0

    return await _transaction(settings, work)


async def cmd_calendar(args: argparse.Namespace, settings: Settings) -> int:
    """The recognition's milestones and reminders in a year's campaign."""
    pledge_version = newest_pledge_version(Catalog.load())

    async def work(session: AsyncSession) -> int:
        area = await require_area(session, args.area)
        lines = await add_recognition_calendar(session, area, args.year, settings.tz, settings.quiet,
                                               pledge_version, SystemClock().now())
        for line in lines:
            milestone = line.milestone
            text = (_("Đã thêm mốc {title} ngày {day}: {reminders} lời nhắc ({past} đã qua, không thêm).")
                    if line.new else _("Mốc {title} đã có, nay ngày {day}; giữ các lời nhắc của mốc."))
            print(text.format(title=milestone_title(milestone, _), day=f"{milestone.happens_on:%d/%m/%Y}",
                              reminders=line.reminders, past=line.past))
        return 0

    return await _transaction(settings, work)


def add_recognition_commands(commands: argparse._SubParsersAction) -> None:
    """Register `recognition` on the top-level parser."""
    group = commands.add_parser("recognition", help="recognition “An toàn về ANTT” of the units").add_subparsers(
        dest="recognition_command", required=True, metavar="ACTION")
    listing = group.add_parser("list", help="each unit of an area with its status and the criteria not met")
    listing.add_argument("--area", required=True, help="area code")
    listing.add_argument("--year", type=int, help="campaign year (default: the running one)")
    listing.set_defaults(handler=cmd_list)
    calendar = group.add_parser("calendar", help="the assessment periods and file deadlines as milestones, "
                                "with reminders")
    calendar.add_argument("--area", required=True, help="area code; the campaign is found above it or created at it")
    calendar.add_argument("--year", type=int, required=True)
    calendar.set_defaults(handler=cmd_calendar)
    criteria = group.add_parser("criteria", help="the criteria a province edits").add_subparsers(
        dest="criteria_command", required=True, metavar="ACTION")
    shown = criteria.add_parser("list", help="every criterion with its id")
    shown.add_argument("--kind", choices=UNIT_KINDS)
    shown.set_defaults(handler=cmd_criteria_list)
    add = criteria.add_parser("add", help="a province's own criterion")
    add.add_argument("--area", required=True, help="the province's code")
    add.add_argument("--kind", choices=UNIT_KINDS, required=True)
    add.add_argument("--number", required=True, help="as the province numbers it, e.g. 6 or 2b")
    add.add_argument("--vi", required=True, help="the wording in Vietnamese")
    add.add_argument("--en", required=True, help="the wording in English")
    add.add_argument("--rule", choices=RULES, help="computed by the bot (default: ticked by officers)")
    add.set_defaults(handler=cmd_criteria_add)
    edit = criteria.add_parser("edit", help="new wording or number of a criterion")
    edit.add_argument("id", type=int)
    edit.add_argument("--number")
    edit.add_argument("--vi")
    edit.add_argument("--en")
    edit.set_defaults(handler=cmd_criteria_edit)
    retire = criteria.add_parser("retire", help="stop asking a criterion (its ticks stay)")
    retire.add_argument("id", type=int)
    retire.set_defaults(handler=cmd_criteria_retire)
