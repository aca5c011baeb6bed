"""`binhyen orgs …`: agencies, enterprises and schools imported from CSV, listed, and their join
posters."""

import argparse
import sys

from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from base.settings import Settings
from db.services.areas import require_area
from db.services.campaigns import campaign_for_report
from db.services.movement_import import import_organizations
from db.services.organizations import KIND_LABELS, organizations_in, registrations_of, require_organization

LISTED = 100_000


async def _transaction(settings: Settings, work, read_only: bool = False) -> int:
    from bot.cli.main import _in_transaction  # bot.cli.main imports this module first

    return await _in_transaction(settings, work, read_only)


async def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print the organizations of an area with their join codes and this year's registration."""
    from bot.cli.main import local_today

    async def work(session: AsyncSession) -> int:
        area = await require_area(session, args.area)
        organizations, _total = await organizations_in(session, area, 0, LISTED)
        campaign = await campaign_for_report(session, area, local_today(settings), args.year)
        registered = await registrations_of(session, campaign, organizations) if campaign else {}
        for organization in organizations:
            registration = registered.get(organization.id)
            state = (_("đã đăng ký") if registration and registration.status == "confirmed"
                     else _("đã rút") if registration else _("chưa đăng ký"))
            print(f"{organization.code}\t{_(KIND_LABELS[organization.kind])}\t{organization.name}\t"
                  f"{organization.commune.code}\t{organization.join_code}\t{state}")
        if not organizations:
            print(_("Chưa có cơ quan, doanh nghiệp, trường học nào ở {area}.").format(area=area.name))
        return 0

    return await _transaction(settings, work, read_only=True)


async def cmd_qr(args: argparse.Namespace, settings: Settings) -> int:
    """Draw an organization's join poster: its code, and a QR code of the Telegram link when the
    bot's username is known."""
    from bot.cli.main import poster_place
    from db.services.qr import join_link, write_poster

    place = poster_place(args, settings)
    if place is None:
        return 2
    username, out = place

    async def work(session: AsyncSession) -> int:
        organization = await require_organization(session, args.code)
        code = organization.join_code
        link = join_link(username, code) if username else None
        lines = [(organization.name, 40, True), (_("Mã tham gia: {join_code}").format(join_code=code), 64, True),
                 (_("Người đại diện đơn vị gõ trên Zalo: /join {join_code}").format(join_code=code), 32, False)]
        if link:
            lines.append((_("Trên Telegram, quét mã QR ở trên."), 36, False))
        try:
            write_poster(out, lines, link)
        except OSError as error:
            print(_("Không lưu được mã QR vào {file}: {error}").format(file=out, error=error), file=sys.stderr)
            return 1
        print(_("{name}: mã tham gia {join_code}").format(name=organization.name, join_code=code))
        if link:
            print(link)
        print(_("Người đại diện đơn vị gõ trên Zalo: /join {join_code}").format(join_code=code))
        print(_("Đã lưu áp phích vào {file}.").format(file=args.out))
        return 0

    return await _transaction(settings, work)


def add_organizations_commands(commands: argparse._SubParsersAction) -> None:
    """Register `orgs` on the top-level parser."""
    from bot.cli.main import _import

    group = commands.add_parser("orgs", help="agencies, enterprises and schools").add_subparsers(
        dest="orgs_command", required=True, metavar="ACTION")
    importer = group.add_parser("import", help="import them from a UTF-8 CSV file (all rows or none)")
    importer.add_argument("file")
    importer.set_defaults(handler=_import("organizations", import_organizations))
    listing = group.add_parser("list", help="those of an area, with join codes and registration")
    listing.add_argument("--area", required=True, help="area code")
    listing.add_argument("--year", type=int, help="campaign year (default: the running one)")
    listing.set_defaults(handler=cmd_list)
    qr = group.add_parser("qr", help="an organization's join poster (PNG)")
    qr.add_argument("code", help="the organization's code")
    qr.add_argument("--out", required=True, help="the PNG file to write")
    qr.add_argument("--bot", help="the bot's Telegram username (default BINHYEN_TELEGRAM_BOT_USERNAME)")
    qr.set_defaults(handler=cmd_qr)
