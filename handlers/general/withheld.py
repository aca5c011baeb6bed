"""A message whose content the channel withheld: Zalo's `message.unsupported.received`, which
its webhook page says replaces what a specially protected user (a child, a person with a
disability, a person who cannot read) sent. Typing cannot help such a user, so the answer
gives ways that need no typing."""

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _


async def content_withheld(message: Message, content_withheld: bool = False) -> bool:
    """A filter: the channel passed this message on without its content."""
    return content_withheld


async def answer_withheld(message: Message) -> None:
    """Say the message could not be read, and how to get help without typing."""
    await message.answer(_(
        "Bình Yên không đọc được tin nhắn này: Zalo không chuyển nội dung của nó.\n\n"
        "Nếu bạn cần giúp hoặc muốn báo điều gì:\n"
        "• Gọi điện cho Công an xã, phường nơi bạn ở, hoặc đến trụ sở gặp trực tiếp.\n"
        "• Nhờ người thân, thầy cô hoặc trưởng ấp, khóm báo giúp.\n"
        "🚨 Khi khẩn cấp, hãy gọi ngay 113."))


def router() -> Router:
    """The router for withheld messages; it must come before every other message handler."""
    router = Router(name="withheld")
    router.message.register(answer_withheld, content_withheld, F.chat.type == ChatType.PRIVATE)
    return router
