"""One update of a user at a time across instances, with locks that outlive no crash for long.

aiogram's RedisEventIsolation takes a Redis lock per user that expires after 60 s, so that a
crashed instance does not hold its users forever; but then a user whose update was being handled
by an instance killed at that moment waits a minute, and a handler that runs longer than the
lock (downloading tip photos on a slow line) loses it while it works. Here the lock is short and
renewed while its update is handled: a live instance keeps it as long as it needs, a dead one
frees it within LOCK_SECONDS.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiogram.fsm.storage.base import BaseEventIsolation, KeyBuilder, StorageKey
from redis.asyncio import Redis
from redis.exceptions import LockError

log = logging.getLogger(__name__)

# A crashed instance's locks and "busy" update keys are gone after this long.
LOCK_SECONDS = 10
# An update waits this long at most for the update of the same user before it (a live instance
# keeps renewing the lock while it works, so a stuck handler would hold its user for ever);
# then it is refused, and Telegram delivers it again later.
WAIT_SECONDS = 60


class LockWaitTimeout(Exception):
    """The user's lock was held by another update for WAIT_SECONDS; try again later."""


@contextlib.asynccontextmanager
async def renewing(renew: Callable[[], Awaitable[object]], every: float) -> AsyncIterator[None]:
    """Call `renew()` every `every` seconds while the block runs (a failed renewal is logged;
    the lease then runs out by itself)."""
    async def loop() -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await renew()
            except Exception as error:
                log.warning("could not renew a lease in Redis: %s", type(error).__name__)
                return

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class RenewedRedisEventIsolation(BaseEventIsolation):
    """A Redis lock per user (and chat) that the instance handling their update keeps renewing."""

    def __init__(self, redis: Redis, key_builder: KeyBuilder, seconds: float = LOCK_SECONDS,
                 wait_seconds: float = WAIT_SECONDS) -> None:
        self.redis = redis
        self.key_builder = key_builder
        self.seconds = seconds
        self.wait_seconds = wait_seconds

    @contextlib.asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncIterator[None]:
        """Wait for the user's lock (another instance may hold it), at most `wait_seconds`
        (then LockWaitTimeout), and hold it while the update is handled."""
        lock = self.redis.lock(self.key_builder.build(key, "lock"), timeout=self.seconds,
                               blocking_timeout=self.wait_seconds, raise_on_release_error=False)
        if not await lock.acquire():
            raise LockWaitTimeout(f"the lock of {key.user_id} stayed taken for {self.wait_seconds} s")
        try:
            async with renewing(lock.reacquire, self.seconds / 3):
                yield
        finally:
            with contextlib.suppress(LockError):  # it ran out meanwhile: nothing left to free
                await lock.release()

    async def close(self) -> None:
        """Nothing to close: the Redis client belongs to the app."""
