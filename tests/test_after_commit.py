"""What a user is told, and where their conversation stands, follow the commit: a failed commit
confirms nothing and leaves the conversation where it was; a crash between the commit and a tip's
receipt does not lose the receipt."""

import asyncio
import re

import pytest
from aiogram.fsm.storage.base import StorageKey
from aiogram.types import CallbackQuery, Update
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from db.models import Broadcast, Delivery, Member, Pledge, ProcessedUpdate, Tip
from db.services.joining import give_consent, join_household
from db.services.tips import find_by_code
from handlers.joining import Joining
from handlers.tips import TipStep
from tests.arrange import tree
from tests.delivery_fakes import FakeClock, local, world  # noqa: F401  (world: a fixture)
from tests.fakes import count, fetch
from tests.test_tips import file_tip, officers_key, tip_settings  # noqa: F401  (a fixture)
from tests.test_tips import tree as tip_tree  # noqa: F401  (a fixture)

APOLOGY = "thử lại"


@pytest.fixture
def failing_commit(engine):
    """`arm()` makes the next COMMIT on the bot's database fail, as when the database goes
    away at that moment; nothing of that transaction is stored."""
    armed = {"on": False}

    def commit(connection) -> None:
        if armed["on"]:
            armed["on"] = False
            raise OperationalError("COMMIT", {}, ConnectionResetError("the database went away"))

    event.listen(engine.sync_engine, "commit", commit)

    class Switch:
        def arm(self) -> None:
            armed["on"] = True

    yield Switch()
    event.remove(engine.sync_engine, "commit", commit)


async def state_of(app, user_id: int) -> str | None:
    key = StorageKey(bot_id=123456, chat_id=user_id, user_id=user_id)
    return await app.dispatcher.storage.get_state(key)


async def test_a_failed_commit_leaves_the_conversation_where_it_was(app, chat, session, failing_commit):
    places = await tree(session)
    await chat.send(f"/start j_{places.h11.join_code}")
    assert await state_of(app, 1001) == Joining.consent.state
    failing_commit.arm()
    replies = await chat.press("consent:yes")
    assert len(replies) == 1 and APOLOGY in replies[0]  # neither "thank you" nor the next step
    assert await count(session, Member) == 0
    assert await state_of(app, 1001) == Joining.consent.state
    replies = await chat.press("consent:yes")  # the retry is the same step, and now it works
    assert "Cảm ơn bạn đã đồng ý" in replies[0] and "Ấp Bình Long" in replies[1]
    assert await count(session, Member) == 1
    assert await state_of(app, 1001) == Joining.household.state


async def test_a_failed_pledge_commit_is_not_confirmed_and_the_retry_is(chat, session, failing_commit):
    places = await tree(session)
    member = await give_consent(session, "telegram", "1001", None)
    await join_household(session, member, places.households["H11"][0].id)
    await session.commit()
    await chat.send("/pledge")
    failing_commit.arm()
    [reply] = await chat.press("pledge:confirm")
    assert APOLOGY in reply and "✅" not in reply
    assert await count(session, Pledge) == 0
    [reply] = await chat.press("pledge:confirm")
    assert reply.startswith("✅") and await count(session, Pledge) == 1


@pytest.fixture
def clock(app):
    clock = FakeClock(local(2026, 8, 10, 9, 0))
    app.dispatcher["clock"] = clock
    return clock


@pytest.mark.parametrize("when", ["bc:now", "bc:at:evening"])
async def test_a_broadcast_is_announced_only_once_stored(chat, session, world, clock, failing_commit, when):
    head = 201
    await chat.send("/broadcast", user_id=head)
    await chat.send("Họp tổ nhân dân tự quản lúc 19:00.", user_id=head)
    await chat.press("bc:aud:all", user_id=head)
    failing_commit.arm()
    [reply] = await chat.press(when, user_id=head)
    assert APOLOGY in reply and "#" not in reply
    assert await count(session, Broadcast) == 0 and await count(session, Delivery) == 0
    [reply] = await chat.press(when, user_id=head)  # the preview's buttons still work
    assert "#" in reply and await count(session, Broadcast) == 1


class TestTipReceipts:
    """The receipt code exists only in the reply: it survives a crash before it is sent."""

    @pytest.fixture
    def settings(self, database_url, officers_key):  # noqa: F811
        return tip_settings(database_url, officers_key)

    async def test_a_failed_commit_gives_no_receipt(self, chat, session, tip_tree, failing_commit):  # noqa: F811
        original = chat.press

        async def press(data, user_id=7770001, **kwargs):
            if data == TipStep(action="send").pack():
                failing_commit.arm()
            return await original(data, user_id, **kwargs)

        chat.press = press
        code, sent = await file_tip(chat, tip_tree)
        assert code == "" and APOLOGY in sent[-1]
        assert await count(session, Tip) == 0
        chat.press = original
        # The draft is still there: pressing Gửi again sends it.
        replies = await chat.press(TipStep(action="send").pack(), 7770001)
        assert "Mã biên nhận" in replies[0] and await count(session, Tip) == 1

    async def test_a_receipt_cut_off_by_a_crash_is_sent_when_the_update_comes_again(
            self, app, chat, session, tip_tree):  # noqa: F811
        tipster = 7770001
        send = TipStep(action="send").pack()
        original = chat.press

        async def stop_before_gui(data, user_id=tipster, **kwargs):
            if data == send:
                return []
            return await original(data, user_id, **kwargs)

        chat.press = stop_before_gui
        await file_tip(chat, tip_tree)
        chat.press = original
        menu = chat.session.menus[tipster]
        chat.session.remember_callback("q-send", tipster)
        update = Update(update_id=555_001, callback_query=CallbackQuery(
            id="q-send", from_user=chat.user(tipster), chat_instance="t", message=menu.message,
            data=send))

        # The process "dies" as the receipt is being sent: after the commit, before the send.
        deliver = chat.session.deliver

        async def crash_on_receipt(chat_id, text):
            if "Mã biên nhận" in text:
                raise asyncio.CancelledError
            await deliver(chat_id, text)

        chat.session.deliver = crash_on_receipt
        with pytest.raises(asyncio.CancelledError):
            await chat.feed(update)
        chat.session.deliver = deliver
        assert await count(session, Tip) == 1
        kept = await fetch(session, select(ProcessedUpdate.replies).where(ProcessedUpdate.update_id == "555001"))
        assert kept is not None and not any(
            re.search(rb"\d{4} \d{4} \d{4}", kept[i:i + 14]) for i in range(len(kept)))

        # Telegram redelivers the update: the tip is not stored again, the receipt goes out.
        before = len(chat.session.sent)
        await chat.feed(update)
        receipts = [s.text for s in chat.session.sent[before:] if "Mã biên nhận" in s.text]
        assert len(receipts) == 1
        code = re.search(r"(\d{4} \d{4} \d{4})", receipts[0]).group(1).replace(" ", "")
        await session.rollback()
        assert await find_by_code(session, app.dispatcher["tip_keys"], code) is not None
        assert await count(session, Tip) == 1
        assert await fetch(session, select(ProcessedUpdate.replies).where(ProcessedUpdate.update_id == "555001")) is None
        # A further redelivery finds nothing left to send.
        before = len(chat.session.sent)
        await chat.feed(update)
        assert chat.session.sent[before:] == []
        # And the draft was cleared with the commit: Gửi pressed again sends no second tip.
        await chat.press(send, tipster, forged=True)
        assert await count(session, Tip) == 1
