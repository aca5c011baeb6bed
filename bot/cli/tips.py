"""`binhyen tips …`: the officers' key pair, the groups that receive tips, and reading stored tips.

Only `list` and `export` read the private key file: run them on the officers' machine.
"""

import argparse
from pathlib import Path

from aiogram.utils.i18n import gettext as _
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from base.plain_text import plain_text
from base.settings import Settings
from base.tip_labels import kind_label, local_time, status_label, tip_details
from db.models import CHANNELS, Member
from db.services.areas import require_area
from db.services.tip_sealing import (
    check_key_pair,
    key_text,
    new_key_pair,
    new_lookup_secret,
    public_key_from_text,
    read_private_key,
    write_private_key,
)
from db.services.tips import OpenedTip, list_routes, open_stored_tips, place_trail, set_route, tips_in_area
from db.text import N_, Problem

PRIVATE_KEY_FILE = "tip_private.key"
ENV_FILE = "tip.env"


async def _transaction(settings: Settings, work) -> int:
    from bot.cli.main import _in_transaction  # bot.cli.main imports this module first

    return await _in_transaction(settings, work)


async def cmd_keygen(args: argparse.Namespace, settings: Settings) -> int:
    """Make the officers' key pair and the lookup secret; print what the bot's settings need."""
    folder = Path(args.out).resolve()
    private_path, env_path = folder / PRIVATE_KEY_FILE, folder / ENV_FILE
    if private_path.exists() or env_path.exists():
        raise Problem(N_("{folder} đã có khóa; không ghi đè. Hãy chọn thư mục khác."), folder=str(folder))
    key = new_key_pair()
    write_private_key(private_path, key)
    lines = [
        f"BINHYEN_TIP_PUBLIC_KEY={key_text(key.public_key)}",
        f"BINHYEN_TIP_SECRET={new_lookup_secret()}",
        f"BINHYEN_TIP_PRIVATE_KEY_FILE={private_path}",
    ]
    env_path.touch(mode=0o600)
    env_path.write_text("\n".join(lines) + "\n", encoding="ascii")
    print(_("Đã tạo khóa riêng {path} (chỉ chủ tệp đọc được). Giữ tệp này ở máy của cán bộ đọc tin báo; "
            "mất tệp thì không đọc lại được các tin báo đã lưu.").format(path=private_path))
    print(_("Đặt cho bot các biến sau (đã ghi vào {path}):").format(path=env_path))
    print("\n".join(lines[:2]))
    return 0


async def cmd_route(args: argparse.Namespace, settings: Settings) -> int:
    """Send the area's new tips to a group chat."""
    async def work(session: AsyncSession) -> int:
        route = await set_route(session, args.area, args.channel, args.chat)
        print(_("Tin báo mới của {area} (và các địa bàn bên dưới chưa có nhóm riêng) sẽ được chép vào "
                "nhóm {channel}:{chat}.").format(area=route.area.code, channel=route.channel, chat=route.chat_id))
        return 0

    return await _transaction(settings, work)


async def cmd_routes(args: argparse.Namespace, settings: Settings) -> int:
    """List the officers' groups."""
    async def work(session: AsyncSession) -> int:
        for route in await list_routes(session):
            print(f"{route.area.code}\t{route.channel}\t{route.chat_id}")
        return 0

    return await _transaction(settings, work)


def _private_key(args: argparse.Namespace, settings: Settings):
    path = Path(args.key) if args.key else settings.tip_private_key_file
    if path is None:
        raise Problem(N_("Cần tệp khóa riêng: đặt BINHYEN_TIP_PRIVATE_KEY_FILE hoặc dùng --key TỆP."))
    key = read_private_key(path)
    if settings.tip_public_key:
        check_key_pair(key, public_key_from_text(settings.tip_public_key))
    return key


async def _opened(args: argparse.Namespace, settings: Settings) -> tuple[list[OpenedTip], dict, dict]:
    """The area's tips opened with the private key, their places, and the officers named in them."""
    key = _private_key(args, settings)
    result: dict = {}

    async def work(session: AsyncSession) -> int:
        area = await require_area(session, args.area)
        opened = await open_stored_tips(session, key, await tips_in_area(session, area))
        trails = {item.tip.id: await place_trail(session, item.tip.area) for item in opened}
        ids = {entry.officer_id for item in opened for entry in item.history if entry.officer_id}
        members = await session.scalars(select(Member).where(Member.id.in_(ids))) if ids else []
        result.update(opened=opened, trails=trails,
                      officers={member.id: f"{member.channel}:{member.user_id}" for member in members})
        return 0

    await _transaction(settings, work)
    return result["opened"], result["trails"], result["officers"]


def _history_lines(item: OpenedTip, officers: dict, settings: Settings) -> list[str]:
    lines = []
    for entry in item.history:
        when = local_time(entry.at, settings.tz)
        officer = officers.get(entry.officer_id, "—")
        if entry.kind == "status":
            lines.append(_("{when} · cán bộ {officer} chuyển sang “{status}”").format(
                when=when, officer=officer, status=status_label(entry.status)))
        elif entry.kind == "reply":
            lines.append(_("{when} · cán bộ {officer} trả lời: {text}").format(
                when=when, officer=officer, text=entry.text))
        else:
            lines.append(_("{when} · người báo bổ sung: {text}").format(when=when, text=entry.text))
    return lines


def _details(item: OpenedTip, trail: list) -> list[str]:
    return [plain_text(line, "HTML") for line in tip_details(item.draft, trail)]


async def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print the area's tips, opened, with their history."""
    opened, trails, officers = await _opened(args, settings)
    if not opened:
        print(_("Không có tin báo nào trong địa bàn {area}.").format(area=args.area.upper()))
    for item in opened:
        tip = item.tip
        print(f"{tip.reference_in(settings.tz)} · {local_time(tip.created_at, settings.tz)} · "
              f"{kind_label(tip.kind)} · {status_label(tip.status)} · {tip.area.code}")
        for line in _details(item, trails[tip.id]):
            print(f"  {line}")
        print("  " + _("Ảnh: {count}").format(count=len(item.photos)))
        print("  " + _("Nội dung: {text}").format(text=item.draft.text).replace("\n", "\n    "))
        for line in _history_lines(item, officers, settings):
            print("  " + line.replace("\n", "\n    "))
        print()
    return 0


def _as_text(sheet) -> None:
    # What a tipster typed is text, never a formula, even when it starts with "=".
    for row in sheet.iter_rows():
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"


async def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    """Write the area's tips, opened, to an .xlsx file (and their photos to --photos DIR)."""
    from openpyxl import Workbook  # only the export needs it
    opened, trails, officers = await _opened(args, settings)
    book = Workbook()
    sheet = book.active
    sheet.title = _("Tin báo")
    sheet.append([_("Mã tin"), _("Ngày gửi"), _("Mã địa bàn"), _("Loại"), _("Trạng thái"),
                  _("Chi tiết"), _("Nội dung"), _("Số ảnh"), _("Diễn biến")])
    for item in opened:
        tip = item.tip
        sheet.append([
            tip.reference_in(settings.tz), local_time(tip.created_at, settings.tz), tip.area.code,
            kind_label(tip.kind), status_label(tip.status),
            "\n".join(_details(item, trails[tip.id])), item.draft.text, len(item.photos),
            "\n".join(_history_lines(item, officers, settings)),
        ])
    _as_text(sheet)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    book.save(out)
    photos = 0
    if args.photos:
        folder = Path(args.photos)
        folder.mkdir(parents=True, exist_ok=True)
        for item in opened:
            for number, photo in enumerate(item.photos, start=1):
                (folder / f"{item.tip.reference_in(settings.tz)}-{number}.jpg").write_bytes(photo)
                photos += 1
    print(_("Đã ghi {count} tin báo vào {file}.").format(count=len(opened), file=out))
    if args.photos:
        print(_("Đã ghi {count} ảnh vào {folder}.").format(count=photos, folder=args.photos))
    return 0


def add_tips_commands(commands: argparse._SubParsersAction) -> None:
    """The `tips` command group."""
    tips = commands.add_parser("tips", help="anonymous tips: keys, officers' groups, reading").add_subparsers(
        dest="tips_command", required=True, metavar="ACTION")
    keygen = tips.add_parser("keygen", help="make the officers' key pair and the lookup secret")
    keygen.add_argument("--out", required=True, help="folder for tip_private.key and tip.env")
    keygen.set_defaults(handler=cmd_keygen)

    route = tips.add_parser("route", help="copy an area's new tips to an officers' group chat")
    route.add_argument("--area", required=True, help="commune (or district/province) code")
    route.add_argument("--chat", required=True, help="the group's chat id, e.g. -1001234567890")
    route.add_argument("--channel", choices=CHANNELS, default="telegram")
    route.set_defaults(handler=cmd_route)
    tips.add_parser("routes", help="list the officers' groups").set_defaults(handler=cmd_routes)

    for name, handler, help_text in (("list", cmd_list, "print an area's tips, decrypted"),
                                     ("export", cmd_export, "write an area's tips to .xlsx, decrypted")):
        reader = tips.add_parser(name, help=help_text)
        reader.add_argument("--area", required=True, help="area code: its tips and those below it")
        reader.add_argument("--key", help="private key file (default BINHYEN_TIP_PRIVATE_KEY_FILE)")
        if name == "export":
            reader.add_argument("--out", required=True, help="the .xlsx file to write")
            reader.add_argument("--photos", help="also write the photos to this folder")
        reader.set_defaults(handler=handler)
