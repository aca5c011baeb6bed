"""Redis leases of several instances: a user's lock and an update's "busy" key are kept while an
instance works, however long, and run out soon after the instance dies."""

import asyncio

from aiogram.fsm.storage.base import DefaultKeyBuilder, StorageKey
from redis.asyncio import Redis

from bot.event_isolation import RenewedRedisEventIsolation, renewing

KEYS = DefaultKeyBuilder(prefix="binhyen:test", with_bot_id=True, with_destiny=True)
USER = StorageKey(bot_id=1, chat_id=42, user_id=42)


async def renewals_of(redis: Redis, key: str, count: int) -> None:
    """Wait until the key's time to live has gone back up `count` times."""
    last = await redis.pttl(key)
    while count:
        ttl = await redis.pttl(key)
        assert ttl > 0, "the lease ran out while held"
        if ttl > last:
            count -= 1
        last = ttl
        await asyncio.sleep(0.01)


async def test_a_held_lock_is_renewed_past_its_time_and_freed_at_the_end(redis):
    isolation = RenewedRedisEventIsolation(redis, KEYS, seconds=0.6)
    key = KEYS.build(USER, "lock")
    async with isolation.lock(USER):
        await renewals_of(redis, key, 3)  # held for over 0.6 s, still ours
        other = redis.lock(key, timeout=1, blocking=False)
        assert not await other.acquire()
    assert not await redis.exists(key)


async def test_a_lock_left_by_a_dead_instance_runs_out(redis):
    isolation = RenewedRedisEventIsolation(redis, KEYS, seconds=0.5)
    holding = asyncio.create_task(isolation.lock(USER).__aenter__())
    await holding
    # The instance dies: nothing renews the lock and nothing releases it.
    for task in asyncio.all_tasks():
        if task is not asyncio.current_task() and "renewing" in repr(task.get_coro()):
            task.cancel()
    async with asyncio.timeout(5):
        async with isolation.lock(USER):  # another instance gets it once it runs out
            pass


async def test_renewing_keeps_a_busy_key_alive(redis):
    await redis.set("busy", "busy", ex=1)
    async with renewing(lambda: redis.set("busy", "busy", xx=True, px=600), 0.2):
        await renewals_of(redis, "busy", 3)
    assert await redis.get("busy") == b"busy"
