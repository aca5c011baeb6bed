"""The delivery worker end to end on Telegram: a fake Bot API server on 127.0.0.1 answers 429 and
403 like Telegram, aiogram raises, the Telegram sender maps, the worker reacts."""

from sqlalchemy import select

from base.settings import load_settings
from bot.app import telegram_bot
from db.models import Delivery, Member
from db.services.broadcasts import create_broadcast, finish_broadcasts
from delivery.sender import Channel
from delivery.senders import TelegramSender
from delivery.worker import DeliveryWorker
from testkit.delivery_fakes import TZ, FakeClock, build_world, local, make_translator
from tests.channels.test_telegram_transport import TOKEN, telegram  # noqa: F401  (telegram: a fixture)


async def test_429_and_403_over_the_bot_api(engine, session, telegram):
    world = await build_world(session)
    clock, translator = FakeClock(local(2026, 8, 10, 9, 0)), make_translator()
    await create_broadcast(session, world.members["301"], world.areas["C1"], "all", "Họp dân",
                           None, False, clock.now(), TZ, None, translator)
    await session.commit()
    telegram.fail(101, 429, "Too Many Requests: retry after 5", retry_after=5)
    telegram.fail(102, 403, "Forbidden: bot was blocked by the user")
    telegram.fail(103, 400, "Bad Request: chat not found")
    settings = load_settings(telegram_token=TOKEN, telegram_api_base=telegram.base)
    bot = telegram_bot(settings)

    async def close(session, now):
        await finish_broadcasts(session, now, TZ, translator)

    worker = DeliveryWorker(engine, [Channel("telegram", TelegramSender(bot), 25.0)], clock=clock,
                            tz=TZ, after_recording=close)
    try:
        await worker.drain()
    finally:
        await bot.session.close()
    # 101 was retried after its 429 and got exactly one message; 104 and the head got theirs.
    assert telegram.delivered == {101: 1, 104: 1, 201: 1, 301: 1}
    await session.rollback()
    status = dict((await session.execute(select(Delivery.chat_id, Delivery.status))).all())
    assert status == {"101": "sent", "102": "unreachable", "103": "unreachable", "104": "sent",
                      "201": "sent", "301": "sent"}
    blocked = await session.scalar(select(Member).where(Member.user_id == "102"))
    assert blocked.unreachable_at is not None
    [report] = [params["text"] for method, params in telegram.calls
                if method == "sendMessage" and params["chat_id"] == 301]
    assert "3 người đã nhận, 2 không liên lạc được, 0 lỗi" in report
    assert report.startswith("✅") and "parse_mode" in dict(telegram.calls)["sendMessage"]
