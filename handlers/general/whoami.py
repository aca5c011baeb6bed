"""/id: the caller's id (and the group's) on this channel, for `members grant` and `tips route`.

Zalo ids are long strings nobody can see in the app; an officer types /id in a private chat or
in the officers' group and gives the answer to whoever runs the commands.
"""

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.markdown import html_decoration as hd

from base.commands import COMMANDS


async def show_id(message: Message, channel: str, channel_user_id: str, channel_chat_id: str | None = None) -> None:
    """Say the caller's id, and the chat's when it is a group."""
    lines = [_("Mã của bạn trên kênh {channel}: <code>{user}</code>").format(
        channel=channel, user=hd.quote(channel_user_id))]
    if message.chat.type != "private":
        chat = channel_chat_id or str(message.chat.id)
        lines.append(_("Mã của nhóm này: <code>{chat}</code>").format(chat=hd.quote(chat)))
    await message.answer("\n".join(lines))


def router() -> Router:
    """The /id router."""
    router = Router(name="whoami")
    router.message.register(show_id, Command("id"), flags=COMMANDS["id"].flags)
    return router
