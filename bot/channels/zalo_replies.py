"""The bot's own Zalo calls for a reply already rendered (text with its numbered options, or a
photo by URL), so that it can be kept with its update's ledger row and sent after the commit
(bot/exactly_once/kept_replies.py; the Zalo webhook answers before the replies go out)."""

from aiogram.methods import TelegramMethod

from bot.exactly_once.kept_replies import keepable


@keepable
class DeliverText(TelegramMethod[bool]):
    """A text to a Zalo chat, as the chat will read it (parts of 2,000 characters when longer)."""

    __returning__ = bool
    __api_method__ = "binhyenZaloText"

    chat_id: str
    text: str


@keepable
class DeliverPhoto(TelegramMethod[bool]):
    """A photo to a Zalo chat by its URL, with its caption."""

    __returning__ = bool
    __api_method__ = "binhyenZaloPhoto"

    chat_id: str
    photo: str
    caption: str = ""
