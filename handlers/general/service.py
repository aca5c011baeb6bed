"""Service messages: a message pinned, the auto-delete timer set, a chat background chosen,
users or a chat shared, web app data, members coming and going… Nobody asked the bot anything,
so nothing answers them (not even "did not understand")."""

from aiogram import F, Router
from aiogram.enums import ContentType
from aiogram.types import Message

# What a person sends; every other content type is the app telling of something. A message of
# a kind aiogram does not know yet ("unknown", also a Zalo sticker) is answered as before.
SENT_BY_PEOPLE = frozenset({
    ContentType.TEXT, ContentType.ANIMATION, ContentType.AUDIO, ContentType.DOCUMENT,
    ContentType.LIVE_PHOTO, ContentType.PAID_MEDIA, ContentType.PHOTO, ContentType.STICKER,
    ContentType.STORY, ContentType.VIDEO, ContentType.VIDEO_NOTE, ContentType.VOICE,
    ContentType.CHECKLIST, ContentType.CONTACT, ContentType.DICE, ContentType.GAME,
    ContentType.POLL, ContentType.VENUE, ContentType.LOCATION, ContentType.INVOICE,
    ContentType.GIVEAWAY, ContentType.RICH_MESSAGE, ContentType.UNKNOWN,
})


async def ignore(message: Message) -> None:
    """Take the service message, and say nothing."""


def router() -> Router:
    """The service-message router; it must come before every other message handler."""
    router = Router(name="service-messages")
    router.message.register(ignore, ~F.content_type.in_(SENT_BY_PEOPLE))
    return router
