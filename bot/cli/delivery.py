"""The `binhyen broadcast` and `binhyen campaign …` commands (registered by bot/cli/main.py)."""

import argparse
import asyncio
import sys
from datetime import date, datetime, timedelta

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from base.clock import SystemClock
from base.i18n import translator
from base.labels import render_problem
from base.settings import Settings
from bot.app import App, build_app, telegram_bot
from bot.background import make_worker
from content.catalog import Catalog
from db.models import AUDIENCES, CHANNELS, MILESTONE_KINDS, Broadcast, Campaign
from db.services.areas import require_area
from db.services.broadcasts import create_broadcast, require_recipients
from db.services.deliveries import busy_workers, counts_by_broadcast, outstanding
from db.services.milestones import (
    ReminderSpec,
    add_milestone_in_year,
    add_reminder,
    campaign_for_year,
    campaign_milestones,
    milestone_title,
    milestones_for,
    reminders_for,
    remove_reminder,
)
from db.services.pledge_texts import newest_pledge_version
from db.services.schedule_times import check_send_time
from db.session import make_read_sessionmaker
from db.text import N_, Problem
from delivery.sender import Channel
from delivery.senders import TelegramSender, TextSender, ZaloSender
from delivery.zalo_api import ZaloClient

# The console channel only prints; it has no rate limit worth the name.
CONSOLE_RATE = 100.0
# How long a just-queued broadcast is watched for another worker taking its rows (seconds): a
# running `binhyen run` worker looks for new rows every second.
HANDOFF_SECONDS = 2.5
# A worker renews its leases every 10 s (delivery/worker.py): one renewed within this is alive.
LIVE_LEASE = timedelta(seconds=30)
# The exit status of a request refused as given (as argparse does for bad arguments).
REFUSED = 2


def _local(moment: datetime, settings: Settings) -> str:
    return f"{moment.astimezone(settings.tz):%H:%M %d/%m/%Y}"


def _at(text: str, settings: Settings) -> datetime:
    """--at as ISO 8601; without an offset it is local time."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Problem(N_("--at phải là thời điểm ISO 8601, ví dụ 2026-08-19T07:30, không phải “{text}”."),
                      text=text) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=settings.tz)


def channels_for(settings: Settings, console_only: bool = False) -> list[Channel]:
    """The channels this process can deliver on: the console (printed), and Telegram and Zalo
    with their tokens."""
    channels = [Channel("console", TextSender(print), CONSOLE_RATE, per_chat_interval=0)]
    if settings.telegram_token is not None and not console_only:
        channels.append(Channel("telegram", TelegramSender(telegram_bot(settings)), settings.telegram_rate))
    if settings.zalo_token is not None and not console_only:
        client = ZaloClient(settings.zalo_token, settings.zalo_api_base)
        channels.append(Channel("zalo", ZaloSender(client), settings.zalo_rate))
    return channels


async def close_channels(channels: list[Channel]) -> None:
    """Close the HTTP sessions of the channels' senders."""
    for channel in channels:
        if isinstance(channel.sender, TelegramSender):
            await channel.sender.bot.session.close()
        elif isinstance(channel.sender, ZaloSender):
            await channel.sender.client.close()


async def _progress(app: App, broadcast_id: int, total: int, done: asyncio.Event) -> None:
    """A one-line progress bar on stderr until `done`."""
    reads = make_read_sessionmaker(app.engine)
    while True:
        async with reads() as session:
            counts = (await counts_by_broadcast(session, [broadcast_id]))[broadcast_id]
        finished = counts["sent"] + counts["unreachable"] + counts["failed"]
        width = 30
        filled = width * finished // total if total else width
        print("\r[" + "#" * filled + "." * (width - filled) + "] " + ngettext(
            "{done}/{total} tin", "{done}/{total} tin", total).format(done=finished, total=total),
            end="", file=sys.stderr, flush=True)
        if done.is_set():
            print(file=sys.stderr)
            return counts
        try:
            await asyncio.wait_for(done.wait(), 0.5)
        except TimeoutError:
            pass


async def _taken_by_another_worker(app: App, channels: list[Channel]) -> bool:
    """Does a running worker (`binhyen run`) send on these channels? Watched for a moment after
    queueing, since an idle worker holds no rows until it finds the new ones."""
    reads = make_read_sessionmaker(app.engine)
    names = [channel.name for channel in channels]
    deadline = asyncio.get_running_loop().time() + HANDOFF_SECONDS
    while True:
        async with reads() as session:
            if await busy_workers(session, names, SystemClock().now() - LIVE_LEASE):
                return True
        if asyncio.get_running_loop().time() >= deadline:
            return False
        await asyncio.sleep(0.25)


async def _follow(app: App, broadcast_id: int, done: asyncio.Event) -> None:
    """Set `done` once another process has finished sending the broadcast."""
    reads = make_read_sessionmaker(app.engine)
    status = select(Broadcast.status).where(Broadcast.id == broadcast_id)
    while True:
        async with reads() as session:
            if await session.scalar(status) != "sending":
                break
        await asyncio.sleep(0.5)
    done.set()


def _refused(problem: Problem) -> int:
    print(render_problem(problem, markup=False), file=sys.stderr)
    return REFUSED


async def cmd_broadcast(args: argparse.Namespace, settings: Settings) -> int:
    """Broadcast a text or an outreach article from the command line: now (sent by this process
    with a progress bar, or followed while a running worker sends it) or --at a time."""
    if args.text is None and args.article is None:
        return _refused(Problem(N_("Cần --text, --article hoặc cả hai.")))
    now = SystemClock().now()
    try:
        # The same rules as a time typed in chat: after now, within a year.
        when = check_send_time(_at(args.at, settings), now, settings.tz) if args.at else None
    except Problem as problem:
        return _refused(problem)
    app = await build_app(settings)
    channels = channels_for(settings)
    try:
        texts = translator(app.i18n)
        async with app.sessionmaker() as session, session.begin():
            area = await require_area(session, args.area)
            try:
                # Refused like the chat's preview refuses it: nobody would receive it.
                await require_recipients(session, None, area, args.audience, now, settings.tz)
            except Problem as problem:
                return _refused(problem)
            broadcast = await create_broadcast(
                session, None, area, args.audience, args.text, when, args.urgent, now, settings.tz,
                settings.quiet, texts, article_id=args.article, catalog=app.dispatcher["catalog"])
        if broadcast.status == "scheduled":
            print(_("Đã hẹn gửi thông báo #{id} lúc {when}; tiến trình scheduler sẽ gửi.").format(
                id=broadcast.id, when=_local(broadcast.send_at, settings)))
            return 0
        if broadcast.status == "done":  # everyone left the audience in the meantime
            print(_("Thông báo #{id} không gửi tới ai: nhóm này không còn ai nhận được.").format(
                id=broadcast.id))
            return 0
        total = broadcast.recipients or 0
        print(ngettext("Gửi thông báo #{id} tới {count} người.",
                       "Gửi thông báo #{id} tới {count} người.", total).format(
            id=broadcast.id, count=total))
        done = asyncio.Event()
        progress = asyncio.create_task(_progress(app, broadcast.id, total, done))
        follow = args.no_worker or await _taken_by_another_worker(app, channels)
        try:
            if follow:
                # Another worker sends it: a second one here would double the channel's rate.
                print(_("Tiến trình binhyen run gửi thông báo này; lệnh này chỉ theo dõi tiến độ "
                        "(Ctrl-C thôi theo dõi, tin vẫn được gửi)."))
                await _follow(app, broadcast.id, done)
            else:
                await make_worker(app, channels).drain(f"broadcast:{broadcast.id}")
        finally:
            done.set()
            counts = await progress
        print(_("Xong: {sent} người đã nhận, {unreachable} không liên lạc được, {failed} lỗi.").format(
            sent=counts["sent"], unreachable=counts["unreachable"], failed=counts["failed"]))
        if not follow:
            async with app.sessionmaker() as session:
                others = [name for name in CHANNELS if name not in {c.name for c in channels}]
                left, _earliest = await outstanding(session, others, f"broadcast:{broadcast.id}")
            if left:
                print(ngettext(
                    "{count} tin chờ một tiến trình có kênh của người nhận (binhyen run) gửi.",
                    "{count} tin chờ một tiến trình có kênh của người nhận (binhyen run) gửi.",
                    left).format(count=left))
        return 0
    finally:
        await close_channels(channels)
        await app.close()


async def _in_session(settings: Settings, work) -> int:
    app = await build_app(settings)
    try:
        async with app.sessionmaker() as session, session.begin():
            return await work(session)
    finally:
        await app.close()


async def cmd_milestone_add(args: argparse.Namespace, settings: Settings) -> int:
    """Add (or move) a milestone of an area's campaign for a year, with reminders."""
    specs = [ReminderSpec.parse(spec) for spec in args.remind or []]
    day = None
    if args.date:
        try:
            day = date.fromisoformat(args.date)
        except ValueError:
            raise Problem(N_("--date phải có dạng YYYY-MM-DD, không phải “{text}”."), text=args.date) from None

    pledge_version = newest_pledge_version(Catalog.load())

    async def work(session: AsyncSession) -> int:
        area = await require_area(session, args.area)
        milestone, new, created = await add_milestone_in_year(
            session, area, args.year, args.kind, day, args.title, settings.tz, settings.quiet,
            pledge_version)
        if created:
            print(_("Đã tạo chiến dịch “{name}” cho {area}.").format(
                name=milestone.campaign.name, area=area.code))
        text = _("Đã thêm mốc {title} ngày {day}.") if new else _(
            "Đã dời mốc {title} sang ngày {day}; các lời nhắc của mốc được tính lại.")
        print(text.format(title=milestone_title(milestone, _), day=f"{milestone.happens_on:%d/%m/%Y}"))
        for spec in specs:
            reminder = await add_reminder(session, milestone, area, spec, args.text, None,
                                          SystemClock().now(), settings.tz, settings.quiet)
            print(_("Lời nhắc #{id}: {when}, {audience}.").format(
                id=reminder.id, when=_local(reminder.due_at, settings), audience=reminder.audience))
        return 0

    return await _in_session(settings, work)


async def cmd_reminder_remove(args: argparse.Namespace, settings: Settings) -> int:
    """Remove a reminder that has not been sent (its job leaves the scheduler's plan)."""

    async def work(session: AsyncSession) -> int:
        reminder = await remove_reminder(session, None, args.id)
        print(_("Đã xóa lời nhắc #{id}; sẽ không gửi.").format(id=reminder.id))
        return 0

    return await _in_session(settings, work)


async def cmd_campaign_show(args: argparse.Namespace, settings: Settings) -> int:
    """Print campaigns with their milestones and reminders."""
    year = args.year or SystemClock().now().astimezone(settings.tz).year

    async def work(session: AsyncSession) -> int:
        if args.area:
            area = await require_area(session, args.area)
            campaign = await campaign_for_year(session, area, year)
            shown = [(campaign, area)] if campaign else []
        else:
            campaigns = await session.scalars(select(Campaign).where(Campaign.year == year))
            shown = [(campaign, campaign.area) for campaign in campaigns]
        if not shown:
            print(_("Chưa có chiến dịch nào năm {year}.").format(year=year))
        for campaign, area in shown:
            print(f"{campaign.name} — {area.code} ({campaign.year})")
            milestones = await (milestones_for(session, campaign, area) if args.area
                                else campaign_milestones(session, campaign))
            reminders = await reminders_for(session, milestones, area)
            for milestone in milestones:
                print(f"  {milestone.happens_on:%d/%m/%Y}  {milestone_title(milestone, _)} "
                      f"[{milestone.kind}, {milestone.area.code}]")
                for reminder in (r for r in reminders if r.milestone_id == milestone.id):
                    print(f"    #{reminder.id} {_local(reminder.due_at, settings)} "
                          f"{reminder.days_before}d@{reminder.at_time}:{reminder.audience} "
                          f"{reminder.area.code} {reminder.status}")
        return 0

    return await _in_session(settings, work)


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register `broadcast` and `campaign` on the top-level parser."""
    broadcast = commands.add_parser("broadcast", help="send a message or an outreach article to an "
                                    "area's audience")
    broadcast.add_argument("--area", required=True, help="area code")
    broadcast.add_argument("--text", help="the message (with --article: said before the article)")
    broadcast.add_argument("--article", metavar="ID",
                           help="an outreach article (its folder in content/articles): each "
                           "recipient gets its title and summary in their language")
    broadcast.add_argument("--audience", choices=AUDIENCES, default="all")
    broadcast.add_argument("--at", help="send later: ISO time, local unless it has an offset, "
                           "within a year")
    broadcast.add_argument("--urgent", action="store_true", help="ignore the quiet hours")
    broadcast.add_argument("--no-worker", action="store_true",
                           help="only queue and follow the progress: a running `binhyen run` "
                           "worker sends it")
    broadcast.set_defaults(handler=cmd_broadcast)

    campaign = commands.add_parser("campaign", help="the campaign calendar").add_subparsers(
        dest="campaign_command", required=True, metavar="ACTION")
    show = campaign.add_parser("show", help="milestones and reminders")
    show.add_argument("--area", help="area code (default: every campaign of the year)")
    show.add_argument("--year", type=int)
    show.set_defaults(handler=cmd_campaign_show)
    milestone = campaign.add_parser("milestone", help="milestones").add_subparsers(
        dest="milestone_command", required=True, metavar="ACTION")
    add = milestone.add_parser("add", help="add a milestone (a standard kind again moves it)")
    add.add_argument("--area", required=True, help="area code; the campaign is found above it "
                     "or created at it")
    add.add_argument("--year", type=int, required=True)
    add.add_argument("--kind", choices=MILESTONE_KINDS, required=True)
    add.add_argument("--date", help="YYYY-MM-DD (festival_day defaults to 19 August)")
    add.add_argument("--title", help="required for custom milestones")
    add.add_argument("--remind", action="append", metavar="SPEC",
                     help="DAYSd[@HH:MM][:AUDIENCE], e.g. 7d@08:00:unpledged; repeatable")
    add.add_argument("--text", help="the reminders' own text instead of the template")
    add.set_defaults(handler=cmd_milestone_add)
    reminder = campaign.add_parser("reminder", help="reminders").add_subparsers(
        dest="reminder_command", required=True, metavar="ACTION")
    remove = reminder.add_parser("remove", help="remove a reminder not sent yet (ids: campaign show)")
    remove.add_argument("id", type=int, metavar="ID")
    remove.set_defaults(handler=cmd_reminder_remove)
