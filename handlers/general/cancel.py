"""/cancel: leave whatever conversation is under way."""

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from base.commands import COMMANDS


async def cancel(message: Message, state: FSMContext) -> None:
    """Forget the conversation's draft; nothing half-done is stored."""
    had = await state.get_state() is not None
    await state.clear()
    await message.answer(_("Đã dừng. Gõ /help để xem những việc bạn làm được.") if had
                         else _("Không có việc gì đang làm dở."))


def router() -> Router:
    """The /cancel router."""
    router = Router(name="cancel")
    router.message.register(cancel, Command("cancel"), flags=COMMANDS["cancel"].flags)
    return router
