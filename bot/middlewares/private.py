"""Personal commands stay in private chats: in a group they only say "write to me privately"."""

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.flags import get_flag
from aiogram.enums import ChatType
from aiogram.types import CallbackQuery, Message, TelegramObject
from aiogram.utils.i18n import gettext as _

from base.commands import PRIVATE_FLAG
from db.services.qr import chat_link


class PrivateChatMiddleware(BaseMiddleware):
    """Refuses, without running it, a handler flagged private (base/commands.py) anywhere but
    a private chat: in a group, `/join` would list a hamlet's households by name for everyone
    and `/pledge` post a household's menu there. The answer points to the private chat, by a
    t.me link where the channel has one (Telegram with BINHYEN_TELEGRAM_BOT_USERNAME)."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not get_flag(data, PRIVATE_FLAG):
            return await handler(event, data)
        message = event.message if isinstance(event, CallbackQuery) else event
        chat = getattr(message, "chat", None)
        if chat is None or chat.type == ChatType.PRIVATE:
            return await handler(event, data)
        text = _("Việc này liên quan đến thông tin riêng của bạn nên Bình Yên chỉ làm trong tin "
                 "nhắn riêng. Bạn hãy nhắn riêng cho Bình Yên.")
        settings = data.get("settings")
        username = getattr(settings, "telegram_bot_username", None)
        if data.get("channel", "telegram") == "telegram" and username:
            text += "\n" + chat_link(username)
        if isinstance(event, CallbackQuery):
            await event.answer(text, show_alert=True)
        elif isinstance(event, Message):
            await event.answer(text)
        return None
