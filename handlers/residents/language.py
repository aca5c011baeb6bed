"""/language: choose Vietnamese or English."""

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.storage.base import BaseStorage
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from base.after_commit import AfterCommit
from base.commands import COMMANDS
from base.preferences import prefs_key, remember_locale
from db.models import Member
from db.services.members import set_locale

# Each language is named in itself, so anyone can find their own.
LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English"}


async def ask_language(message: Message) -> None:
    """Offer the languages as buttons."""
    keyboard = InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text=name, callback_data=f"lang:{code}")
        for code, name in LANGUAGE_NAMES.items()
    ]])
    await message.answer(_("Chọn ngôn ngữ / Choose your language:"), reply_markup=keyboard)


async def choose_language(
    callback: CallbackQuery,
    session: AsyncSession,
    member: Member | None,
    i18n: I18n,
    fsm_storage: BaseStorage,
    after_commit: AfterCommit,
) -> None:
    """Remember the language and confirm in it."""
    locale = callback.data.removeprefix("lang:")
    if locale not in LANGUAGE_NAMES:
        await callback.answer()
        return
    if member is not None:
        await set_locale(session, member, locale)
    else:
        chat_id = callback.message.chat.id if callback.message else callback.from_user.id
        key = prefs_key(callback.bot.id, chat_id, callback.from_user.id)
        await remember_locale(fsm_storage, key, locale)
    await callback.answer()
    with i18n.use_locale(locale):
        after_commit.call(callback.message.edit_text, _("Đã chuyển sang tiếng Việt."))


def router() -> Router:
    """The /language router."""
    router = Router(name="language")
    router.message.register(ask_language, Command("language"), flags=COMMANDS["language"].flags)
    router.callback_query.register(choose_language, F.data.startswith("lang:"))
    return router
