"""What a handler wants done once its update's transaction is committed: sends after the
commit, and kept replies that survive a crash (bot/exactly_once/ keeps and re-sends them)."""

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from aiogram.methods import TelegramMethod

log = logging.getLogger(__name__)

# A kept reply that fails (a network error, a 5xx) is tried again after these pauses before it
# is left with the ledger row for a redelivery or the sweep; so is one asked to wait longer.
KEPT_RETRY_DELAYS = (0.5, 2.0)
MAX_RETRY_AFTER = 5


class AfterCommit:
    """What a handler wants done once its update's transaction is committed.

    A confirmation ("✅ your household's pledge is recorded", a tip's receipt code) must
    never reach a user for something that was not stored: handlers hand such sends here
    (`after_commit.call(message.answer, text)`), and they go out after the commit, in the
    language of the update. If the commit fails they are dropped and the user is asked to
    try again instead.
    """

    def __init__(self) -> None:
        self._calls: list[tuple[contextvars.Context, Callable[..., Awaitable[Any]], tuple, dict]] = []
        self.kept: list[TelegramMethod[Any]] = []
        # Kept replies that could not be sent yet: they stay with the ledger row.
        self.unsent: list[TelegramMethod[Any]] = []

    def call(self, function: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> None:
        """Call `function(*args, **kwargs)` after the commit."""
        self._calls.append((contextvars.copy_context(), function, args, kwargs))

    def keep(self, shortcut: Callable[..., TelegramMethod[Any]], *args: Any, **kwargs: Any) -> None:
        """Like `call`, for a reply that must reach the user even if this process dies right
        after the commit (a tip's receipt: nothing can give its code again). `shortcut` is an
        aiogram shortcut such as `message.answer`; the Bot API call it makes is kept with the
        update's ledger row until it is sent, and a redelivery of the update (or the sweep,
        where nothing redelivers) sends it again (see bot/exactly_once/kept_replies.py)."""
        method = shortcut(*args, **kwargs)
        self.kept.append(method)
        self.call(self._send_kept, method)

    async def _send_kept(self, method: TelegramMethod[Any]) -> None:
        if not await deliver_kept(method.bot, method):
            self.unsent.append(method)

    async def run(self) -> None:
        """Make the calls in order; one that fails is logged and does not stop the others
        (what they confirm is stored already)."""
        async def call(function: Callable[..., Awaitable[Any]], args: tuple, kwargs: dict) -> None:
            # aiogram's shortcuts (message.answer, ...) return awaitable methods, not coroutines.
            await function(*args, **kwargs)

        for context, function, args, kwargs in self._calls:
            try:
                await asyncio.create_task(call(function, args, kwargs), context=context)
            except Exception as error:
                log.warning("a send after the commit failed: %s", type(error).__name__)


async def deliver_kept(bot: Bot, method: TelegramMethod[Any]) -> bool:
    """Send a kept reply, trying a failed send again a few times; False when it must wait
    for later (still failing), True when it is done with (sent, or refused for good)."""
    pauses = list(KEPT_RETRY_DELAYS)
    while True:
        try:
            await bot(method)
            return True
        except (TelegramForbiddenError, TelegramBadRequest) as error:
            # Blocked by the user, or a chat that is gone: no later attempt can succeed.
            log.error("a kept reply was refused for good: %s", type(error).__name__)
            return True
        except TelegramRetryAfter as error:
            log.warning("a kept reply must wait %s s", error.retry_after)
            asked = error.retry_after
        except Exception as error:
            log.warning("a kept reply could not be sent: %s", type(error).__name__)
            asked = None
        if not pauses or (asked or 0) > MAX_RETRY_AFTER:
            return False
        pause = pauses.pop(0)
        await asyncio.sleep(pause if asked is None else asked)
