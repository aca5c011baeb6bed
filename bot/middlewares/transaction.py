"""One database transaction per update, and each update handled exactly once."""

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Update
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.services.updates import record_update

log = logging.getLogger(__name__)

# While an instance handles an update its key says "busy"; once committed it says "done".
BUSY_SECONDS = 120
DONE_SECONDS = 48 * 3600


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
        async with self.sessionmaker() as session:
            async with session.begin():
                if not await record_update(session, source, update_id):
                    log.info("update %s:%s already handled", source, update_id)
                    return None
                data["session"] = session
                try:
                    return await handler(update, data)
                finally:
                    del data["session"]
