"""/language: choose Vietnamese or English."""

from typing import Literal

from aiogram import Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.storage.base import BaseStorage
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from base.after_commit import AfterCommit
from base.commands import COMMANDS
from base.preferences import prefs_key, remember_locale
from db.models import Member
from db.services.members import set_locale
from handlers.common.keyboards import keyboard

# Each language is named in itself, so anyone can find their own.
LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English"}


class LanguageChoice(CallbackData, prefix="lang"):
    """The language chosen."""

    locale: Literal[tuple(LANGUAGE_NAMES)]


async def ask_language(message: Message) -> None:
    """Offer the languages as buttons."""
    markup = keyboard([(name, LanguageChoice(locale=code)) for code, name in LANGUAGE_NAMES.items()])
    await message.answer(_("Chọn ngôn ngữ / Choose your language:"), reply_markup=markup)


async def choose_language(
    callback: CallbackQuery,
    callback_data: LanguageChoice,
    session: AsyncSession,
    member: Member | None,
    i18n: I18n,
    fsm_storage: BaseStorage,
    after_commit: AfterCommit,
) -> None:
    """Remember the language and confirm in it."""
    locale = callback_data.locale
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
    router.callback_query.register(choose_language, LanguageChoice.filter())
    return router
