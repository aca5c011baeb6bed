"""Faults: the database going away mid-traffic, and processes killed with SIGKILL mid-broadcast
and mid-tip. Nothing confirmed to a user is lost, nothing is done twice, and the bot recovers
by itself. PostgreSQL only (the outage is a TCP proxy in front of it); the processes are real
`binhyen run` children talking to a fake Bot API on 127.0.0.1.

    BINHYEN_TEST_POSTGRES_URL=… BINHYEN_TEST_REDIS_URL=… .venv/bin/python -m pytest -q tests/exactly_once/test_faults.py
"""

import asyncio
import itertools
import re
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from aiogram.types import CallbackQuery, Chat, Message, Update
from sqlalchemy import func, select

from base.settings import load_settings
from bot.app import build_app
from db.models import Delivery, Pledge, Tip
from db.services.areas import require_area
from db.services.broadcasts import create_broadcast, finish_broadcasts
from db.services.joining import give_consent, join_household
from db.services.tip_sealing import TipKeys, key_text, new_key_pair
from db.services.tips import find_by_code
from db.session import make_engine, make_sessionmaker
from delivery.sender import Channel
from delivery.worker import DeliveryWorker
from handlers.tips.submit import AreaChoice, KindChoice, TipStep, WhenChoice
from testkit.arrange import hamlet_of_members, tree
from testkit.delivery_fakes import TZ, FakeClock, FakeSender, build_world, local, make_translator
from testkit.fakes import ChatDriver
from testkit.services import redis_url
from testkit.tcp_proxy import TcpProxy

OUTAGE_SECONDS = 10
APOLOGY = "thử lại"
TIP_SECRET = "a-lookup-secret-of-the-fault-tests-0123456789"


@pytest.fixture
def pg_url(databases) -> str:
    """A fresh migrated PostgreSQL database (these tests cut the connection to PostgreSQL)."""
    return databases.new("postgres")


@pytest.fixture
async def proxy(pg_url):
    proxy = await TcpProxy.to_database(pg_url).start()
    yield proxy
    await proxy.stop()


@pytest.fixture
async def direct(pg_url):
    """A session on the database itself, not through the proxy: to arrange and to check."""
    engine = make_engine(pg_url)
    async with make_sessionmaker(engine)() as session:
        yield session
    await engine.dispose()


async def scalar(session, statement):
    await session.rollback()
    return await session.scalar(statement)


# --- the delivery worker through an outage -----------------------------------------------------

class CuttingSender(FakeSender):
    """Sends like FakeSender; the send to `cut_at` cuts the database first (the channel accepts
    the message, then the worker cannot record it)."""

    def __init__(self, clock, proxy: TcpProxy, cut_at: str) -> None:
        super().__init__(clock)
        self.proxy, self.cut_at = proxy, cut_at

    async def send(self, chat_id: str, text: str, pace=None):
        if chat_id == self.cut_at:
            await self.proxy.cut()
        return await super().send(chat_id, text, pace)


async def test_a_worker_keeps_what_it_sent_while_the_database_is_away(direct, proxy, pg_url):
    clock = FakeClock(local(2026, 8, 10, 9, 0))
    translator = make_translator()
    world = await build_world(direct)
    await create_broadcast(direct, world.members["201"], world.areas["H11"], "all",
                           "Họp tổ tự quản lúc 19:00.", None, False, clock.now(), TZ, None, translator)
    await direct.commit()
    engine = make_engine(proxy.database_url(pg_url))
    sender = CuttingSender(clock, proxy, cut_at="102")

    async def after(session, now):
        await finish_broadcasts(session, now, TZ, translator)

    worker = DeliveryWorker(engine, [Channel("telegram", sender, 25.0)], clock=clock, tz=TZ,
                            after_recording=after)
    draining = asyncio.create_task(worker.drain())
    try:
        # The message to 102 went out, then the database went away: its outcome waits in memory.
        while not (worker.database_down and worker.unrecorded):
            assert not draining.done(), draining
            await asyncio.sleep(0.01)
        waiting = {row.chat_id for row, outcome in worker.unrecorded}
        assert "102" in waiting and waiting <= {"101", "102", "103"}
        await proxy.restore()
        await asyncio.wait_for(draining, 60)  # it finishes by itself, without a restart
    finally:
        worker.stop()
        await engine.dispose()
    sent = Counter(sender.chats())
    assert sent == {"101": 1, "102": 1, "103": 1, "201": 1}  # 201: the sender's final count
    statuses = await scalar(direct, select(func.array_agg(Delivery.status.distinct())))
    assert statuses == ["sent"]


# --- the bot through a 10-second outage --------------------------------------------------------

class Traffic:
    """Residents confirming pledges and tipsters sending tips through one bot, and what they
    were told."""

    def __init__(self, chat: ChatDriver) -> None:
        self.chat = chat
        self.ids = itertools.count(7_000_000)
        self.escaped: list[BaseException] = []

    @property
    def replies(self) -> list[tuple[int, str]]:
        """Every text the bot sent, with its chat."""
        return [(sent.chat_id, sent.text) for sent in self.chat.session.sent]

    async def feed(self, update, user_id: int) -> list[str]:
        """Feed one update; the texts the user got meanwhile."""
        before = len(self.chat.session.sent)
        try:
            await self.chat.feed(update)
        except BaseException as error:  # must never happen: the bot apologises instead
            self.escaped.append(error)
        return [sent.text for sent in self.chat.session.sent[before:] if sent.chat_id == user_id]

    async def press(self, data: str, user_id: int) -> tuple[Update, list[str]]:
        """Press a button (of the latest message, or of an older one: users do)."""
        menu = self.chat.session.menus.get(user_id)
        message = menu.message if menu else Message(
            message_id=next(self.ids), date=0, text="…", chat=Chat(id=user_id, type="private"))
        update_id = next(self.ids)
        self.chat.session.remember_callback(f"q{update_id}", user_id)
        update = Update(update_id=update_id, callback_query=CallbackQuery(
            id=f"q{update_id}", from_user=self.chat.user(user_id), chat_instance="t",
            message=message, data=data))
        return update, await self.feed(update, user_id)

    async def send(self, text: str, user_id: int) -> list[str]:
        return await self.feed(self.chat.session.incoming(self.chat.user(user_id), text), user_id)

    async def tip_until_send(self, places, user_id: int) -> None:
        """A tip conversation up to its summary (the database is there)."""
        await self.send("/tip", user_id)
        for data in (KindChoice(kind="drugs").pack(),
                     AreaChoice(action="open", area=places.c1.id).pack(),
                     AreaChoice(action="pick", area=places.h11.id).pack(),
                     TipStep(action="skip_place").pack(), WhenChoice(choice="today").pack()):
            await self.press(data, user_id)
        await self.send(f"Người lạ dò hỏi nhà vắng chủ ở xóm trên, tin báo của {user_id}.", user_id)
        await self.press(TipStep(action="photos_done").pack(), user_id)


RESIDENTS = list(range(2001, 2009))
OUTAGE_RECIPIENTS = 400  # a broadcast of 16 s at 25 messages per second
TIPSTERS = [3001, 3002, 3003]


async def test_the_database_away_for_ten_seconds(pg_url, proxy, direct, redis, tmp_path):
    """Cut PostgreSQL for 10 s while residents confirm pledges and tipsters send tips through the
    dispatcher, and a `binhyen run --role all` process (webhook, scheduler, delivery worker) is
    halfway through a broadcast: users are asked to try again, nothing is confirmed that is not
    stored, and once the database is back the same bot and the same process (no restart) handle
    the retries and new updates, and the broadcast reaches everyone once."""
    from testkit.fake_telegram import FakeTelegram
    from testkit.processes import SECRET, WEBHOOK_PATH, BotProcess, Updates, Webhook, bot_environment, free_port

    places = await tree(direct, heads=[f"Hộ số {n}" for n in range(1, len(RESIDENTS) + 1)])
    for user_id, household in zip(RESIDENTS, places.households["H11"]):
        member = await give_consent(direct, "telegram", str(user_id), None)
        await join_household(direct, member, household.id)
    await direct.commit()
    await hamlet_of_members(direct, OUTAGE_RECIPIENTS, FIRST_CHAT)
    await create_broadcast(direct, None, await require_area(direct, "B-1-1"), "all",
                           "Cảnh báo: kẻ gian giả danh công an gọi điện.", None, True,
                           datetime.now(timezone.utc), TZ, None, make_translator())
    await direct.commit()
    keys = new_key_pair()
    through_proxy = proxy.database_url(pg_url)
    process_proxy = await TcpProxy.to_database(pg_url).start()  # the same database, cut together
    telegram = await FakeTelegram().start()
    process = BotProcess("all", "all", bot_environment(
        process_proxy.database_url(pg_url), telegram.base, BINHYEN_REDIS_URL=redis_url(), BINHYEN_TELEGRAM_RATE="25",
        BINHYEN_WEBHOOK_URL=f"https://bot.example.vn{WEBHOOK_PATH}", BINHYEN_WEBHOOK_SECRET=SECRET),
        tmp_path, free_port()).start()
    webhook, updates = Webhook(), Updates()
    settings = load_settings(
        database_url=through_proxy, redis_url=redis_url(), telegram_token=None,
        webhook_url=None, tip_public_key=key_text(keys.public_key), tip_secret=TIP_SECRET)
    app = await build_app(settings)
    chat = ChatDriver(app)
    traffic = Traffic(chat)
    try:
        await process.ready()
        # Before: everyone opens /pledge, tipsters get to their summary; two pledges go through.
        for user_id in RESIDENTS:
            await traffic.send("/pledge", user_id)
        for user_id in TIPSTERS:
            await traffic.tip_until_send(places, user_id)
        for user_id in RESIDENTS[:2]:
            await traffic.press("pledge:confirm", user_id)
        while sum(telegram.delivered.values()) < OUTAGE_RECIPIENTS // 4:  # the broadcast is going
            process.check_alive()
            await asyncio.sleep(0.05)

        # The outage begins while six residents confirm at once: some of their transactions
        # are cut in the middle. Then, for 10 s, every action is answered with the apology.
        failed = []
        confirming = asyncio.gather(*[traffic.press("pledge:confirm", user_id)
                                      for user_id in RESIDENTS[2:]])
        await proxy.traffic(24)  # their transactions are under way
        await asyncio.gather(proxy.cut(), process_proxy.cut())
        started = time.monotonic()
        failed += [(update, user_id) for (update, _), user_id in zip(await confirming, RESIDENTS[2:])]
        during: list[str] = []
        round_number = 0
        while time.monotonic() - started < OUTAGE_SECONDS:
            user_id = RESIDENTS[2 + round_number % (len(RESIDENTS) - 2)]
            update, texts = await traffic.press("pledge:confirm", user_id)
            failed.append((update, user_id))
            during += texts
            tipster = TIPSTERS[round_number % len(TIPSTERS)]
            update, texts = await traffic.press(TipStep(action="send").pack(), tipster)
            failed.append((update, tipster))
            during += texts
            during += await traffic.send("/pledge", 4445)
            assert await webhook.post(process, updates.message(4446, "/help")) == 200
            round_number += 1
            await asyncio.sleep(0.2)
        assert len(during) >= 3 * round_number and all(APOLOGY in text for text in during), set(during)
        assert telegram.texts(4446) and all(APOLOGY in text for text in telegram.texts(4446))
        assert await scalar(direct, select(func.count()).select_from(Tip)) == 0
        stored_in_outage = await scalar(direct, select(func.count()).select_from(Pledge))

        # Back: the very updates that failed are redelivered and take effect, once.
        await asyncio.gather(proxy.restore(), process_proxy.restore())
        for update, user_id in failed:
            await traffic.feed(update, user_id)
        # And new ones: each resident and tipster presses again, someone starts afresh.
        for user_id in RESIDENTS:
            await traffic.press("pledge:confirm", user_id)
        await traffic.send("/start", 4444)
        # The pool came back by itself (pool_pre_ping): no connection is left checked out.
        assert app.engine.pool.checkedout() == 0
        # The process too: it answers, and its worker finishes the broadcast.
        await webhook.deliver(process, updates.message(4446, "/help"))
        assert "Những việc bạn làm được" in telegram.texts(4446)[-1]
        while await scalar(direct, select(func.count()).select_from(Delivery).where(
                Delivery.status.in_(("pending", "sending")))):
            process.check_alive()
            await asyncio.sleep(0.1)
        process.check_alive()
    finally:
        await app.close()
        await process.stop()
        await webhook.close()
        await telegram.stop()
        await process_proxy.stop()

    assert traffic.escaped == []
    # Nothing was lost: every resident's pledge and every tipster's tip is stored, once.
    assert await scalar(direct, select(func.count()).select_from(Pledge)) == len(RESIDENTS)
    assert await scalar(direct, select(func.count()).select_from(Tip)) == len(TIPSTERS)
    # Nobody was told of something not stored: each thank-you names its own household's stored
    # pledge, at most once. (A resident whose commit went through just as the connection was cut
    # heard the apology; pressing again tells them it is already confirmed.)
    thanked = Counter(user_id for user_id, text in traffic.replies if text.startswith("✅ Cảm ơn bạn! Hộ"))
    assert set(thanked) <= set(RESIDENTS) and set(thanked.values()) == {1}
    assert len(thanked) >= 2 + (len(RESIDENTS) - stored_in_outage)
    for user_id in thanked:
        head = f"Hộ số {RESIDENTS.index(user_id) + 1}"
        assert any(head in text for uid, text in traffic.replies
                   if uid == user_id and text.startswith("✅"))
    # Every receipt opens a stored tip, and every tipster got one.
    receipts = {user_id: re.search(r"(\d{4} \d{4} \d{4} \d{4})", text).group(1).replace(" ", "")
                for user_id, text in traffic.replies if "Mã biên nhận" in text}
    assert sorted(receipts) == TIPSTERS
    lookup = app.dispatcher["tip_keys"]
    await direct.rollback()
    for code in receipts.values():
        assert await find_by_code(direct, lookup, code) is not None
    assert any("Bình Yên" in text for user_id, text in traffic.replies if user_id == 4444)
    # The broadcast went on after the outage: everyone got it, once.
    assert [telegram.delivered[FIRST_CHAT + n] for n in range(OUTAGE_RECIPIENTS)] == [1] * OUTAGE_RECIPIENTS


# --- the database silent -------------------------------------------------------------------------

async def test_a_database_that_stops_answering_fails_updates_within_the_timeouts(pg_url, proxy):
    """PostgreSQL stops answering without refusing anything (a dead link, a firewall dropping
    packets): each update is answered with the apology once the statement or connect timeout
    runs out (db/session.py), instead of after asyncpg's minute to connect or never; when the
    database answers again the same bot serves, with no connection left checked out."""
    from db.session import COMMAND_SECONDS, CONNECT_SECONDS

    settings = load_settings(database_url=proxy.database_url(pg_url), telegram_token=None,
                             webhook_url=None, redis_url=None)
    app = await build_app(settings)
    chat = ChatDriver(app)
    # At worst a pooled connection's ping runs out, then a new connection's connect.
    bound = COMMAND_SECONDS + CONNECT_SECONDS + 10
    try:
        assert "Những việc bạn làm được" in (await chat.send("/help", user_id=5001))[0]
        await proxy.blackhole()
        for user_id in (5002, 5003):
            replies = await asyncio.wait_for(chat.send("/help", user_id=user_id), bound)
            assert replies and all(APOLOGY in text for text in replies), replies
        await proxy.restore()
        assert "Những việc bạn làm được" in (await chat.send("/help", user_id=5004))[0]
        assert app.engine.pool.checkedout() == 0
    finally:
        await app.close()


# --- SIGKILL mid-broadcast ---------------------------------------------------------------------

RECIPIENTS = 400
FIRST_CHAT = 50_000_001
WORKER_CONCURRENCY = 32  # DeliveryWorker's default: sends handed to the channel at once


async def test_a_worker_killed_mid_broadcast_resumes_without_resending(pg_url, direct, tmp_path):
    """`binhyen run --role worker` is killed with SIGKILL halfway through a broadcast and started
    again: no message recorded as sent is sent again, every recipient gets the message, and the
    only messages that may arrive twice are those in flight at the kill (at most the worker's
    concurrency)."""
    from sqlalchemy import update

    from testkit.fake_telegram import FakeTelegram
    from testkit.processes import BotProcess, bot_environment

    await hamlet_of_members(direct, RECIPIENTS, FIRST_CHAT)
    hamlet = await require_area(direct, "B-1-1")
    translator = make_translator()
    await create_broadcast(direct, None, hamlet, "all", "Cảnh báo: kẻ gian giả danh công an gọi điện.",
                           None, True, FakeClock(local(2026, 8, 10, 9, 0)).now(), TZ, None, translator)
    await direct.commit()
    telegram = await FakeTelegram().start()
    telegram.latency = 0.05  # a message is accepted, and the answer is on its way, for 50 ms
    env = bot_environment(pg_url, telegram.base, BINHYEN_TELEGRAM_RATE="100")
    worker = BotProcess("worker", "worker", env, tmp_path).start()
    try:
        while sum(telegram.delivered.values()) < RECIPIENTS // 2:
            worker.check_alive()
            await asyncio.sleep(0.02)
        worker.kill()
        await direct.rollback()
        status = dict((chat, state) for chat, state in await direct.execute(
            select(Delivery.chat_id, Delivery.status).where(Delivery.source.like("broadcast:%"))))
        sent_before = {int(chat) for chat, state in status.items() if state == "sent"}
        held = {int(chat) for chat, state in status.items() if state == "sending"}
        assert sent_before and held  # halfway: some recorded as sent, some held by the dead worker
        # Its lease runs out (the test moves the claim back instead of waiting 30 s).
        await direct.execute(update(Delivery).where(Delivery.status == "sending").values(
            claimed_at=datetime.now(timezone.utc) - timedelta(minutes=5)))
        await direct.commit()
        worker.start()
        while await scalar(direct, select(func.count()).select_from(Delivery).where(
                Delivery.status.in_(("pending", "sending")))):
            worker.check_alive()
            await asyncio.sleep(0.1)
    finally:
        await worker.stop()
        await telegram.stop()
    counts = {FIRST_CHAT + n: telegram.delivered[FIRST_CHAT + n] for n in range(RECIPIENTS)}
    twice = {chat for chat, number in counts.items() if number > 1}
    assert all(number >= 1 for number in counts.values())  # nobody missed it
    assert all(counts[chat] == 1 for chat in sent_before)  # recorded as sent: never sent again
    assert twice <= held and len(twice) <= WORKER_CONCURRENCY and max(counts.values()) <= 2
    assert await scalar(direct, select(func.count()).select_from(Delivery).where(
        Delivery.status != "sent")) == 0


# --- SIGKILL mid-tip ---------------------------------------------------------------------------

TIPSTER = 8801


@pytest.mark.parametrize("moment", ["before the commit", "after the commit"])
async def test_a_bot_killed_while_sending_a_tip_stores_it_once_with_a_receipt(
        pg_url, direct, redis, tmp_path, moment):
    """The bot process is killed with SIGKILL while it handles the tip's final "Gửi": before the
    commit (stuck answering the button), or after it (stuck sending the receipt). It is started
    again and Telegram redelivers the update: the tip is stored once, and the tipster holds a
    receipt whose code opens the stored tip."""
    from db.models import KeptReply
    from testkit.fake_telegram import FakeTelegram
    from testkit.processes import SECRET, WEBHOOK_PATH, BotProcess, Updates, Webhook, bot_environment, free_port

    places = await tree(direct)
    c1, h11 = places.c1.id, places.h11.id
    keys = new_key_pair()
    telegram = await FakeTelegram().start()
    env = bot_environment(
        pg_url, telegram.base, BINHYEN_REDIS_URL=redis_url(),
        BINHYEN_WEBHOOK_URL=f"https://bot.example.vn{WEBHOOK_PATH}", BINHYEN_WEBHOOK_SECRET=SECRET,
        BINHYEN_TIP_PUBLIC_KEY=key_text(keys.public_key), BINHYEN_TIP_SECRET=TIP_SECRET)
    bot = BotProcess("bot", "bot", env, tmp_path, free_port()).start()
    webhook, updates = Webhook(), Updates()
    try:
        await bot.ready()
        for update in updates.tip_until_summary(TIPSTER, c1, h11, "Bến đò Bình Long",
                                                "Có người lạ bán hàng cấm ở bến đò mỗi tối."):
            await webhook.deliver(bot, update)
        assert "Xem lại tin báo" in telegram.texts(TIPSTER)[-1]
        send = updates.press(TIPSTER, TipStep(action="send").pack())
        if moment == "before the commit":
            caught = telegram.hold(lambda method, params: method == "answerCallbackQuery")
        else:
            caught = telegram.hold(lambda method, params: method == "sendMessage"
                                   and "Mã biên nhận" in params.get("text", ""))
        posting = asyncio.create_task(webhook.post(bot, send))
        await caught.arrived.wait()
        bot.kill()
        with pytest.raises(Exception):
            await posting  # Telegram got no answer, so it will deliver the update again
        stored = await scalar(direct, select(func.count()).select_from(Tip))
        assert stored == (0 if moment == "before the commit" else 1)

        bot.start()
        await bot.ready()
        # Telegram retries until it gets 200 (the dead process's lock on the user runs out first).
        await webhook.deliver(bot, send)
        await webhook.deliver(bot, send)  # and a late duplicate changes nothing
    finally:
        await bot.stop()
        await webhook.close()
        await telegram.stop()
    assert await scalar(direct, select(func.count()).select_from(Tip)) == 1
    receipts = [text for text in telegram.texts(TIPSTER) if "Mã biên nhận" in text]
    codes = {re.search(r"(\d{4} \d{4} \d{4} \d{4})", text).group(1).replace(" ", "") for text in receipts}
    assert len(codes) == 1  # one code, whether the held receipt got through or not
    await direct.rollback()
    assert await find_by_code(direct, TipKeys(keys.public_key, TIP_SECRET.encode()), codes.pop())
    assert await scalar(direct, select(func.count()).select_from(KeptReply)) == 0  # sent and forgotten


# --- Redis away ----------------------------------------------------------------------------------

async def test_without_redis_updates_are_refused_for_redelivery_and_health_says_so(pg_url, direct, redis):
    """Redis holds the conversations and the per-user locks: when it goes away under a running
    instance an update is answered with an error status (Telegram delivers it again later) and
    nothing of it is stored, and /healthz answers 503 so that monitoring sees which instance
    cannot serve. (An instance does not start without Redis: test_settings.py.)"""
    from aiohttp import ClientSession, web

    from bot.app import telegram_bot
    from bot.channels.telegram import webhook_application
    from db.models import ProcessedUpdate
    from testkit.processes import SECRET, TOKEN, WEBHOOK_PATH, Updates

    redis_proxy = await TcpProxy.to_redis(redis_url()).start()
    settings = load_settings(
        database_url=pg_url, redis_url=redis_proxy.redis_url(redis_url()),
        telegram_token=TOKEN, telegram_api_base="http://127.0.0.1:9",
        webhook_url=f"https://bot.example.vn{WEBHOOK_PATH}", webhook_secret=SECRET)
    app = await build_app(settings)
    await redis_proxy.cut()  # Redis is down from now on
    bot = telegram_bot(settings)
    runner = web.AppRunner(webhook_application(app, bot, register_webhook=False))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    try:
        async with ClientSession() as client:
            async with client.post(f"{url}{WEBHOOK_PATH}", json=Updates().message(77, "/start"),
                                   headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as response:
                assert response.status >= 500
            async with client.get(f"{url}/healthz") as response:
                assert response.status == 503 and "redis" in await response.text()
    finally:
        await runner.cleanup()
        await bot.session.close()
        await app.close()
        await redis_proxy.stop()
    assert await scalar(direct, select(func.count()).select_from(ProcessedUpdate)) == 0
