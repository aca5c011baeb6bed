"""One database transaction per update, and each update handled exactly once."""

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Update
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.services.updates import record_update
from db.session import write_lock

log = logging.getLogger(__name__)

# While an instance handles an update its key says "busy"; once committed it says "done".
BUSY_SECONDS = 120
DONE_SECONDS = 48 * 3600


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

    def call(self, function: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> None:
        """Call `function(*args, **kwargs)` after the commit."""
        self._calls.append((contextvars.copy_context(), function, args, kwargs))

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


class UpdateInFlight(Exception):
    """Another instance is handling this update right now; the webhook answers with an error status so Telegram retries later."""


def update_source(data: dict[str, Any]) -> str:
    """Which bot's update-id sequence an update belongs to, e.g. "telegram:123456"."""
    return f"{data.get('channel', 'telegram')}:{data['bot'].id}"


class UpdateTransactionMiddleware(BaseMiddleware):
    """Opens the update's session, records the update in the ledger, commits at the end.

    The ledger row is written in the same transaction as the update's effects, so a crash
    before the commit leaves neither, and a redelivered update that was committed is skipped.
    With Redis, a short "busy" key keeps two instances from working on one update at once
    and a "done" key answers redeliveries without touching the database.
    """

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], redis: Redis | None) -> None:
        self.sessionmaker = sessionmaker
        self.redis = redis

    async def __call__(
        self,
        handler: Callable[[Update, dict[str, Any]], Awaitable[Any]],
        update: Update,
        data: dict[str, Any],
    ) -> Any:
        source = update_source(data)
        update_id = str(data.get("ledger_id") or update.update_id)
        key = f"binhyen:update:{source}:{update_id}"
        if self.redis is not None and not await self._claim(key):
            return None
        try:
            result = await self._handle_once(handler, update, data, source, update_id)
        except BaseException:
            if self.redis is not None:
                await self.redis.delete(key)
            raise
        if self.redis is not None:
            await self.redis.set(key, "done", ex=DONE_SECONDS)
        return result

    async def _claim(self, key: str) -> bool:
        """True when this instance may handle the update; False for one already done."""
        if await self.redis.set(key, "busy", nx=True, ex=BUSY_SECONDS):
            return True
        if await self.redis.get(key) == b"done":
            log.info("update %s already handled", key)
            return False
        raise UpdateInFlight(key)

    async def _handle_once(self, handler, update, data, source: str, update_id: str) -> Any:
        after_commit = AfterCommit()
        async with write_lock(self.sessionmaker.kw["bind"]), self.sessionmaker() as session:
            async with session.begin():
                if not await record_update(session, source, update_id):
                    log.info("update %s:%s already handled", source, update_id)
                    return None
                data["session"] = session
                data["after_commit"] = after_commit
                try:
                    result = await handler(update, data)
                finally:
                    del data["session"], data["after_commit"]
        await after_commit.run()
        return result
