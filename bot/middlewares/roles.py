"""The one role check every staff command and button goes through."""

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.flags import get_flag
from aiogram.types import CallbackQuery, Message, TelegramObject
from aiogram.utils.i18n import gettext as _

from base.commands import ROLES_FLAG


class RoleMiddleware(BaseMiddleware):
    """Refuses, politely and without running it, a handler the member's role may not use.

    Handlers declare their roles with `flags=requires(...)` (see base/commands.py).
    """

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        roles = get_flag(data, ROLES_FLAG)
        member = data.get("member")
        if not roles or (member is not None and member.role in roles):
            return await handler(event, data)
        text = _("Chức năng này dành cho cán bộ được giao nhiệm vụ. Tài khoản của bạn chưa có quyền này.")
        if isinstance(event, CallbackQuery):
            await event.answer(text, show_alert=True)
        elif isinstance(event, Message):
            await event.answer(text)
        return None
