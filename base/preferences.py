"""Preferences of people who are not members yet, kept in the FSM storage.

They live beside the conversation state under their own destiny, so clearing a
conversation never forgets the language someone chose, and nothing is written to
the database before the person agrees to it.
"""

from aiogram.fsm.storage.base import BaseStorage, StorageKey

PREFS_DESTINY = "prefs"


def prefs_key(bot_id: int, chat_id: int, user_id: int) -> StorageKey:
    """Where a non-member's preferences are stored."""
    return StorageKey(bot_id=bot_id, chat_id=chat_id, user_id=user_id, destiny=PREFS_DESTINY)


async def remember_locale(storage: BaseStorage, key: StorageKey, locale: str) -> None:
    """Keep a non-member's language choice."""
    await storage.update_data(key, {"locale": locale})


async def remembered_locale(storage: BaseStorage, key: StorageKey) -> str | None:
    """A non-member's language choice, if they made one."""
    return (await storage.get_data(key)).get("locale")
