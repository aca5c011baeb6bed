"""One database transaction per update, and each update handled exactly once."""

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.event_isolation import LOCK_SECONDS, renewing
from bot.fsm_storage import CommittedStorage, PendingState
from bot.kept_replies import pack, unpack
from db.services.updates import forget_replies, keep_replies, kept_replies, record_update
from db.session import write_lock

log = logging.getLogger(__name__)

# While an instance handles an update its key says "busy" (renewed while it works, so a
# crashed instance's key is gone soon); once committed it says "done".
BUSY_SECONDS = LOCK_SECONDS
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
        self.kept: list[TelegramMethod[Any]] = []

    def call(self, function: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> None:
        """Call `function(*args, **kwargs)` after the commit."""
        self._calls.append((contextvars.copy_context(), function, args, kwargs))

    def keep(self, shortcut: Callable[..., TelegramMethod[Any]], *args: Any, **kwargs: Any) -> None:
        """Like `call`, for a reply that must reach the user even if this process dies right
        after the commit (a tip's receipt: nothing can give its code again). `shortcut` is an
        aiogram shortcut such as `message.answer`; the Bot API call it makes is kept with the
        update's ledger row until it is sent, and a redelivery of the update sends it again
        (see bot/kept_replies.py)."""
        method = shortcut(*args, **kwargs)
        self.kept.append(method)
        self.call(_send, method)

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


async def _send(method: TelegramMethod[Any]) -> None:
    await method


class UpdateInFlight(Exception):
    """Another instance is handling this update right now; the webhook answers with an error status so Telegram retries later."""


def update_source(data: dict[str, Any]) -> str:
    """Which bot's update-id sequence an update belongs to, e.g. "telegram:123456"."""
    return f"{data.get('channel', 'telegram')}:{data['bot'].id}"


class UpdateTransactionMiddleware(BaseMiddleware):
    """Opens the update's session, records the update in the ledger, commits at the end.

    The ledger row is written in the same transaction as the update's effects, so a crash
    before the commit leaves neither, and a redelivered update that was committed is skipped
    (its kept replies, if a crash stopped them, are sent then). The conversation state the
    handler wrote is applied only after the commit (bot/fsm_storage.py), so an update that
    failed leaves the conversation where it was. With Redis, a short "busy" key keeps two
    instances from working on one update at once and a "done" key answers redeliveries
    without touching the database.
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        redis: Redis | None,
        storage: CommittedStorage | None = None,
        replies_key: bytes | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.redis = redis
        self.storage = storage
        self.replies_key = replies_key

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
            async with self._keeping_busy(key):
                result = await self._handle_once(handler, update, data, source, update_id)
        except BaseException:
            if self.redis is not None:
                await self.redis.delete(key)
            raise
        if self.redis is not None:
            await self.redis.set(key, "done", ex=DONE_SECONDS)
        return result

    def _keeping_busy(self, key: str) -> contextlib.AbstractAsyncContextManager[None]:
        if self.redis is None:
            return contextlib.nullcontext()
        return renewing(lambda: self.redis.set(key, "busy", xx=True, ex=BUSY_SECONDS), BUSY_SECONDS / 3)

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
        with self._holding_state() as pending:
            async with write_lock(self.sessionmaker.kw["bind"]), self.sessionmaker() as session:
                async with session.begin():
                    if not await record_update(session, source, update_id):
                        log.info("update %s:%s already handled", source, update_id)
                        kept = await kept_replies(session, source, update_id)
                        handled = True
                    else:
                        handled = False
                        data["session"] = session
                        data["after_commit"] = after_commit
                        try:
                            result = await handler(update, data)
                        finally:
                            del data["session"], data["after_commit"]
                        if after_commit.kept:
                            await keep_replies(session, source, update_id,
                                               pack(after_commit.kept, self.replies_key))
            if handled:
                if kept is not None:
                    await self._send_kept(data["bot"], kept, source, update_id)
                return None
            if pending is not None:
                await self._apply_state(pending)
        await after_commit.run()
        if after_commit.kept:
            await self._forget_replies(source, update_id)
        return result

    async def _apply_state(self, pending: PendingState) -> None:
        # The update is committed: failing now would apologise for something stored.
        try:
            await self.storage.apply(pending)
        except Exception as error:
            log.error("the conversation state of an update could not be saved: %s",
                      type(error).__name__)

    @contextlib.contextmanager
    def _holding_state(self) -> Iterator[PendingState | None]:
        if self.storage is None:
            yield None
            return
        with self.storage.holding() as pending:
            yield pending

    async def _send_kept(self, bot: Bot, kept: bytes, source: str, update_id: str) -> None:
        """Send the replies a crash kept from going out, then forget them."""
        try:
            methods = unpack(kept, self.replies_key)
        except ValueError as error:
            log.error("kept replies of update %s:%s cannot be read: %s", source, update_id, error)
            methods = []
        log.warning("update %s:%s: sending %s kept replies again", source, update_id, len(methods))
        for method in methods:
            try:
                await bot(method)
            except Exception as error:
                log.warning("a kept reply could not be sent: %s", type(error).__name__)
        await self._forget_replies(source, update_id)

    async def _forget_replies(self, source: str, update_id: str) -> None:
        try:
            async with write_lock(self.sessionmaker.kw["bind"]), self.sessionmaker() as session, \
                    session.begin():
                await forget_replies(session, source, update_id)
        except Exception as error:  # kept a little longer: pruned with the ledger row
            log.warning("kept replies of update %s:%s stay: %s", source, update_id,
                        type(error).__name__)
