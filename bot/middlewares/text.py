"""Typed text prepared before any handler reads it: what no channel or database can carry is
made harmless, and a command word is matched whatever its case."""

import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Update

REPLACEMENT = "\ufffd"
# The update fields that carry what a user typed (and that handlers read).
_MESSAGES = ("message", "edited_message", "channel_post", "edited_channel_post")


def carriable(text: str) -> str:
    """`text` with lone surrogates and NUL characters replaced by U+FFFD.

    Neither can be encoded to UTF-8 for PostgreSQL (which refuses NUL in text), SQLite, Redis
    or the channels; Telegram never sends them, but the console and Zalo can."""
    if "\x00" not in text:
        try:
            text.encode("utf-8")
            return text
        except UnicodeEncodeError:
            pass
    # A surrogate pair becomes its character again; a lone surrogate becomes U+FFFD.
    text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text.replace("\x00", REPLACEMENT)


# A command word as Telegram writes one: /name or /name@bot, then a space or the end. ASCII
# only, so that lower-casing it keeps its length (and the message's entity offsets).
_COMMAND = re.compile(r"/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?(?=\s|$)")


def command_lowered(text: str) -> str:
    """`text` with its leading /Command word (and @BotName) in lower case, the rest as typed.

    Phone keyboards capitalise the first letter (/Start) and Zalo users type commands by hand,
    while aiogram matches command names exactly: "/Join ABC123" must work as "/join ABC123"."""
    match = _COMMAND.match(text)
    if match is None or match.group().islower():
        return text
    return match.group().lower() + text[match.end():]


def _typed(text: str) -> str:
    return command_lowered(carriable(text))


def _cleaned(model: Any, clean: Callable[[str], str], *fields: str) -> Any:
    changes = {name: clean(getattr(model, name)) for name in fields if getattr(model, name, None)}
    changes = {name: value for name, value in changes.items() if value != getattr(model, name)}
    return model.model_copy(update=changes) if changes else model


def carriable_update(update: Update) -> Update:
    """The update itself, or a copy whose texts, captions and button data are carriable and
    whose command word is in lower case."""
    changes = {}
    for name in _MESSAGES:
        message = getattr(update, name)
        if message is not None:
            cleaned = _cleaned(message, _typed, "text", "caption")
            if cleaned is not message:
                changes[name] = cleaned
    if update.callback_query is not None:
        cleaned = _cleaned(update.callback_query, carriable, "data")
        if cleaned is not update.callback_query:
            changes["callback_query"] = cleaned
    return update.model_copy(update=changes) if changes else update


class CarriableTextMiddleware(BaseMiddleware):
    """Hands the handlers an update whose typed text can be stored and sent, and whose
    command word matches whatever case it was typed in."""

    async def __call__(
        self,
        handler: Callable[[Update, dict[str, Any]], Awaitable[Any]],
        update: Update,
        data: dict[str, Any],
    ) -> Any:
        return await handler(carriable_update(update), data)
