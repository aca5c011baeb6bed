"""`binhyen web link`: a one-time login link to the desk for a staff member."""

import argparse
import sys

from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from base.clock import SystemClock
from base.settings import Settings
from bot.web_desk import login_link
from db.models import CHANNELS
from db.services.members import STAFF_ROLES, get_member


async def cmd_link(args: argparse.Namespace, settings: Settings) -> int:
    """Print a login link (10 minutes, once) for the staff member --user on --channel."""
    from bot.cli.main import _in_transaction  # bot.cli.main imports this module first

    async def work(session: AsyncSession) -> int:
        member = await get_member(session, args.channel, args.user)
        if member is None or member.role not in STAFF_ROLES:
            print(_("{channel}:{user} không phải cán bộ (trưởng ấp, công an, quản trị): hãy cấp vai trò "
                    "trước bằng binhyen members grant.").format(channel=args.channel, user=args.user),
                  file=sys.stderr)
            return 1
        print(await login_link(session, member, settings.web_base_url, SystemClock().now()))
        return 0

    return await _in_transaction(settings, work)


def add_web_commands(commands: argparse._SubParsersAction) -> None:
    """The `web` command group."""
    web = commands.add_parser("web", help="the desk (web dashboard)").add_subparsers(
        dest="web_command", required=True, metavar="ACTION")
    link = web.add_parser("link", help="print a one-time login link for a staff member (10 minutes)")
    link.add_argument("--user", required=True, help="the member's id on the channel")
    link.add_argument("--channel", choices=CHANNELS, default="telegram")
    link.set_defaults(handler=cmd_link)
