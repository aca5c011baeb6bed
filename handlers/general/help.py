"""/help: the commands the caller's role may use."""

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from base.commands import COMMANDS, commands_for
from base.labels import role_label
from db.models import Member


async def show_help(message: Message, member: Member | None) -> None:
    """List what this member can do, with their role."""
    lines = [_("<b>Những việc bạn làm được:</b>")]
    lines += [f"/{info.name} — {info.description}" for info in commands_for(member)]
    lines += ["", _("Vai trò của bạn: {role}").format(role=role_label(member))]
    lines += [_("🚨 Khi khẩn cấp, hãy gọi ngay <b>113</b>.")]
    await message.answer("\n".join(lines))


def router() -> Router:
    """The /help router."""
    router = Router(name="help")
    router.message.register(show_help, Command("help"), flags=COMMANDS["help"].flags)
    return router
