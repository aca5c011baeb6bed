"""A service's Problem becomes the user's reply here, in one place.

Services raise `Problem` for what a user can put right ("this household is already
registered", "the date is past"). A handler that has nothing to undo lets it rise; this inner
middleware runs inside the update's transaction and the user's locale, and answers with the
problem in the user's language: in the chat of a message or of a button's message, or as an
alert when a button has no message (an inline-mode message). What the handler stored before
the problem is committed as before; a handler that must undo something first still catches
the problem itself.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject

from base.labels import render_problem
from db.text import Problem

# Telegram shows at most 200 characters in a callback's alert.
ALERT_LIMIT = 200


class ProblemMiddleware(BaseMiddleware):
    """Turns a Problem raised by a handler into a polite reply."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        try:
            return await handler(event, data)
        except Problem as problem:
            await reply_with_problem(event, problem)
            return None


async def reply_with_problem(event: TelegramObject, problem: Problem) -> None:
    """Tell the user what went wrong, where they will see it."""
    text = render_problem(problem)
    if isinstance(event, Message):
        await event.answer(text)
    elif isinstance(event, CallbackQuery):
        if event.message is not None:
            await event.message.answer(text)
        else:
            await event.answer(text[:ALERT_LIMIT], show_alert=True)
