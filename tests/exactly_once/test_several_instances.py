"""Two real bot processes behind one webhook, sharing PostgreSQL and Redis: `binhyen run --role bot`
and `binhyen run --role all` (the scheduler and the delivery worker too). The test plays
Telegram: it posts the same update to both (a redelivery, also at once), a user's conversation
alternating between them, and a broadcast written on one and delivered by the other. Every
effect happens once, in the database and in what the fake Bot API received, and each step of a
conversation is answered as the next step wherever it lands.

    BINHYEN_TEST_POSTGRES_URL=… BINHYEN_TEST_REDIS_URL=… .venv/bin/python -m pytest -q tests/exactly_once/test_several_instances.py
"""

import asyncio
import re
from collections import Counter
from dataclasses import dataclass

import pytest
import pytest_asyncio
from aiogram.fsm.storage.base import DefaultKeyBuilder, StorageKey
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import FSM_PREFIX
from db.models import Broadcast, Delivery, Member, Pledge, ProcessedUpdate, Tip
from db.services.joining import give_consent, join_household
from db.services.members import grant_role
from db.services.tip_sealing import TipKeys, key_text, new_key_pair
from db.services.tips import find_by_code
from db.session import make_engine, make_sessionmaker
from handlers.tips.submit import TipStep
from testkit.arrange import tree
from testkit.fake_telegram import FakeTelegram
from testkit.processes import SECRET, WEBHOOK_PATH, BotProcess, Updates, Webhook, bot_environment, free_port
from testkit.services import flushed_redis, redis_url

pytestmark = pytest.mark.asyncio(loop_scope="module")

TIP_SECRET = "a-lookup-secret-of-the-instances-test-0123456789"
RESIDENTS = [6001, 6002, 6003]  # members of H11's first three households
HEAD = 6100  # the hamlet head of H11
BOT_ID = 123456


@dataclass
class Deployment:
    """Two instances, the fake Bot API, the database and Redis they share."""

    first: BotProcess  # --role bot
    second: BotProcess  # --role all: also the scheduler and the delivery worker
    telegram: FakeTelegram
    session: AsyncSession
    redis: Redis
    places: "Places"
    tip_keys: TipKeys
    webhook: Webhook
    updates: Updates

    async def count(self, model, *where) -> int:
        await self.session.rollback()
        return await self.session.scalar(select(func.count()).select_from(model).where(*where))

    async def step(self, instance: BotProcess, update: dict, user_id: int) -> list[str]:
        """Deliver one update to one instance; the texts it sent to the user because of it."""
        before = len(self.telegram.texts(user_id))
        await self.webhook.deliver(instance, update)
        return self.telegram.texts(user_id)[before:]

    def key(self, user_id: int, part: str) -> str:
        keys = DefaultKeyBuilder(prefix=FSM_PREFIX, with_bot_id=True, with_destiny=True)
        return keys.build(StorageKey(bot_id=BOT_ID, chat_id=user_id, user_id=user_id), part)


@dataclass(frozen=True)
class Places:
    """What the tests need of the arranged tree (plain values: the session expires objects)."""

    join_code: str
    c1: int
    h11: int
    households: list[int]


async def arrange(session: AsyncSession) -> Places:
    places = await tree(session)
    for user_id, household in zip(RESIDENTS, places.households["H11"]):
        member = await give_consent(session, "telegram", str(user_id), None)
        await join_household(session, member, household.id)
    await grant_role(session, "telegram", str(HEAD), "hamlet_head", "H11")
    await session.commit()
    return Places(places.h11.join_code, places.c1.id, places.h11.id,
                  [household.id for household in places.households["H11"]])


@pytest.fixture(scope="module")
def database_url(databases) -> str:
    """The instances' PostgreSQL database, migrated, shared by the module's tests."""
    return databases.new("postgres")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def deployment(database_url, tmp_path_factory):
    redis = await flushed_redis()
    engine = make_engine(database_url)
    session = make_sessionmaker(engine)()
    places = await arrange(session)
    keys = new_key_pair()
    telegram = await FakeTelegram().start()
    env = bot_environment(
        database_url, telegram.base, BINHYEN_REDIS_URL=redis_url(),
        BINHYEN_WEBHOOK_URL=f"https://bot.example.vn{WEBHOOK_PATH}", BINHYEN_WEBHOOK_SECRET=SECRET,
        BINHYEN_TIP_PUBLIC_KEY=key_text(keys.public_key), BINHYEN_TIP_SECRET=TIP_SECRET,
        BINHYEN_TELEGRAM_RATE="100")
    folder = tmp_path_factory.mktemp("instances")
    first = BotProcess("first", "bot", env, folder, free_port()).start()
    second = BotProcess("second", "all", env, folder, free_port()).start()
    webhook = Webhook()
    try:
        await asyncio.gather(first.ready(), second.ready())
        yield Deployment(first, second, telegram, session, redis, places,
                         TipKeys(keys.public_key, TIP_SECRET.encode()), webhook, Updates())
    finally:
        await first.stop()
        await second.stop()
        await webhook.close()
        await telegram.stop()
        await session.close()
        await engine.dispose()
        await redis.flushdb()
        await redis.aclose()


async def test_both_instances_registered_the_webhook_and_answer_health_checks(deployment):
    registered = [params for method, params in deployment.telegram.calls if method == "setWebhook"]
    assert len(registered) == 2
    assert {params["url"] for params in registered} == {f"https://bot.example.vn{WEBHOOK_PATH}"}
    for instance in (deployment.first, deployment.second):
        async with deployment.webhook.client.get(f"{instance.url}/healthz") as response:
            assert response.status == 200
        async with deployment.webhook.client.post(f"{instance.url}{WEBHOOK_PATH}", json={}) as response:
            assert response.status == 401  # without the secret


async def test_the_same_update_sent_to_both_takes_effect_once(deployment):
    d, resident = deployment, RESIDENTS[0]
    await d.step(d.first, d.updates.message(resident, "/pledge"), resident)
    confirm = d.updates.press(resident, "pledge:confirm")
    first = await d.step(d.first, confirm, resident)
    before = len(d.telegram.texts(resident))
    assert await d.webhook.post(d.second, confirm) == 200  # Telegram redelivers to the other one
    assert len(first) == 1 and first[0].startswith("✅") and d.telegram.texts(resident)[before:] == []
    assert await d.count(Pledge) == 1
    assert await d.count(ProcessedUpdate, ProcessedUpdate.update_id == str(confirm["update_id"])) == 1
    assert await d.redis.get(f"binhyen:update:telegram:{BOT_ID}:{confirm['update_id']}") == b"done"


async def test_the_same_update_arriving_at_both_at_once_takes_effect_once(deployment):
    d, resident = deployment, RESIDENTS[1]
    await d.step(d.second, d.updates.message(resident, "/pledge"), resident)
    confirm = d.updates.press(resident, "pledge:confirm")
    before = len(d.telegram.texts(resident))
    statuses = await asyncio.gather(d.webhook.deliver(d.first, confirm), d.webhook.deliver(d.second, confirm))
    replies = d.telegram.texts(resident)[before:]
    assert [text[:1] for text in replies] == ["✅"]
    assert await d.count(Pledge) == 2  # this household's and the first test's
    assert statuses == [[200], [200]]  # the second waited for the user's lock, then saw it done


async def test_a_conversation_alternating_between_instances_moves_on_step_by_step(deployment):
    """Join from the QR link, consent, find the household, confirm the pledge: each step on the
    other instance than the one before, each answered as the next step."""
    d, user = deployment, 6500
    first, second = d.first, d.second
    u = d.updates
    [notice] = await d.step(first, u.message(user, f"/start j_{d.places.join_code}"), user)
    assert "Bình Yên sẽ lưu" in notice
    thanks, household = await d.step(second, u.press(user, "consent:yes"), user)
    assert "Cảm ơn bạn đã đồng ý" in thanks and "Gõ tên chủ hộ" in household
    [found] = await d.step(first, u.message(user, "pham thi hong"), user)
    assert "Chọn hộ của bạn" in found
    target = d.places.households[3]  # nobody's household yet
    [joined] = await d.step(second, u.press(user, f"hh:pick:{target}"), user)
    assert joined.startswith("✅ Bạn đã vào hộ") and "Phạm Thị Hồng" in joined
    [shown] = await d.step(first, u.message(user, "/pledge"), user)
    assert "chưa xác nhận cam kết" in shown
    [confirmed] = await d.step(second, u.press(user, "pledge:confirm"), user)
    assert confirmed.startswith("✅ Cảm ơn bạn!")
    [again] = await d.step(first, u.press(user, "pledge:confirm"), user)  # re-pressed elsewhere
    assert again.startswith("Hộ đã xác nhận trước đó rồi.")
    member = await d.count(Member, Member.user_id == str(user), Member.household_id == target)
    assert member == 1
    pledged = await d.count(Pledge, Pledge.household_id == target)
    assert pledged == 1
    texts = "\n".join(d.telegram.texts(user))
    assert "hết" not in texts and "60 phút" not in texts and "thử lại" not in texts


async def test_interleaved_updates_of_one_user_are_each_answered_once(deployment):
    """A user's updates arriving at both instances at the same moment: one at a time, each once."""
    d, user = deployment, 6600
    commands = ["/help", "/privacy", "/learn", "/start", "/help", "/language"]
    updates = [d.updates.message(user, command) for command in commands]
    instances = [d.first, d.second] * 3
    before = len(d.telegram.texts(user))
    await asyncio.gather(*[d.webhook.deliver(instance, update)
                           for instance, update in zip(instances, updates)])
    replies = d.telegram.texts(user)[before:]
    assert len(replies) == len(commands)
    assert not any("thử lại" in text for text in replies)
    ids = [str(update["update_id"]) for update in updates]
    assert await d.count(ProcessedUpdate, ProcessedUpdate.update_id.in_(ids)) == len(commands)


async def test_a_tip_sent_across_both_instances_is_stored_once_with_one_receipt(deployment):
    d, tipster, u = deployment, 6700, deployment.updates
    steps = u.tip_until_summary(tipster, d.places.c1, d.places.h11, "Cổng chợ Bình Long",
                                "Xe máy bị bẻ khóa trước cổng chợ lúc chiều, hai thanh niên đi xe không biển số.")
    expected = ["Bước 1/6", "Bước 2/6", "Bước 2/6", "Bước 3/6", "Bước 4/6", "Bước 5/6", "Bước 6/6",
                "Xem lại tin báo"]
    for number, (update, step) in enumerate(zip(steps, expected)):
        replies = await d.step((d.first, d.second)[number % 2], update, tipster)
        assert replies and step in replies[-1], (step, replies)
    send = u.press(tipster, TipStep(action="send").pack())
    receipts = await d.step(d.first, send, tipster)
    receipts += await d.step(d.second, send, tipster)  # redelivered to the other instance
    assert len(receipts) == 1 and "Mã biên nhận" in receipts[0]
    assert await d.count(Tip) == 1
    code = re.search(r"(\d{4} \d{4} \d{4} \d{4})", receipts[0]).group(1).replace(" ", "")
    await d.session.rollback()
    assert await find_by_code(d.session, d.tip_keys, code) is not None


async def test_a_broadcast_written_on_one_instance_is_delivered_once_by_the_scheduler_instance(deployment):
    d, u = deployment, deployment.updates
    [ask] = await d.step(d.first, u.message(HEAD, "/broadcast"), HEAD)
    assert "Ấp Bình Long" in ask
    await d.step(d.second, u.message(HEAD, "Tối nay 19:00 họp tổ nhân dân tự quản ở nhà văn hóa."), HEAD)
    [preview] = await d.step(d.first, u.press(HEAD, "bc:aud:all"), HEAD)
    assert "Gửi tới" in preview
    now = u.press(HEAD, "bc:now")
    [sending] = await d.step(d.second, now, HEAD)
    assert sending.startswith("📤 Đang gửi thông báo")
    assert await d.step(d.first, now, HEAD) == []  # a redelivery creates no second broadcast
    assert await d.count(Broadcast) == 1
    # The worker of the --role all instance sends it; wait until every row is final.
    while await d.count(Delivery, Delivery.status.in_(("pending", "sending"))):
        d.second.check_alive()
        await asyncio.sleep(0.1)
    members = [int(user_id) for user_id in await d.session.scalars(
        select(Delivery.chat_id).where(Delivery.source == "broadcast:1"))]
    assert set(RESIDENTS) <= set(members)
    got = Counter(chat for chat in members
                  for text in d.telegram.texts(chat) if "họp tổ nhân dân tự quản" in text)
    assert set(got.values()) == {1} and set(got) == set(members)


async def test_an_update_caught_in_a_killed_instance_is_refused_then_retried(deployment):
    """The first instance dies (SIGKILL) in the middle of an update. Its lock on the user runs out
    (here the test removes it, as its expiry would), and Telegram's redelivery to the other
    instance is answered with an error while the update's "busy" key lives (UpdateInFlight);
    once that runs out too, the retry is handled: the pledge is confirmed once."""
    d, resident = deployment, RESIDENTS[2]
    pledges = await d.count(Pledge)
    await d.step(d.first, d.updates.message(resident, "/pledge"), resident)
    confirm = d.updates.press(resident, "pledge:confirm")
    caught = d.telegram.hold(lambda method, params: method == "answerCallbackQuery"
                             and params.get("callback_query_id") == confirm["callback_query"]["id"])
    posting = asyncio.create_task(d.webhook.post(d.first, confirm))
    await caught.arrived.wait()  # the first instance is in the middle of the update
    d.first.kill()
    with pytest.raises(Exception):
        await posting  # Telegram sees no answer
    busy = f"binhyen:update:telegram:{BOT_ID}:{confirm['update_id']}"
    assert await d.redis.get(busy) == b"busy"
    await d.redis.delete(d.key(resident, "lock"))
    before = len(d.telegram.texts(resident))
    assert await d.webhook.post(d.second, confirm) >= 500  # in flight elsewhere: retry later
    assert d.telegram.texts(resident)[before:] == [] and await d.count(Pledge) == pledges
    while await d.redis.exists(busy):  # the dead instance no longer renews it
        await asyncio.sleep(0.2)
    statuses = await d.webhook.deliver(d.second, confirm)
    assert statuses == [200]
    replies = d.telegram.texts(resident)[before:]
    assert [text[:1] for text in replies] == ["✅"] and await d.count(Pledge) == pledges + 1
    # The first instance comes back and takes its share again.
    d.first.start()
    await d.first.ready()
    [again] = await d.step(d.first, d.updates.press(resident, "pledge:confirm"), resident)
    assert again.startswith("Hộ đã xác nhận trước đó rồi.")
