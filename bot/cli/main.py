"""The `binhyen` command: run the bot, chat on the console, migrate, import and grant roles."""

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path

from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from base.i18n import make_i18n, use_locale
from base.labels import render_problem
from base.settings import ServiceUnreachable, Settings, SettingsError, TokenRefused, load_settings
from bot.app import App, build_app, telegram_bot, tip_keys
from bot.background import RUN_ROLES, runs_bot, start_background
from bot.cli import delivery as delivery_commands
from bot.cli.delivery import channels_for, close_channels
from bot.cli.models import add_models_commands
from bot.cli.organizations import add_organizations_commands
from bot.cli.recognition import add_recognition_commands
from bot.cli.tips import add_tips_commands
from bot.cli.web import add_web_commands
from bot.web_desk import runs_desk
from content.catalog import Catalog
from db import migrate
from db.migrate import NotMigrated
from db.models import CHANNELS, ROLES
from db.services.areas import require_area
from db.services.csv_import import ImportFailed, import_areas, import_households, read_csv
from db.services.demo import load_demo
from db.services.members import grant_role, list_staff
from db.services.pledge_texts import newest_pledge_version
from db.session import (
    READ_ONLY,
    DatabaseUnreachable,
    check_reachable,
    make_engine,
    make_read_sessionmaker,
    make_sessionmaker,
)
from db.text import N_, Problem

Command = Callable[[argparse.Namespace, Settings], Awaitable[int]]


async def _in_transaction(settings: Settings, work: Callable[[AsyncSession], Awaitable[int]],
                          read_only: bool = False) -> int:
    """Run `work` in one committed transaction on a migrated database."""
    engine = make_engine(settings.database_url)
    try:
        await migrate.check_migrated(engine)
        bind = engine.execution_options(**READ_ONLY) if read_only else engine
        async with make_sessionmaker(bind)() as session, session.begin():
            return await work(session)
    finally:
        await engine.dispose()


async def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    """Start what --role runs: the bot on Telegram and/or Zalo (webhook or polling each; the
    console without a token), the scheduler and the delivery worker (see bot/background.py)."""
    role = getattr(args, "role", "all")
    if settings.telegram_token is None and settings.zalo_token is None and runs_bot(role):
        print(_("Chưa đặt BINHYEN_TELEGRAM_TOKEN hay BINHYEN_ZALO_TOKEN: "
                "mở kênh thử trên máy (console)."))
        return await cmd_chat(args, settings, role)
    if settings.telegram_token is not None:
        from bot.channels.telegram import check_token

        await check_token(settings)
    app = await build_app(settings)
    from bot.channels.zalo import ZaloWebhookInUse, zalo_channel
    from bot.serve import serve
    from delivery.zalo_api import ZaloError, ZaloUnauthorized

    channels = [] if role in ("bot", "web") else channels_for(settings)
    background = await start_background(app, role, channels)
    bot = telegram_bot(settings) if runs_bot(role) and settings.telegram_token else None
    zalo = zalo_channel(app) if runs_bot(role) and settings.zalo_token else None
    if zalo is not None:
        zalo.take_over_webhook = getattr(args, "take_over_zalo_webhook", False)
    try:
        if bot is None and zalo is None and not runs_desk(role):
            print(_("Bình Yên đang chạy vai trò {role}. Nhấn Ctrl-C để dừng.").format(role=role))
            await asyncio.Event().wait()
        else:
            if runs_desk(role):
                print(_("Bàn làm việc: {url}").format(url=settings.web_base_url))
            await serve(app, bot, zalo, desk=runs_desk(role))
    except ZaloUnauthorized:
        print(_("Zalo không nhận BINHYEN_ZALO_TOKEN: hãy kiểm tra lại mã của bot."),
              file=sys.stderr)
        return 1
    except ZaloWebhookInUse as in_use:
        print(_("Bot Zalo này đang nhận tin qua webhook tại {host}, nên không nhận tin bằng "
                "getUpdates được (chưa đặt BINHYEN_ZALO_WEBHOOK_URL ở đây). Xóa webhook sẽ lấy "
                "mất tin của tiến trình đang chạy bằng webhook đó. Hãy đặt "
                "BINHYEN_ZALO_WEBHOOK_URL như ở đó, hoặc nếu chắc chắn muốn chuyển sang "
                "getUpdates, chạy: binhyen run --take-over-zalo-webhook").format(host=in_use.host),
              file=sys.stderr)
        return 1
    except ZaloError as error:  # the message never holds the token (delivery/zalo_api.py)
        # The parts, not str(error): that is English, for the logs.
        answer = str(error.code) if error.code else _("không trả lời")
        print(_("Zalo Bot API từ chối hoặc không trả lời ({method}: {answer}, {description}). "
                "Hãy kiểm tra BINHYEN_ZALO_API_BASE, BINHYEN_ZALO_WEBHOOK_URL và mạng.").format(
                    method=error.method, answer=answer, description=error.description),
              file=sys.stderr)
        return 1
    finally:
        await background.stop()
        if bot is not None:
            await bot.session.close()
        if zalo is not None:
            await zalo.close()
        await close_channels(channels)
        await app.close()
    return 0


async def cmd_chat(args: argparse.Namespace, settings: Settings, role: str = "bot") -> int:
    """Chat with the bot on the console as user --user, typed or from --script."""
    from bot.channels.console import ConsoleChat

    # The terminal is the chat: keep the per-update and per-job log lines out of it.
    for name in ("aiogram", "apscheduler", "scheduler", "bot.background"):
        logging.getLogger(name).setLevel(logging.WARNING)
    script = None
    if getattr(args, "script", None):
        script = read_text_file(args.script)
        if script is None:
            return 2
    app: App = await build_app(settings)
    # `binhyen run` without a token also runs the scheduler and delivers console messages here.
    background = await start_background(app, role, channels_for(settings, console_only=True))
    desk = await _console_desk(app) if runs_desk(role) else None
    try:
        chat = ConsoleChat(app, args.user)
        if script is not None:
            await chat.run_script(script)
        else:
            print(_("Bình Yên — kênh thử trên máy. Gõ /start để bắt đầu, /quit để thoát.\n"))
            await chat.interact()
    finally:
        if desk is not None:
            await desk.cleanup()
        await background.stop()
        await app.close()
    return 0


async def _console_desk(app: App):
    """The desk beside the console chat (`make run`), on BINHYEN_WEB_LISTEN; its runner."""
    from aiohttp import web

    from bot.web_desk import mount_desk
    from bot.webhook import AccessLog, web_application

    server = web_application(app)
    mount_desk(server, app)
    runner = web.AppRunner(server, access_log_class=AccessLog)
    await runner.setup()
    try:
        await web.TCPSite(runner, *app.settings.web_host_port).start()
    except OSError as error:  # the port is taken: the chat still works
        print(_("Không mở được bàn làm việc trên {listen}: {error}").format(
            listen=app.settings.web_listen, error=error.strerror or error), file=sys.stderr)
        await runner.cleanup()
        return None
    print(_("Bàn làm việc: {url} (gõ /dashboard để nhận đường dẫn đăng nhập)").format(
        url=app.settings.web_base_url))
    return runner


def read_text_file(name: str) -> str | None:
    """A UTF-8 file's text; None, once the reason is printed, when it cannot be read."""
    try:
        return Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        print(cannot_read(name, error), file=sys.stderr)
        return None


def cannot_read(name: str, error: Exception) -> str:
    """The one line that says a file given on the command line cannot be read, and why."""
    if isinstance(error, UnicodeDecodeError):
        reason = _("không phải văn bản UTF-8")
    else:
        reason = getattr(error, "strerror", None) or str(error)
    return _("Không đọc được tệp {file}: {reason}.").format(file=name, reason=reason)


async def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    """Migrate the database to the newest revision."""
    # A migration may rewrite a large table: no statement timeout on PostgreSQL.
    engine = make_engine(settings.database_url, command_timeout=None)
    try:
        await check_reachable(engine)
        await migrate.upgrade(engine)
        revision = await migrate.current_revision(engine)
    finally:
        await engine.dispose()
    print(_("Cơ sở dữ liệu đã ở phiên bản mới nhất ({revision}).").format(revision=revision))
    return 0


async def cmd_db_current(args: argparse.Namespace, settings: Settings) -> int:
    """Print the database's revision and the code's."""
    engine = make_engine(settings.database_url)
    try:
        await check_reachable(engine)
        current = await migrate.current_revision(engine)
    finally:
        await engine.dispose()
    print(_("Cơ sở dữ liệu: {current}; mã nguồn cần: {head}.").format(
        current=current or "—", head=migrate.HEAD_REVISION
    ))
    return 0 if current == migrate.HEAD_REVISION else 1


def _import(kind: str, importer: Callable[[AsyncSession, list], Awaitable] | None = None) -> Command:
    """The `import` command of a kind of CSV file (read_csv's kinds): its own importer, or the
    area or household one."""
    importer = importer or {"areas": import_areas, "households": import_households}[kind]

    async def command(args: argparse.Namespace, settings: Settings) -> int:
        try:
            rows = read_csv(Path(args.file), kind)
        except OSError as error:
            print(cannot_read(args.file, error), file=sys.stderr)
            return 2
        except ImportFailed as failed:
            return _import_failed(args.file, failed)
        try:
            summary = await _in_transaction(settings, lambda session: importer(session, rows))
        except ImportFailed as failed:
            return _import_failed(args.file, failed)
        print(_("Đã nhập {file}: {created} mới, {updated} cập nhật.").format(
            file=args.file, created=summary.created, updated=summary.updated))
        return 0

    command.__doc__ = f"Import {kind} from a CSV file: all rows or none."
    return command


def _import_failed(file: str, failed: ImportFailed) -> int:
    """Print the bad rows of a file, in line order, and that nothing of it was imported."""
    for line, problem in failed.problems:
        print(_("Dòng {line}: {problem}").format(line=line, problem=render_problem(problem, markup=False)),
              file=sys.stderr)
    if failed.total > len(failed.problems):
        print(_("… và {count} dòng lỗi khác.").format(count=failed.total - len(failed.problems)),
              file=sys.stderr)
    print(_("Không nhập dòng nào của tệp {file}. Sửa các dòng trên rồi chạy lại.").format(
        file=file), file=sys.stderr)
    return 1


async def cmd_demo_data(args: argparse.Namespace, settings: Settings) -> int:
    """Load the demo province once."""
    async def work(session: AsyncSession) -> int:
        catalog = Catalog.load()
        today = local_today(settings)
        summary = await load_demo(
            session, args.households, today.year, args.communes, args.hamlets,
            pledge_version=newest_pledge_version(catalog), bare=args.bare, today=today, tz=settings.tz,
            keys=tip_keys(settings), catalog=catalog,
        )
        if summary is None:
            print(_("Dữ liệu mẫu đã có sẵn; không nạp lại."))
            return 0
        print(_("Đã nạp dữ liệu mẫu: {communes} xã, {hamlets} ấp, {households} hộ.").format(
            communes=summary.communes, hamlets=summary.hamlets, households=summary.households))
        activity = summary.activity
        if activity is not None:
            print(_("Giữa đợt thi đua: {members} người dùng, {pledges} hộ ký cam kết, {tips} tin báo, "
                    "{broadcasts} thông báo đã gửi, {organizations} cơ quan, doanh nghiệp, trường học, "
                    "{models} mô hình, {recognitions} lượt công nhận.").format(
                members=activity.members, pledges=activity.pledges, tips=activity.tips,
                broadcasts=activity.broadcasts, organizations=activity.organizations, models=activity.models,
                recognitions=activity.recognitions))
            if not activity.tips:
                print(_("Không có tin báo mẫu: chưa đặt khóa tin báo (binhyen tips keygen)."))
        return 0

    return await _in_transaction(settings, work)


async def cmd_members_grant(args: argparse.Namespace, settings: Settings) -> int:
    """Give a chat user a role scoped to an area."""
    async def work(session: AsyncSession) -> int:
        member = await grant_role(session, args.channel, args.user, args.role, args.area)
        area = member.area.code if member.area else _("toàn hệ thống")
        print(_("Đã cấp vai trò {role} ({area}) cho {channel}:{user}.").format(
            role=member.role, area=area, channel=member.channel, user=member.user_id))
        return 0

    return await _in_transaction(settings, work)


async def cmd_members_list(args: argparse.Namespace, settings: Settings) -> int:
    """List the members who have a role above resident."""
    async def work(session: AsyncSession) -> int:
        for member in await list_staff(session):
            area = member.area.code if member.area else "*"
            print(f"{member.channel}\t{member.user_id}\t{member.role}\t{area}")
        return 0

    return await _in_transaction(settings, work)


def poster_place(args: argparse.Namespace, settings: Settings) -> tuple[str | None, Path] | None:
    """The bot username for a poster's QR link (`--bot`, else the configured one) and the file to
    write, or None when either is wrong (the reason is printed)."""
    from db.services.qr import is_bot_username

    username = args.bot or settings.telegram_bot_username
    if username and not is_bot_username(username):
        print(_("“{name}” không phải tên bot Telegram: 5 đến 32 chữ cái không dấu, số hoặc _, "
                "bắt đầu bằng chữ cái và kết thúc bằng “bot” (ví dụ @binhyen_bot).").format(name=username),
              file=sys.stderr)
        return None
    out = Path(args.out)
    if not out.parent.is_dir():
        print(_("Không có thư mục {folder} để lưu mã QR.").format(folder=out.parent), file=sys.stderr)
        return None
    return username, out


async def cmd_qr(args: argparse.Namespace, settings: Settings) -> int:
    """Draw a hamlet's join poster (its code, and a QR code of the Telegram link when the bot's
    username is known) and print its join code, the line to type on Zalo and the link."""
    from db.services.qr import join_link, write_poster

    place = poster_place(args, settings)
    if place is None:
        return 2
    username, out = place

    async def work(session: AsyncSession) -> int:
        hamlet = await require_area(session, args.hamlet)
        if hamlet.level != "hamlet" or not hamlet.join_code:
            print(_("{code} không phải là ấp, khóm; mã QR chỉ dành cho ấp.").format(code=hamlet.code),
                  file=sys.stderr)
            return 1
        code = hamlet.join_code
        link = join_link(username, code) if username else None
        lines = [(hamlet.name, 44, True), (_("Mã tham gia: {join_code}").format(join_code=code), 64, True),
                 (_("Trên Zalo, bà con gõ: /join {join_code}").format(join_code=code), 36, False)]
        if link:
            lines.append((_("Trên Telegram, quét mã QR ở trên."), 36, False))
        try:
            write_poster(out, lines, link)
        except OSError as error:  # not writable, a folder, a full disk
            print(_("Không lưu được mã QR vào {file}: {error}").format(file=out, error=error),
                  file=sys.stderr)
            return 1
        print(_("{hamlet}: mã tham gia {join_code}").format(hamlet=hamlet.name, join_code=code))
        if link:
            print(link)
        print(_("Trên Zalo, bà con gõ: /join {join_code}").format(join_code=code))
        if link:
            print(_("Đã lưu mã QR vào {file}.").format(file=args.out))
        else:
            print(_("Chưa có tên bot Telegram (BINHYEN_TELEGRAM_BOT_USERNAME hoặc --bot): áp phích "
                    "có mã tham gia, không có mã QR. Đã lưu áp phích vào {file}.").format(file=args.out))
        return 0

    return await _in_transaction(settings, work)


async def cmd_content_check(args: argparse.Namespace, settings: Settings) -> int:
    """Validate the outreach catalog, and that every campaign in the database has its pledge
    text in every language."""
    from content.catalog import default_root
    from content.check import examine

    root = Path(args.root) if args.root else default_root()
    findings = examine(root, args.today or local_today(settings))
    problems = findings.problems
    for name, message, params in findings.warnings:
        print(_("{file}: cảnh báo: {warning}").format(file=name, warning=_(message).format(**params)),
              file=sys.stderr)
    if not problems:
        catalog = Catalog.load(root)
        missing = await _campaigns_missing_pledge_text(settings, catalog)
        if missing is None:
            print(_("Chưa kiểm tra văn bản cam kết của các chiến dịch: chưa có cơ sở dữ liệu "
                    "(binhyen db upgrade)."))
        for item in missing or []:
            campaign = item.campaign
            problems.append((
                _("chiến dịch {name} ({area}, {year})").format(
                    name=campaign.name, area=campaign.area.code, year=campaign.year),
                N_("Dùng văn bản cam kết {version} mà kho nội dung thiếu bản {languages}."),
                {"version": campaign.pledge_version, "languages": ", ".join(item.languages)}))
    for name, message, params in problems:
        print(f"{name}: {_(message).format(**params)}", file=sys.stderr)
    if problems:
        print(_("Kho nội dung có {count} lỗi.").format(count=len(problems)), file=sys.stderr)
        return 1
    print(_("Kho nội dung hợp lệ: {articles} bài, {pledges} văn bản cam kết.").format(
        articles=len({key[0] for key in catalog.articles}), pledges=len({key[0] for key in catalog.pledges})))
    return 0


async def _campaigns_missing_pledge_text(settings: Settings, catalog):
    """The campaigns whose pledge text `catalog` lacks; None when there is no migrated database
    to look in (an SQLite file is never created just to be checked)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError

    from db.services.pledge_texts import campaigns_missing_pledge_text

    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and (
            url.database in (None, "", ":memory:") or not Path(url.database).is_file()):
        return None
    engine = make_engine(settings.database_url)
    try:
        await migrate.check_migrated(engine)
        async with make_read_sessionmaker(engine)() as session:
            return await campaigns_missing_pledge_text(session, catalog)
    except (NotMigrated, OSError, DBAPIError):
        return None
    finally:
        await engine.dispose()


async def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    """Write a report of an area against the campaign targets."""
    from base.reports.build import build_report

    out = Path(args.out)
    problem = unwritable(out)
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2

    async def work(session: AsyncSession) -> int:
        area = await require_area(session, args.area)
        with use_locale(make_i18n(settings.default_locale), args.lang or settings.default_locale):
            if args.households:
                listing = await household_list(session, area, args, settings)
                if listing is None:
                    return 2
            else:
                report = await build_report(session, area, local_today(settings), settings.tz, args.campaign)
            try:
                if args.households:
                    write_household_list(listing, args.format, out)
                else:
                    write_report(report, args.format, out)
            except OSError as error:
                print(_("Không ghi được tệp {file}: {reason}").format(
                    file=args.out, reason=error.strerror or error), file=sys.stderr)
                return 2
        print(_("Đã ghi báo cáo {area} ({format}) vào {file}.").format(
            area=area.name, format=args.format, file=args.out))
        return 0

    return await _in_transaction(settings, work, read_only=True)


def unwritable(path: Path) -> str | None:
    """Why a report cannot be written to `path` (a folder, or in a folder that is not there)."""
    if path.is_dir():
        return _("{file} là một thư mục: hãy cho tên tệp báo cáo, ví dụ {example}.").format(
            file=path, example=path / "bao-cao.xlsx")
    if not path.parent.is_dir():
        return _("Không có thư mục {folder} để ghi {file}.").format(folder=path.parent, file=path.name)
    return None


async def household_list(session: AsyncSession, area, args: argparse.Namespace, settings: Settings):
    """The hamlet's households for `report --households`, as the desk's page lists them; None
    (said on stderr) when the area is not a hamlet or the format is Markdown."""
    from base.reports.households import build_household_list
    from db.services.campaigns import campaign_for_report

    if area.level != "hamlet" or args.format == "md":
        print(_("Danh sách hộ (--households) chỉ có cho một ấp, khu phố, ở dạng xlsx, csv hoặc png."),
              file=sys.stderr)
        return None
    campaign = await campaign_for_report(session, area, local_today(settings), args.campaign)
    if campaign is None:
        raise Problem(N_("Không có đợt thi đua nào cho {area}."), area=area.name)
    show = None if args.households == "all" else args.households
    return await build_household_list(session, area, campaign, show, local_today(settings))


def write_household_list(listing, fmt: str, path: Path) -> None:
    """Write a hamlet's households in one of the formats, with the desk's own writers."""
    from base.reports.households import households_csv, households_png, households_xlsx

    if fmt == "csv":
        path.write_text(households_csv(listing), encoding="utf-8")
    else:
        path.write_bytes((households_xlsx if fmt == "xlsx" else households_png)(listing))


def write_report(report, fmt: str, path: Path) -> None:
    """Render a report in one of the formats to a file."""
    if fmt == "xlsx":
        from base.reports.xlsx import write_xlsx

        write_xlsx(report, path)
    elif fmt == "png":
        from base.reports.charts import chart_png

        path.write_bytes(chart_png(report))
    else:
        from base.reports.text import to_csv, to_markdown

        path.write_text(to_csv(report) if fmt == "csv" else to_markdown(report), encoding="utf-8")


async def cmd_tallies_sync(args: argparse.Namespace, settings: Settings) -> int:
    """Store today's snapshot of every running campaign (the scheduler does it daily)."""
    from db.services.tallies import campaigns_running, sync_tallies

    async def work(session: AsyncSession) -> int:
        today = local_today(settings)
        for campaign in await campaigns_running(session, today):
            rows = await sync_tallies(session, campaign, today, settings.tz)
            print(_("Đã lưu số liệu ngày {date} của {campaign}: {rows} số.").format(
                date=today.strftime("%d/%m/%Y"), campaign=campaign.name, rows=rows))
        return 0

    return await _in_transaction(settings, work)


def local_today(settings: Settings) -> date:
    """Today in the deployment's time zone."""
    from datetime import datetime

    return datetime.now(settings.tz).date()


def at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of `minimum` or more."""
    def whole_number(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum} or more, not {value}")
        return value

    return whole_number


def parser() -> argparse.ArgumentParser:
    """The command line."""
    top = argparse.ArgumentParser(prog="binhyen", description="Bình Yên chat bot")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="start the bot (Telegram and/or Zalo; the console without a token)")
    run.add_argument("--user", type=int, default=1, help="console user id when no token is set")
    run.add_argument("--role", choices=RUN_ROLES, default="all",
                     help="all (one instance), bot, scheduler (exactly one), worker or web (the desk)")
    run.add_argument("--take-over-zalo-webhook", action="store_true",
                     help="poll Zalo even if a webhook is registered for the bot, deleting it "
                          "(whatever serves that webhook stops receiving updates)")
    run.set_defaults(handler=cmd_run)

    chat = commands.add_parser("chat", help="chat with the bot on the console")
    chat.add_argument("--user", type=int, required=True, help="the console user's id")
    chat.add_argument("--script", help="a file of lines to send, one per line")
    chat.set_defaults(handler=cmd_chat)

    database = commands.add_parser("db", help="database migrations").add_subparsers(
        dest="db_command", required=True, metavar="ACTION")
    database.add_parser("upgrade", help="migrate to the newest revision").set_defaults(
        handler=cmd_db_upgrade)
    database.add_parser("current", help="show the revision").set_defaults(handler=cmd_db_current)

    for kind in ("areas", "households"):
        group = commands.add_parser(kind, help=f"{kind} in bulk").add_subparsers(
            dest=f"{kind}_command", required=True, metavar="ACTION")
        importer = group.add_parser("import", help=f"import {kind} from a UTF-8 CSV file")
        importer.add_argument("file")
        importer.set_defaults(handler=_import(kind))

    demo = commands.add_parser("demo-data", help="load a demo province once")
    demo.add_argument("--households", type=at_least(0), default=300)
    demo.add_argument("--communes", type=at_least(1), default=4)
    demo.add_argument("--hamlets", type=at_least(1), default=5, help="hamlets per commune")
    demo.add_argument("--bare", action="store_true",
                      help="only the tree, households, campaign and staff (no campaign activity)")
    demo.set_defaults(handler=cmd_demo_data)

    members = commands.add_parser("members", help="roles of chat users").add_subparsers(
        dest="members_command", required=True, metavar="ACTION")
    grant = members.add_parser("grant", help="give a user a role in an area")
    grant.add_argument("--channel", choices=CHANNELS, required=True)
    grant.add_argument("--user", required=True, help="the user's id on that channel")
    grant.add_argument("--role", choices=ROLES, required=True)
    grant.add_argument("--area", help="area code (hamlet for hamlet_head, commune for officer)")
    grant.set_defaults(handler=cmd_members_grant)
    members.add_parser("list", help="list staff members").set_defaults(handler=cmd_members_list)

    qr = commands.add_parser("qr", help="a hamlet's join poster (PNG): its code, and a QR code of "
                                        "the Telegram link when the bot's username is known")
    qr.add_argument("hamlet", help="the hamlet's area code")
    qr.add_argument("--out", required=True, help="the PNG file to write")
    qr.add_argument("--bot", help="the bot's Telegram username (default BINHYEN_TELEGRAM_BOT_USERNAME)")
    qr.set_defaults(handler=cmd_qr)

    content = commands.add_parser("content", help="the outreach catalog").add_subparsers(
        dest="content_command", required=True, metavar="ACTION")
    check = content.add_parser("check", help="validate articles, quizzes and pledge texts")
    check.add_argument("--root", help="a catalog folder (default: the one shipped)")
    check.add_argument("--today", type=date.fromisoformat, metavar="YYYY-MM-DD",
                       help="judge review dates as on this day (default: today where the bot runs)")
    check.set_defaults(handler=cmd_content_check)

    report = commands.add_parser("report", help="a report of an area against the campaign targets")
    report.add_argument("--area", required=True, help="area code")
    report.add_argument("--campaign", type=int, help="campaign year (default: the running one)")
    report.add_argument("--format", choices=("xlsx", "csv", "md", "png"), required=True)
    report.add_argument("--out", required=True, help="the file to write")
    report.add_argument("--lang", choices=("vi", "en"), help="language of the headers (default vi)")
    report.add_argument("--households", choices=("all", "unpledged", "unreached"),
                        help="a hamlet's households instead (xlsx, csv or png), as the desk lists them")
    report.set_defaults(handler=cmd_report)

    tallies = commands.add_parser("tallies", help="tally snapshots").add_subparsers(
        dest="tallies_command", required=True, metavar="ACTION")
    tallies.add_parser("sync", help="store today's snapshot of every running campaign").set_defaults(
        handler=cmd_tallies_sync)
    add_tips_commands(commands)
    add_web_commands(commands)
    add_organizations_commands(commands)
    add_models_commands(commands)
    add_recognition_commands(commands)
    delivery_commands.add_commands(commands)
    return top


def unreachable(variable: str, reason: str) -> str:
    """The one line that says a setting's server does not answer, and why."""
    return _("{variable}: không kết nối được ({error}).").format(variable=variable, error=reason.rstrip("."))


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `binhyen` console script."""
    args = parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"Cấu hình sai / invalid configuration: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    with use_locale(make_i18n(settings.default_locale), settings.default_locale):
        try:
            return asyncio.run(args.handler(args, settings))
        except NotMigrated as error:
            print(_("Cơ sở dữ liệu đang ở phiên bản {current}, phiên bản này cần {head}. "
                    "Hãy chạy trước: binhyen db upgrade").format(
                current=error.current or _("(chưa có bảng nào)"), head=error.head), file=sys.stderr)
            return 1
        except Problem as problem:
            print(render_problem(problem, markup=False), file=sys.stderr)
            return 1
        except DatabaseUnreachable as error:
            print(unreachable("BINHYEN_DATABASE_URL", str(error)), file=sys.stderr)
            return 2
        except TokenRefused as error:
            print(_("{variable}: Telegram không nhận mã bot này ({error}). Hãy lấy lại mã "
                    "từ @BotFather.").format(variable=error.variable, error=error.reason),
                  file=sys.stderr)
            return 2
        except ServiceUnreachable as error:
            print(unreachable(error.variable, error.reason), file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            return 130


if __name__ == "__main__":
    sys.exit(main())
