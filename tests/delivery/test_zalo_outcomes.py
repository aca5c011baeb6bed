"""Zalo's answers as its error-code table documents them (403 "internal server error", 429
"quota exceeded", 400/404), through the delivery worker: a passing fault cuts nobody off, a
used-up quota pauses Zalo alone with growing waits and says so, and no single answer marks a
member unreachable."""

import asyncio
import logging
from datetime import timedelta

import pytest
from aiohttp import ClientSession
from pydantic import SecretStr
from sqlalchemy import select

from bot.cli.main import main
from bot.webhook import web_application
from db.models import Delivery, Member
from db.services.deliveries import QUOTA_WAIT, enqueue_one, quota_pauses
from delivery.sender import SENT, Channel, Failed, QuotaExceeded, Refused
from delivery.senders import ZaloSender
from delivery.worker import QUOTA_FIRST_WAIT, QUOTA_LONGEST_WAIT, DeliveryWorker
from delivery.zalo_api import ZaloClient
from testkit.delivery_fakes import TZ, FakeClock, FakeSender, local
from testkit.fake_zalo import ZALO_TOKEN, listen_locally

LAN = "e4ea2cd5189df1c3a88c"


@pytest.fixture
def clock():
    return FakeClock(local(2026, 8, 10, 9, 0))


async def zalo_members(session, count: int) -> list[Member]:
    """Members on Zalo ("z0", "z1", …), committed."""
    members = [Member(channel="zalo", user_id=f"z{number}", role="resident") for number in range(count)]
    session.add_all(members)
    await session.commit()
    return members


async def queue(session, clock, source: str, members: list[Member], text: str = "Họp tổ lúc 19:00.") -> None:
    for member in members:
        await enqueue_one(session, source, member, text, clock.now())
    await session.commit()


async def rows(session, *where) -> list[Delivery]:
    await session.rollback()
    return list(await session.scalars(select(Delivery).where(*where).order_by(Delivery.id)))


class QuotaSender(FakeSender):
    """Zalo with its quota used up until `resets` seconds after the start (fake time); `refused`
    is set once it has refused `watch` messages."""

    def __init__(self, clock, resets: float, watch: int = 0) -> None:
        super().__init__(clock)
        self.resets = clock.monotonic() + resets
        self.refusals = 0
        self.watch = watch
        self.refused = asyncio.Event()

    async def send(self, chat_id, text, pace=None):
        await super().send(chat_id, text, pace)
        if self.clock.monotonic() >= self.resets:
            return SENT
        self.refusals += 1
        self.refused_at = self.clock.now()
        if self.refusals == self.watch:
            self.refused.set()
        return QuotaExceeded("Quota exceeded")


class CountingSender(FakeSender):
    """Telegram; `done` is set once it has sent `expected` messages."""

    def __init__(self, clock, expected: int) -> None:
        super().__init__(clock)
        self.expected = expected
        self.done = asyncio.Event()

    async def send(self, chat_id, text, pace=None):
        outcome = await super().send(chat_id, text, pace)
        if len(self.calls) >= self.expected:
            self.done.set()
        return outcome


async def test_a_used_up_quota_pauses_zalo_longer_each_time_and_warns_once(engine, session, clock, caplog):
    members = await zalo_members(session, 3)
    await queue(session, clock, "broadcast:1", members)
    start = clock.monotonic()
    zalo = QuotaSender(clock, resets=400)
    worker = DeliveryWorker(engine, [Channel("zalo", zalo, 10.0)], clock=clock, tz=TZ)
    caplog.set_level(logging.INFO)
    await worker.drain()

    # Refused at once, then tried after 1, 2 and 4 minutes; the fourth try went through.
    tries = [call.at - start for call in zalo.calls]
    refused = [at for at in tries if at < 400]
    assert len(refused) == 3, tries
    gaps = [later - earlier for earlier, later in zip(refused, refused[1:])]
    assert gaps[0] >= QUOTA_FIRST_WAIT and gaps[1] >= 2 * QUOTA_FIRST_WAIT
    assert min(at for at in tries if at >= 400) >= refused[-1] + 4 * QUOTA_FIRST_WAIT
    # Nothing else went out during the pauses, and each message went out once at the end.
    assert sorted(call.chat_id for call in zalo.calls if call.at - start >= 400) == ["z0", "z1", "z2"]
    assert all(row.status == "sent" and row.attempts == 1 for row in await rows(session))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len([text for text in warnings if "quota exceeded" in text]) == 1, warnings
    assert "zalo" not in worker.quota  # the first message through ended the pause


async def test_telegram_goes_on_while_the_zalo_quota_pauses_zalo_and_the_pause_is_recorded(
        engine, session, clock):
    zalo_people = await zalo_members(session, 3)
    telegram_people = [Member(channel="telegram", user_id=str(900 + n), role="resident") for n in range(40)]
    session.add_all(telegram_people)
    await session.commit()
    await queue(session, clock, "broadcast:1", zalo_people + telegram_people)
    zalo = QuotaSender(clock, resets=float("inf"), watch=2)  # used up for good
    telegram = CountingSender(clock, expected=40)
    worker = DeliveryWorker(engine, [Channel("telegram", telegram, 25.0), Channel("zalo", zalo, 10.0)],
                            clock=clock, tz=TZ)
    running = asyncio.create_task(worker.run())
    try:
        await asyncio.wait_for(asyncio.gather(zalo.refused.wait(), telegram.done.wait()), 60)
    finally:
        worker.stop()
        await asyncio.wait_for(running, 60)
    # Every Telegram message went out while Zalo, refused twice, sent nothing.
    sent = await rows(session, Delivery.status == "sent")
    assert {row.channel for row in sent} == {"telegram"} and len(sent) == 40
    assert worker.pacers["telegram"].paused_until == 0
    # The rows Zalo refused wait for the end of the pause, marked for the operator.
    waiting = await rows(session, Delivery.last_error == QUOTA_WAIT)
    assert waiting and all(row.status == "pending" and row.attempts == 0 for row in waiting), [
        (row.chat_id, row.status, row.attempts, row.claimed_by) for row in waiting]
    paused = await quota_pauses(session, zalo.refused_at)  # (the fake clock ran on meanwhile)
    assert set(paused) == {"zalo"} and paused["zalo"] == max(row.next_attempt_at for row in waiting)


async def test_the_quota_wait_stops_growing_at_an_hour(engine, session, clock):
    [member] = await zalo_members(session, 1)
    await queue(session, clock, "reminder:1", [member])
    start = clock.monotonic()
    zalo = QuotaSender(clock, resets=6 * 3600)
    worker = DeliveryWorker(engine, [Channel("zalo", zalo, 10.0)], clock=clock, tz=TZ)
    await worker.drain()
    tries = [call.at - start for call in zalo.calls]
    gaps = [later - earlier for earlier, later in zip(tries, tries[1:])]
    assert max(gaps) < QUOTA_LONGEST_WAIT + 60 and gaps[-2] >= QUOTA_LONGEST_WAIT
    assert (await rows(session))[0].status == "sent"


async def test_healthz_and_campaign_show_say_a_channel_waits_for_its_quota(
        app, engine, session, clock, monkeypatch, capsys, database_url):
    [member] = await zalo_members(session, 1)
    now = clock.now()
    real_now = __import__("datetime").datetime.now(TZ)
    session.add(Delivery(source="broadcast:1", member_id=member.id, channel="zalo", chat_id="z0",
                         text="…", status="pending", attempts=0, last_error=QUOTA_WAIT,
                         next_attempt_at=real_now + timedelta(minutes=30), created_at=now))
    await session.commit()
    runner, port = await listen_locally(web_application(app))
    try:
        async with ClientSession() as client, client.get(f"http://127.0.0.1:{port}/healthz") as answer:
            assert answer.status == 200  # the instance is fine: only Zalo waits
            [ok, line] = (await answer.text()).splitlines()
    finally:
        await runner.cleanup()
    assert ok == "ok" and line.startswith("zalo: quota exceeded (429), sending paused until ")

    monkeypatch.setenv("BINHYEN_DATABASE_URL", database_url)
    await asyncio.to_thread(main, ["campaign", "show"])
    out = capsys.readouterr().out
    assert "Kênh zalo tạm dừng gửi đến" in out and "429" in out


async def test_no_single_refusal_marks_a_member_unreachable_three_in_a_row_do(engine, session, clock):
    lan, thu, ba = await zalo_members(session, 3)
    script = {"z0": [Refused("400: Bad Request")] * 3, "z1": [Refused("404: Not found")] * 2}
    sender = FakeSender(clock, script)
    worker = DeliveryWorker(engine, [Channel("zalo", sender, 10.0)], clock=clock, tz=TZ)
    for number in range(1, 4):
        await queue(session, clock, f"broadcast:{number}", [lan, thu, ba])
        await worker.drain()
        await session.rollback()
        unreachable = set(await session.scalars(
            select(Member.user_id).where(Member.unreachable_at.is_not(None))))
        # Two refusals are not enough; the third in a row, while others receive, is.
        assert unreachable == (set() if number < 3 else {"z0"})
    assert sender.chats().count("z0") == 3  # refused for good: no retry
    statuses = {(row.chat_id, row.source): row.status for row in await rows(session)}
    assert statuses[("z1", "broadcast:3")] == "sent" and statuses[("z0", "broadcast:3")] == "failed"


async def test_refusals_when_nobody_receives_are_the_bots_fault_not_the_members(engine, session, clock):
    members = await zalo_members(session, 2)
    sender = FakeSender(clock, {member.user_id: [Refused("404: Not found")] * 5 for member in members})
    worker = DeliveryWorker(engine, [Channel("zalo", sender, 10.0)], clock=clock, tz=TZ)
    for number in range(1, 5):
        await queue(session, clock, f"broadcast:{number}", members)
        await worker.drain()
    await session.rollback()
    assert await session.scalar(select(Member.id).where(Member.unreachable_at.is_not(None))) is None


async def test_the_zalo_sender_reads_the_documented_codes(zalo_api):
    client = ZaloClient(SecretStr(ZALO_TOKEN), zalo_api.base)
    sender = ZaloSender(client)
    try:
        outcomes = {}
        for code, description in ((403, "Internal server error"), (429, "Quota exceeded"),
                                  (400, "Bad request"), (404, "Not found"), (502, "Bad Gateway")):
            zalo_api.fail(LAN, code, description, times=1)
            outcomes[code] = await sender.send(LAN, "Xin chào")
        assert await sender.send(LAN, "Xin chào") == SENT
    finally:
        await client.close()
    assert outcomes[403] == Failed("Internal server error") and outcomes[502] == Failed("Bad Gateway")
    assert outcomes[429] == QuotaExceeded("Quota exceeded")
    assert outcomes[400] == Refused("400: Bad request") and outcomes[404] == Refused("404: Not found")
