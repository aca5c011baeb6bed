"""Guessing receipt codes online: a sender's wrong codes are counted in a sliding hour (no clock
hour's boundary or midnight doubles them), and the whole bot has a ceiling an hour that logs a
warning and, without Redis, holds across a restart (it is counted in the database)."""

import logging
from datetime import timedelta

import pytest

from bot.app import build_app
from testkit.delivery_fakes import FakeClock, local
from testkit.fakes import ChatDriver
from testkit.services import redis_url
from tests.tips.test_tips import TIPSTER, file_tip, officers_key, tip_settings, tree  # noqa: F401

WRONG = "0000 0000 0000 0001"
REFUSED = "sai mã biên nhận quá nhiều lần"
CEILING = "tạm ngừng tra mã biên nhận"


@pytest.fixture
def settings(database_url, officers_key):  # noqa: F811
    return tip_settings(database_url, officers_key)


async def guess(chat, user: int, times: int = 1) -> list[str]:
    return [(await chat.send(f"/tipstatus {WRONG}", user_id=user))[0] for _ in range(times)]


@pytest.mark.parametrize("start", [local(2026, 8, 10, 9, 59), local(2026, 8, 10, 23, 59)],
                         ids=["an hour's boundary", "midnight"])
async def test_wrong_codes_are_counted_in_a_sliding_hour(app, chat, tree, start):  # noqa: F811
    clock = FakeClock(start)
    app.dispatcher["clock"] = clock
    assert all("Không có tin báo nào" in reply for reply in await guess(chat, TIPSTER, 5))
    clock.advance(120)  # a new clock hour (and at midnight a new day, a new tag)
    [reply] = await guess(chat, TIPSTER)
    assert REFUSED in reply
    clock.advance(3600 - 120 - 1)  # still within the hour of the first wrong code
    assert REFUSED in (await guess(chat, TIPSTER))[0]
    clock.advance(2)  # an hour after them: the sender may try again
    assert "Không có tin báo nào" in (await guess(chat, TIPSTER))[0]


class TestBotWideCeiling:
    """BINHYEN_TIP_WRONG_CODES_PER_HOUR: wrong codes of every sender together."""

    @pytest.fixture
    def settings(self, database_url, officers_key, monkeypatch):  # noqa: F811
        monkeypatch.setenv("BINHYEN_TIP_WRONG_CODES_PER_HOUR", "3")
        return tip_settings(database_url, officers_key)

    async def test_the_ceiling_warns_refuses_everyone_and_survives_a_restart(
            self, app, chat, tree, engine, settings, caplog):  # noqa: F811
        caplog.set_level(logging.WARNING, logger="db.services.tip_limits")
        clock = FakeClock(local(2026, 8, 10, 9, 30))
        app.dispatcher["clock"] = clock
        code, _ = await file_tip(chat, tree)
        for user in (TIPSTER + 1, TIPSTER + 2, TIPSTER + 3):  # three senders, one wrong code each
            assert "Không có tin báo nào" in (await guess(chat, user))[0]
        assert [r for r in caplog.records if "ceiling of 3" in r.getMessage()]
        [reply] = await chat.send(f"/tipstatus {code}", user_id=TIPSTER)  # even the right code waits
        assert CEILING in reply and "Đã tiếp nhận" not in reply

        restarted = await build_app(settings, engine)  # without Redis: the count is in the database
        try:
            restarted.dispatcher["clock"] = clock
            again = ChatDriver(restarted)
            [reply] = await again.send(f"/tipstatus {code}", user_id=TIPSTER + 4)
            assert CEILING in reply
            clock.advance(2 * 3600)  # the window has slid past them
            [reply] = await again.send(f"/tipstatus {code}", user_id=TIPSTER + 4)
            assert "Đã tiếp nhận" in reply
        finally:
            await restarted.dispatcher.storage.close()


async def test_with_redis_the_windows_and_the_ceiling_are_shared(database_url, officers_key, tree,  # noqa: F811
                                                                 monkeypatch):
    """Two instances on one Redis: a sender's window and the bot's ceiling count across them."""
    from redis.asyncio import Redis

    monkeypatch.setenv("BINHYEN_TIP_WRONG_CODES_PER_HOUR", "7")
    client = Redis.from_url(redis_url())
    await client.flushdb()
    shared = tip_settings(database_url, officers_key, redis_url=redis_url())
    first, second = await build_app(shared), await build_app(shared)
    clock = FakeClock(local(2026, 8, 10, 9, 59))
    try:
        for app in (first, second):
            app.dispatcher["clock"] = clock
        one, two = ChatDriver(first), ChatDriver(second)
        await guess(one, TIPSTER, 3)
        await guess(two, TIPSTER, 2)
        clock.advance(120)
        assert REFUSED in (await guess(one, TIPSTER))[0]
        assert "Không có tin báo nào" in (await guess(two, TIPSTER + 1, 2))[-1]  # 7 in all: the ceiling
        assert CEILING in (await guess(one, TIPSTER + 2))[0]
        clock.advance(timedelta(hours=2).total_seconds())
        assert "Không có tin báo nào" in (await guess(two, TIPSTER + 2))[0]
    finally:
        await first.close()
        await second.close()
        await client.flushdb()
        await client.aclose()
