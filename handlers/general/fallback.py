"""Friendly answers to what no other handler took: unknown text, commands and old buttons."""

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _


async def unknown_message(message: Message) -> None:
    """Say we did not understand and point to /help."""
    if message.text and message.text.startswith("/"):
        await message.answer(_("Bình Yên chưa có lệnh này. Gõ /help để xem những việc bạn làm được."))
    else:
        await message.answer(
            _("Xin lỗi, Bình Yên chưa hiểu ý bạn. Gõ /help để xem những việc bạn làm được.")
        )


async def stale_button(callback: CallbackQuery) -> None:
    """A button from an old message or a finished conversation."""
    await callback.answer(_("Nút này không còn dùng được. Bạn hãy bắt đầu lại bằng lệnh."), show_alert=True)


def router() -> Router:
    """The fallback router; it must be included last. It speaks only in private chats,
    so the officers' groups are not answered on every message."""
    router = Router(name="fallback")
    router.message.register(unknown_message, F.chat.type == ChatType.PRIVATE)
    router.callback_query.register(stale_button)
    return router
