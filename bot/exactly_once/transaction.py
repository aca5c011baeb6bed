"""One database transaction per update, and each update handled exactly once."""

import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from base.after_commit import AfterCommit, deliver_kept
from bot.exactly_once.event_isolation import LOCK_SECONDS, renewing
from bot.exactly_once.fsm_storage import CommittedStorage, PendingState
from bot.exactly_once.kept_replies import pack, unpack
from db.models import utcnow
from db.services.updates import (
    forget_replies,
    keep_replies,
    kept_replies,
    record_update,
    scrub_kept_replies,
    updates_with_replies,
)
from db.session import write_lock

log = logging.getLogger(__name__)

# While an instance handles an update its key says "busy" (renewed while it works, so a
# crashed instance's key is gone soon); once committed it says "done".
BUSY_SECONDS = LOCK_SECONDS
DONE_SECONDS = 48 * 3600
# The sweep sends kept replies left this long ago: the update's own handling (and the
# channel's redelivery) goes first.
SWEEP_AFTER = timedelta(minutes=1)


def done_until() -> int:
    """When a "done" key expires: DONE_SECONDS after the hour it was set in, so that its time
    to live tells when the update was handled to the hour only, like the ledger."""
    hour = int(utcnow().timestamp()) // 3600 * 3600
    return hour + 3600 + DONE_SECONDS


class Redeliver(Exception):
    """The update must come again: the webhook answers with an error status (Telegram and
    Zalo then redeliver it), and no apology is sent."""


class UpdateInFlight(Redeliver):
    """Another instance is handling this update right now; the webhook answers with an error status so Telegram retries later."""


class KeptRepliesUnsent(Redeliver):
    """The update is committed but a kept reply (a tip's receipt) could not be sent: it stays
    with the ledger row, and the redelivery of the update (or the sweep) sends it."""


def update_source(data: dict[str, Any]) -> str:
    """Which bot's update-id sequence an update belongs to, e.g. "telegram:123456"."""
    return f"{data.get('channel', 'telegram')}:{data['bot'].id}"


class UpdateTransactionMiddleware(BaseMiddleware):
    """Opens the update's session, records the update in the ledger, commits at the end.

    The ledger row is written in the same transaction as the update's effects, so a crash
    before the commit leaves neither, and a redelivered update that was committed is skipped
    (its kept replies, if a crash or a failed send stopped them, are sent then). The
    conversation state the handler wrote is applied only after the commit
    (bot/exactly_once/fsm_storage.py), so an update that failed leaves the conversation where it was.
    With Redis, a short "busy" key keeps two instances from working on one update at once
    and a "done" key answers redeliveries without touching the database.
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
            await self.redis.set(key, "done", exat=done_until())
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
                            await keep_replies(session, source, update_id, pack(
                                _addressed(after_commit.kept, data), self.replies_key))
            if handled:
                if kept is not None:
                    await self._send_kept(data["bot"], kept, source, update_id)
                return None
            if pending is not None:
                await self._apply_state(pending)
        await after_commit.run()
        if after_commit.kept:
            await self._settle(source, update_id, _addressed(after_commit.unsent, data))
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
        """Send the replies a crash or a failed send kept from going out, then forget them."""
        try:
            methods = unpack(kept, self.replies_key)
        except ValueError as error:
            log.error("kept replies of update %s:%s cannot be read: %s", source, update_id, error)
            methods = []
        log.warning("update %s:%s: sending %s kept replies again", source, update_id, len(methods))
        unsent = [method for method in methods if not await deliver_kept(bot, method)]
        await self._settle(source, update_id, unsent)

    async def _settle(self, source: str, update_id: str, unsent: list[TelegramMethod[Any]]) -> None:
        """Forget the kept replies once all are sent; else keep those still unsent and fail
        the update, so that its redelivery (or the sweep) sends them."""
        if not unsent:
            await self._forget_replies(source, update_id)
            return
        try:
            async with write_lock(self.sessionmaker.kw["bind"]), self.sessionmaker() as session, \
                    session.begin():
                await keep_replies(session, source, update_id, pack(unsent, self.replies_key))
        except Exception as error:  # all of them stay kept: some may then go out twice
            log.warning("kept replies of update %s:%s stay as they were: %s", source, update_id,
                        type(error).__name__)
        raise KeptRepliesUnsent(f"{len(unsent)} kept replies of update {source}:{update_id} wait")

    async def _forget_replies(self, source: str, update_id: str) -> None:
        engine = self.sessionmaker.kw["bind"]
        try:
            async with write_lock(engine), self.sessionmaker() as session, session.begin():
                await forget_replies(session, source, update_id)
            # The row is gone; so must be its traces on disk (the WAL), within the second.
            if not await scrub_kept_replies(engine):
                log.info("the traces of kept replies wait for the next scrub")
        except Exception as error:  # kept a little longer: the sweep sends them again
            log.warning("kept replies of update %s:%s stay: %s", source, update_id,
                        type(error).__name__)

    async def sweep(self, bot: Bot, channel: str, left_for: timedelta = SWEEP_AFTER) -> None:
        """Send the kept replies waiting `left_for` or longer on this bot's updates (polling
        never redelivers a failed update); each update is claimed as its redelivery would be."""
        source = f"{channel}:{bot.id}"
        async with self.sessionmaker() as session:
            waiting = await updates_with_replies(session, source, utcnow() - left_for)
        for update_id in waiting:
            key = f"binhyen:update:{source}:{update_id}"
            if self.redis is not None and not await self.redis.set(key, "busy", nx=True, ex=BUSY_SECONDS):
                continue  # another instance is at it, or it is done
            sent = False
            try:
                async with self.sessionmaker() as session:
                    kept = await kept_replies(session, source, update_id)
                if kept is not None:
                    await self._send_kept(bot, kept, source, update_id)
                sent = True
            except KeptRepliesUnsent:
                pass  # still waiting: the next sweep tries again
            finally:
                if self.redis is not None:
                    await (self.redis.set(key, "done", exat=done_until()) if sent else self.redis.delete(key))


def _addressed(methods: list[TelegramMethod[Any]], data: dict[str, Any]) -> list[TelegramMethod[Any]]:
    """The replies to the update's chat addressed by the channel's own chat id when it has
    one (a Zalo id): a sweep after a restart reaches the chat without this process's map."""
    chat, channel_chat = data.get("event_chat"), data.get("channel_chat_id")
    if chat is None or channel_chat is None:
        return methods
    return [method.model_copy(update={"chat_id": channel_chat})
            if getattr(method, "chat_id", None) == chat.id else method for method in methods]
