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

log = logging.getLogger(__name__)

# A crashed instance's locks and "busy" update keys are gone after this long.
LOCK_SECONDS = 10


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

    def __init__(self, redis: Redis, key_builder: KeyBuilder, seconds: float = LOCK_SECONDS) -> None:
        self.redis = redis
        self.key_builder = key_builder
        self.seconds = seconds

    @contextlib.asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncIterator[None]:
        """Wait for the user's lock (another instance may hold it), hold it while the update is
        handled."""
        lock = self.redis.lock(self.key_builder.build(key, "lock"), timeout=self.seconds,
                               raise_on_release_error=False)
        async with lock, renewing(lock.reacquire, self.seconds / 3):
            yield

    async def close(self) -> None:
        """Nothing to close: the Redis client belongs to the app."""
