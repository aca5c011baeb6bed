"""Buttons pressed where the bot has no chat to answer in: told so, handled nowhere else."""

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

log = logging.getLogger(__name__)


class ButtonWithoutChatMiddleware(BaseMiddleware):
    """A button under an inline-mode message (it has `inline_message_id`, no `message`): every
    handler answers in the chat of the button's message, and there is none. The press is
    answered with a short notice and goes no further."""

    async def __call__(
        self,
        handler: Callable[[CallbackQuery, dict[str, Any]], Awaitable[Any]],
        event: CallbackQuery,
        data: dict[str, Any],
    ) -> Any:
        if event.message is not None:
            return await handler(event, data)
        log.info("a button pressed without a chat to answer in")
        await event.answer(_("Nút này chỉ dùng được trong khung chat riêng với Bình Yên. "
                             "Bạn mở chat với Bình Yên và gõ /help."), show_alert=True)
        return None
