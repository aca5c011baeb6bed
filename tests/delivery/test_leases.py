"""Redis leases of several instances: a user's lock and an update's "busy" key are kept while an
instance works, however long, and run out soon after the instance dies."""

import asyncio

import pytest
from aiogram.fsm.storage.base import DefaultKeyBuilder, StorageKey
from redis.asyncio import Redis

from base.settings import load_settings
from bot.exactly_once.event_isolation import LockWaitTimeout, RenewedRedisEventIsolation, renewing

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


async def test_an_update_waits_a_bounded_time_for_a_lock_held_for_ever(redis):
    """A live instance whose handler is stuck keeps renewing its user's lock: the next update
    of that user gives up after the wait instead of waiting for ever."""
    isolation = RenewedRedisEventIsolation(redis, KEYS, seconds=0.6, wait_seconds=0.5)
    async with isolation.lock(USER):  # held (and renewed) for longer than the other may wait
        with pytest.raises(LockWaitTimeout):
            async with isolation.lock(USER):
                pass
    async with isolation.lock(USER):  # freed: taken again at once
        pass


async def test_an_update_that_waited_too_long_is_refused_for_redelivery(settings, redis):
    """It propagates (the webhook answers an error status and Telegram delivers it again),
    without the apology and without being recorded."""
    from bot.app import build_app
    from db.models import ProcessedUpdate
    from testkit.fakes import ChatDriver, count
    from testkit.services import redis_url

    app = await build_app(load_settings(database_url=settings.database_url, redis_url=redis_url()))
    isolation = app.dispatcher.fsm.events_isolation
    isolation.wait_seconds = 0.5
    chat = ChatDriver(app)
    stuck = StorageKey(bot_id=chat.bot.id, chat_id=4242, user_id=4242)
    try:
        async with isolation.lock(stuck):  # another update of this user never ends
            with pytest.raises(LockWaitTimeout):
                await chat.feed(chat.message("/help", user_id=4242))
        assert chat.session.sent == []
        async with app.sessionmaker() as session:
            assert await count(session, ProcessedUpdate) == 0
        assert "Những việc bạn làm được" in (await chat.send("/help", user_id=4242))[0]
    finally:
        await app.close()
