"""The delivery worker: one message per recipient in their language, 429 and 403 handling,
retries with backoff, crash-resume, quiet hours, and the sender's final count."""

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from db.models import Broadcast, Delivery, Member
from db.services import deliveries
from db.services.broadcasts import count_audience, create_broadcast, finish_broadcasts
from db.services.schedule_times import QuietHours
from delivery.sender import Channel, Failed, RetryAfter, Unreachable
from delivery.worker import DeliveryWorker
from testkit.delivery_fakes import TZ, FakeClock, FakeSender, local, translator, world  # noqa: F401  (world, translator: fixtures)

QUIET = QuietHours.parse("21:00-06:00")


@pytest.fixture
def clock():
    return FakeClock(local(2026, 8, 10, 9, 0))


def make_worker(engine, sender, clock, translator, rate=25.0, **options):
    async def after(session, now):
        await finish_broadcasts(session, now, TZ, translator)

    return DeliveryWorker(engine, [Channel("telegram", sender, rate)], clock=clock, quiet=QUIET,
                          tz=TZ, after_recording=after, **options)


async def broadcast(session, world, clock, translator, sender="201", area="H11", audience="all",
                    urgent=False, text="Họp tổ tự quản lúc 19:00 tại nhà văn hóa ấp.") -> Broadcast:
    item = await create_broadcast(
        session, world.members[sender], world.areas[area], audience, text, None, urgent,
        clock.now(), TZ, QUIET, translator)
    await session.commit()
    return item


async def status_of(session, model, item_id):
    await session.rollback()
    return await session.scalar(select(model.status).where(model.id == item_id))


async def rows(session, *where) -> list[Delivery]:
    await session.rollback()
    return list(await session.scalars(select(Delivery).where(*where).order_by(Delivery.id)))


async def test_each_recipient_gets_one_message_in_their_language(engine, session, world, clock, translator):
    item = await broadcast(session, world, clock, translator)
    assert item.status == "sending" and item.recipients == 3  # the three households of H11
    sender = FakeSender(clock)
    await make_worker(engine, sender, clock, translator).drain()
    texts = {call.chat_id: call.text for call in sender.calls}
    assert sorted(sender.chats()) == ["101", "102", "103", "201"]  # 201: the final count
    assert texts["101"].startswith("📢 <b>Thông báo — Ấp Bình Long</b>")
    assert texts["102"].startswith("📢 <b>Announcement — Ấp Bình Long</b>")
    assert "Họp tổ tự quản lúc 19:00" in texts["102"]
    assert "3 người đã nhận, 0 không liên lạc được, 0 lỗi" in texts["201"]
    assert await status_of(session, Broadcast, item.id) == "done"


async def test_the_sender_is_not_a_recipient_and_text_is_quoted(engine, session, world, clock, translator):
    await broadcast(session, world, clock, translator, sender="301", area="C1",
                    text="<b>chú ý</b> & hẹn gặp")
    texts = {row.chat_id: row.text for row in await rows(session)}
    assert set(texts) == {"101", "102", "103", "104", "201"}  # households of C1 and its head
    assert "&lt;b&gt;chú ý&lt;/b&gt; &amp; hẹn gặp" in texts["101"]


async def test_a_429_pauses_the_channel_and_retries_the_same_row(engine, session, world, clock, translator):
    await broadcast(session, world, clock, translator)
    sender = FakeSender(clock, {"101": [RetryAfter(7)]})
    await make_worker(engine, sender, clock, translator).drain()
    [first, second] = [call for call in sender.calls if call.chat_id == "101"]
    assert second.at >= first.at + 7
    # Once the 429 was answered, nothing else went out on the channel until the pause ended.
    assert all(not first.answered_at < call.at < first.at + 7 for call in sender.calls)
    [row] = await rows(session, Delivery.chat_id == "101")
    assert row.status == "sent" and row.attempts == 1  # a 429 is not the message's failure
    assert len(await rows(session, Delivery.source == "broadcast:1")) == 3


async def test_a_403_marks_the_member_unreachable_and_later_audiences_skip_them(
        engine, session, world, clock, translator):
    await broadcast(session, world, clock, translator)
    sender = FakeSender(clock, {"102": [Unreachable("Forbidden: bot was blocked by the user")]})
    await make_worker(engine, sender, clock, translator).drain()
    [row] = await rows(session, Delivery.chat_id == "102")
    assert row.status == "unreachable" and "blocked" in row.last_error
    assert await session.scalar(select(Member.unreachable_at).where(Member.user_id == "102"))
    assert await count_audience(session, world.members["201"], world.areas["H11"], "all",
                                clock.now(), TZ) == 2
    second = await broadcast(session, world, clock, translator, text="Lần hai")
    assert second.recipients == 2
    assert "1 không liên lạc được" in [c.text for c in sender.calls if c.chat_id == "201"][0]


async def test_other_errors_retry_with_backoff_then_fail_with_the_reason(
        engine, session, world, clock, translator):
    await broadcast(session, world, clock, translator)
    sender = FakeSender(clock, {"103": [Failed("Internal Server Error")] * 10})
    await make_worker(engine, sender, clock, translator, max_attempts=4, backoff=5).drain()
    times = [call.at for call in sender.calls if call.chat_id == "103"]
    assert len(times) == 4
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    assert gaps[0] >= 5 and gaps[1] >= 10 and gaps[2] >= 20
    [row] = await rows(session, Delivery.chat_id == "103")
    assert (row.status, row.attempts, row.last_error) == ("failed", 4, "Internal Server Error")
    report = [c.text for c in sender.calls if c.chat_id == "201"][0]
    assert "2 người đã nhận, 0 không liên lạc được, 1 lỗi" in report


async def test_a_request_that_cannot_succeed_fails_at_once(engine, session, world, clock, translator):
    await broadcast(session, world, clock, translator)
    sender = FakeSender(clock, {"103": [Failed("Bad Request: message is too long", retry=False)]})
    await make_worker(engine, sender, clock, translator).drain()
    assert sender.chats().count("103") == 1
    [row] = await rows(session, Delivery.chat_id == "103")
    assert row.status == "failed" and row.attempts == 1


async def test_after_a_crash_sent_rows_are_never_resent_and_rows_left_sending_are_sent_once(
        engine, session, world, clock, translator):
    await broadcast(session, world, clock, translator)
    # A worker died: 101 was recorded sent, 102 was in flight (its lease ran out), 103 pending.
    old = clock.now() - timedelta(minutes=5)
    await session.execute(update(Delivery).where(Delivery.chat_id == "101").values(
        status="sent", sent_at=old, attempts=1))
    await session.execute(update(Delivery).where(Delivery.chat_id == "102").values(
        status="sending", claimed_by="dead-worker", claimed_at=old))
    await session.commit()
    sender = FakeSender(clock)
    await make_worker(engine, sender, clock, translator).drain()
    assert sorted(sender.chats()) == ["102", "103", "201"]
    assert {row.status for row in await rows(session)} == {"sent"}


async def test_rows_held_by_a_live_worker_wait_for_its_lease(engine, session, world, clock, translator):
    await broadcast(session, world, clock, translator)
    await session.execute(update(Delivery).where(Delivery.chat_id == "102").values(
        status="sending", claimed_by="live-worker", claimed_at=clock.now()))
    await session.commit()
    start = clock.monotonic()
    sender = FakeSender(clock)
    await make_worker(engine, sender, clock, translator, lease=30).drain()
    [late] = [call for call in sender.calls if call.chat_id == "102"]
    early = [call for call in sender.calls if call.chat_id in ("101", "103")]
    assert late.at >= start + 30 and all(call.at < start + 30 for call in early)


async def test_the_rate_limit_spaces_messages(engine, session, world, clock, translator):
    await broadcast(session, world, clock, translator, sender="301", area="C1")
    sender = FakeSender(clock)
    await make_worker(engine, sender, clock, translator, rate=2.0).drain()
    times = sorted(call.at for call in sender.calls)
    assert len(times) == 6
    # Never more than rate + 1 = 3 sends within one second, and 2 per second over the run.
    assert all(times[i + 3] - times[i] >= 1.0 - 1e-9 for i in range(len(times) - 3))
    assert times[-1] - times[0] >= 2.0


async def test_quiet_hours_hold_back_all_but_urgent_messages(engine, session, world, clock, translator):
    clock.set(local(2026, 8, 10, 22, 0))
    late = await broadcast(session, world, clock, translator)
    assert late.status == "scheduled" and late.send_at == local(2026, 8, 11, 6, 0)
    assert await rows(session) == []
    urgent = await broadcast(session, world, clock, translator, sender="301", area="H11",
                             urgent=True, text="Cảnh báo lừa đảo qua điện thoại")
    assert urgent.status == "sending" and urgent.send_at == clock.now()
    # A non-urgent delivery left over from the evening waits for the morning.
    await session.execute(update(Delivery).where(Delivery.chat_id == "103").values(urgent=False))
    await session.commit()
    sender = FakeSender(clock)
    worker = make_worker(engine, sender, clock, translator)
    clock.at(3600, worker.stop)
    await worker.run()
    # 201 is the head of H11; the sender hears nothing until the held-back message goes too.
    assert sorted(sender.chats()) == ["101", "102", "201"]
    [waiting] = await rows(session, Delivery.chat_id == "103")
    assert waiting.status == "pending"


async def test_a_head_cannot_broadcast_outside_the_hamlet_nor_mark_urgent(session, world, clock, translator):
    from db.text import Problem

    with pytest.raises(Problem, match="ngoài phạm vi"):
        await broadcast(session, world, clock, translator, sender="201", area="H12")
    with pytest.raises(Problem, match="ngoài phạm vi"):
        await broadcast(session, world, clock, translator, sender="301", area="H21")
    with pytest.raises(Problem, match="khẩn"):
        await broadcast(session, world, clock, translator, sender="201", urgent=True)
    await session.rollback()
    assert await rows(session) == []


async def test_one_message_a_second_per_chat_without_holding_back_other_chats(
        engine, session, world, clock):
    from db.services.deliveries import enqueue_one

    # Two messages to 101 queued together, with messages to other chats between and after them.
    for number, chat_id in enumerate(("101", "102", "101", "103"), start=1):
        await enqueue_one(session, f"test:{number}", world.members[chat_id], f"Tin {number}", clock.now())
    await session.commit()
    sender = FakeSender(clock)
    worker = DeliveryWorker(engine, [Channel("telegram", sender, 25.0)], clock=clock, tz=TZ)
    await worker.drain()
    assert sorted(sender.chats()) == ["101", "101", "102", "103"]
    start = sender.calls[0].at
    first, second = [call.at for call in sender.calls if call.chat_id == "101"]
    assert second - first >= 1.0  # at most one message a second to one chat, on the worker's clock
    # The rows to other chats went out at the channel's pace, not after 101's second message.
    others = [call for call in sender.calls if call.chat_id in ("102", "103")]
    assert all(call.at - start < 0.5 for call in others)
    assert sender.chats().index("103") < len(sender.calls) - 1


async def test_two_workers_share_the_rows_on_postgresql_each_sent_once(engine, session, backend, clock, translator):
    import asyncio

    from db.services.deliveries import claim
    from db.session import make_sessionmaker
    from testkit.arrange import hamlet_of_members

    if backend != "postgres":
        pytest.skip("FOR UPDATE SKIP LOCKED is PostgreSQL's; SQLite has one writer")
    hamlet = await hamlet_of_members(session, 60, 7000)
    await create_broadcast(session, None, hamlet, "all", "Họp", None, True, clock.now(), TZ, None,
                           translator)
    await session.commit()
    # A worker holding rows in an open claim does not block another's claim, nor share them.
    sessions = make_sessionmaker(engine)
    async with sessions() as first, first.begin():
        held = await claim(first, "telegram", 5, clock.now(), "first", urgent_only=False)
        async with sessions() as second, second.begin():
            others = await asyncio.wait_for(
                claim(second, "telegram", 100, clock.now(), "second", urgent_only=False), 10)
        assert len(held) == 5 and len(others) == 55
        assert not {row.id for row in held} & {row.id for row in others}
        await first.rollback()
    await session.execute(update(Delivery).values(status="pending", claimed_by=None, claimed_at=None))
    await session.commit()
    # Two workers drain the broadcast together.
    senders = [FakeSender(clock), FakeSender(clock)]
    workers = [DeliveryWorker(engine, [Channel("telegram", sender, 10.0)], clock=clock, tz=TZ)
               for sender in senders]
    await asyncio.gather(*(worker.drain() for worker in workers))
    chats = senders[0].chats() + senders[1].chats()
    assert sorted(chats) == sorted(str(7000 + n) for n in range(60))  # each exactly once
    assert senders[0].calls and senders[1].calls  # both took part
    assert {row.status for row in await rows(session)} == {"sent"}


async def test_rows_claimed_when_the_answer_to_the_claim_was_lost_are_sent_after_their_lease(
        engine, session, world, clock, translator, monkeypatch):
    """The database committed a claim, then the connection broke before the worker heard back
    (an outage that starts during the COMMIT): the worker does not know it holds those rows.
    It must not keep renewing their lease (they would stay 'sending' for ever): they run out
    and are sent."""
    item = await broadcast(session, world, clock, translator)
    sender = FakeSender(clock)
    worker = make_worker(engine, sender, clock, translator)
    claim, lost = deliveries.claim, []

    async def claim_but_lose_the_answer(claiming, *args, **kwargs):
        rows = await claim(claiming, *args, **kwargs)
        if rows and not lost:
            lost.extend(rows)
            await claiming.commit()  # the database commits the claim…
            raise ConnectionResetError("…and the connection breaks before the answer")
        return rows

    monkeypatch.setattr(deliveries, "claim", claim_but_lose_the_answer)
    await asyncio.wait_for(worker.drain(), 60)
    assert lost and sorted(sender.chats()) == ["101", "102", "103", "201"]
    assert all(row.status == "sent" for row in await rows(session))
    assert await status_of(session, Broadcast, item.id) == "done"
