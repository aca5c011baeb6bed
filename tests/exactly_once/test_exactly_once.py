"""Each update takes effect once: redeliveries, failures, races, and several instances on Redis."""

import asyncio
import logging

import pytest
from aiogram import Router
from aiogram.filters import Command
from sqlalchemy import inspect, select

from base.settings import load_settings
from bot.app import build_app
from bot.exactly_once.transaction import UpdateInFlight
from db.models import Member, ProcessedUpdate
from db.services.members import ensure_member
from testkit.fakes import ChatDriver, count, fetch
from testkit.services import redis_url


async def ledger_rows(session) -> int:
    return await count(session, ProcessedUpdate)


async def members(session) -> int:
    return await count(session, Member)


def add_test_command(app, fail: dict) -> None:
    """/enrol writes a member row, then fails while fail["now"] is true."""
    router = Router(name="test-enrol")

    async def enrol(message, session, channel):
        await ensure_member(session, channel, str(message.from_user.id))
        if fail["now"]:
            raise RuntimeError("the handler broke after writing")
        await message.answer("enrolled")

    router.message.register(enrol, Command("enrol"))
    app.dispatcher.sub_routers.insert(0, router)
    router._parent_router = app.dispatcher


async def test_a_redelivered_update_is_answered_and_recorded_once(chat, session):
    update = chat.message("/start", update_id=900)
    await chat.feed(update)
    await chat.feed(update)
    assert len(chat.session.sent) == 1
    assert await ledger_rows(session) == 1


async def test_the_ledger_keeps_the_key_and_the_hour_only_and_the_log_no_duration(chat, session, engine, caplog):
    """A handled update leaves nothing that dates it to the second: the ledger keeps its key and
    the hour, and the per-update log line says it was handled, not how long it took (the
    update that stored a tip takes longest)."""
    caplog.set_level(logging.INFO, logger="aiogram.event")
    await chat.send("/start")
    async with engine.connect() as connection:
        columns = await connection.run_sync(
            lambda sync: [column["name"] for column in inspect(sync).get_columns("processed_updates")])
    assert sorted(columns) == ["processed_at", "source", "update_id"]
    stamp = await fetch(session, select(ProcessedUpdate.processed_at))
    assert (stamp.minute, stamp.second, stamp.microsecond) == (0, 0, 0)
    lines = [record.getMessage() for record in caplog.records if record.name == "aiogram.event"]
    assert lines and all("is handled" in line and "Duration" not in line and " ms" not in line
                         for line in lines), lines


async def test_a_failed_update_leaves_nothing_and_its_redelivery_takes_effect(app, chat, session):
    fail = {"now": True}
    add_test_command(app, fail)
    update = chat.message("/enrol", user_id=321, update_id=901)
    await chat.feed(update)
    assert "thử lại" in chat.session.sent[-1].text  # the user is asked to try again
    assert await members(session) == 0 and await ledger_rows(session) == 0
    fail["now"] = False
    await chat.feed(update)
    assert chat.session.sent[-1].text == "enrolled"
    assert await members(session) == 1 and await ledger_rows(session) == 1


async def test_the_same_update_arriving_twice_at_once_is_handled_once(app, chat, session):
    add_test_command(app, {"now": False})
    update = chat.message("/enrol", user_id=654, update_id=902)
    await asyncio.gather(chat.feed(update), chat.feed(update))
    assert [sent.text for sent in chat.session.sent] == ["enrolled"]
    assert await members(session) == 1 and await ledger_rows(session) == 1


@pytest.fixture
async def two_instances(settings, redis):
    """Two bot instances sharing the database and Redis, as behind one webhook."""
    shared = load_settings(database_url=settings.database_url, redis_url=redis_url())
    first, second = await build_app(shared), await build_app(shared)
    yield first, second
    await first.close()
    await second.close()


async def test_two_instances_handle_a_redelivered_update_once(two_instances, session, redis):
    first, second = two_instances
    for app in (first, second):
        add_test_command(app, {"now": False})
    one, two = ChatDriver(first), ChatDriver(second)
    update = one.message("/enrol", user_id=777, update_id=903)
    results = await asyncio.gather(one.feed(update), two.feed(update), return_exceptions=True)
    handled = len(one.session.sent) + len(two.session.sent)
    in_flight = [r for r in results if isinstance(r, UpdateInFlight)]
    assert handled == 1
    assert len(in_flight) <= 1  # the loser was told to retry later (webhook answers an error)
    assert await members(session) == 1 and await ledger_rows(session) == 1
    # Telegram's retry of the loser is now recognised as done, without a second effect.
    await two.feed(update)
    await one.feed(update)
    assert len(one.session.sent) + len(two.session.sent) == 1
    key = f"binhyen:update:telegram:{one.bot.id}:903"
    assert await redis.get(key) == b"done"
    # Its expiry falls on the hour: its time to live dates the update to the hour only.
    assert await redis.execute_command("EXPIRETIME", key) % 3600 == 0


async def test_fsm_preferences_live_in_redis_for_every_instance(two_instances):
    first, second = two_instances
    one, two = ChatDriver(first), ChatDriver(second)
    await one.send("/language", user_id=888)
    await one.press("lang:en", user_id=888)
    [reply] = await two.send("/help", user_id=888)
    assert "What you can do" in reply


async def test_an_update_claimed_by_a_live_instance_is_refused_for_retry(two_instances, redis):
    first, _ = two_instances
    one = ChatDriver(first)
    await redis.set(f"binhyen:update:telegram:{one.bot.id}:904", "busy", ex=60)
    with pytest.raises(UpdateInFlight):
        await one.feed(one.message("/start", update_id=904))
    assert one.session.sent == []
