"""The language of each update: the member's choice, else a non-member's remembered one."""

from typing import Any

from aiogram.types import TelegramObject
from aiogram.utils.i18n import I18nMiddleware

from base.preferences import prefs_key, remembered_locale
from base.settings import LOCALES


class MemberLocaleMiddleware(I18nMiddleware):
    """The member's chosen language, else a non-member's remembered choice, else the default.

    Telegram's language_code is not used: many phones in Vietnam run an English interface
    for people who read Vietnamese best.
    """

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        """Pick the locale for this update."""
        locale = data.get("member_locale")
        if locale is None and data.get("member_id") is None:
            locale = await self._remembered(data)
        return locale if locale in LOCALES else self.i18n.default_locale

    async def _remembered(self, data: dict[str, Any]) -> str | None:
        user, chat, storage = data.get("event_from_user"), data.get("event_chat"), data.get("fsm_storage")
        if user is None or storage is None:
            return None
        key = prefs_key(data["bot"].id, chat.id if chat else user.id, user.id)
        return await remembered_locale(storage, key)
