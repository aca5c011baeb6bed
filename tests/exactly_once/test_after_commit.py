"""What a user is told, and where their conversation stands, follow the commit: a failed commit
confirms nothing and leaves the conversation where it was; a crash between the commit and a tip's
receipt does not lose the receipt."""

import asyncio
import re
from datetime import timedelta

import pytest
from aiogram.exceptions import TelegramNetworkError
from aiogram.fsm.storage.base import StorageKey
from aiogram.methods import SendMessage
from aiogram.types import CallbackQuery, Update
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from bot.exactly_once.transaction import KeptRepliesUnsent
from db.models import Broadcast, Delivery, Member, Pledge, KeptReply, Tip
from db.services.joining import give_consent, join_household
from db.services.tips import find_by_code
from handlers.residents.joining import Joining
from handlers.tips.submit import TipStep
from testkit.arrange import tree
from testkit.delivery_fakes import FakeClock, local, world  # noqa: F401  (world: a fixture)
from testkit.fakes import count, fetch
from tests.tips.test_tips import file_tip, officers_key, tip_settings  # noqa: F401  (a fixture)
from tests.tips.test_tips import tree as tip_tree  # noqa: F401  (a fixture)

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
        kept = await fetch(session, select(KeptReply.replies).where(KeptReply.update_id == "555001"))
        assert kept is not None and not any(
            re.search(rb"\d{4} \d{4} \d{4} \d{4}", kept[i:i + 19]) for i in range(len(kept)))

        # Telegram redelivers the update: the tip is not stored again, the receipt goes out.
        before = len(chat.session.sent)
        await chat.feed(update)
        receipts = [s.text for s in chat.session.sent[before:] if "Mã biên nhận" in s.text]
        assert len(receipts) == 1
        code = re.search(r"(\d{4} \d{4} \d{4} \d{4})", receipts[0]).group(1).replace(" ", "")
        await session.rollback()
        assert await find_by_code(session, app.dispatcher["tip_keys"], code) is not None
        assert await count(session, Tip) == 1
        assert await fetch(session, select(KeptReply.replies).where(KeptReply.update_id == "555001")) is None
        # A further redelivery finds nothing left to send.
        before = len(chat.session.sent)
        await chat.feed(update)
        assert chat.session.sent[before:] == []
        # And the draft was cleared with the commit: Gửi pressed again sends no second tip.
        await chat.press(send, tipster, forged=True)
        assert await count(session, Tip) == 1


def _gui_update(chat, tipster: int, update_id: int) -> Update:
    """The press of "Gửi" under the summary, as one update that can be delivered again."""
    menu = chat.session.menus[tipster]
    query = f"q-send-{update_id}"
    chat.session.remember_callback(query, tipster)
    return Update(update_id=update_id, callback_query=CallbackQuery(
        id=query, from_user=chat.user(tipster), chat_instance="t", message=menu.message,
        data=TipStep(action="send").pack()))


def _failing_receipts(chat, times: int | None):
    """Sends of the receipt fail with a network error `times` times (None: until healed)."""
    deliver = chat.session.deliver
    failures = {"left": times}

    async def flaky(chat_id, text):
        if "Mã biên nhận" in text and failures["left"] != 0:
            if failures["left"] is not None:
                failures["left"] -= 1
            raise TelegramNetworkError(SendMessage(chat_id=chat_id, text="…"), "connection reset")
        await deliver(chat_id, text)

    chat.session.deliver = flaky
    return lambda: setattr(chat.session, "deliver", deliver)


class TestFailedReceiptSends:
    """A receipt whose send fails is tried again, and never forgotten until it is sent."""

    @pytest.fixture
    def settings(self, database_url, officers_key):  # noqa: F811
        return tip_settings(database_url, officers_key)

    async def walk_to_summary(self, chat, tip_tree):  # noqa: F811
        original = chat.press

        async def stop_before_gui(data, user_id=7770001, **kwargs):
            if data == TipStep(action="send").pack():
                return []
            return await original(data, user_id, **kwargs)

        chat.press = stop_before_gui
        await file_tip(chat, tip_tree)
        chat.press = original

    async def receipt_code(self, chat, before: int) -> str:
        [receipt] = [s.text for s in chat.session.sent[before:] if "Mã biên nhận" in s.text]
        return re.search(r"(\d{4} \d{4} \d{4} \d{4})", receipt).group(1).replace(" ", "")

    async def test_a_receipt_that_fails_once_is_sent_again_at_once(self, chat, session, tip_tree):  # noqa: F811
        await self.walk_to_summary(chat, tip_tree)
        heal = _failing_receipts(chat, times=1)
        before = len(chat.session.sent)
        await chat.feed(_gui_update(chat, 7770001, 556_001))
        heal()
        code = await self.receipt_code(chat, before)
        assert not any(APOLOGY in s.text for s in chat.session.sent[before:])
        assert await fetch(session, select(KeptReply.replies)
                           .where(KeptReply.update_id == "556001")) is None
        [status] = await chat.send(f"/tipstatus {code}", user_id=7770001)
        assert "Đã tiếp nhận" in status

    async def test_a_receipt_still_failing_stays_kept_and_the_redelivery_sends_it(
            self, app, chat, session, tip_tree):  # noqa: F811
        await self.walk_to_summary(chat, tip_tree)
        update = _gui_update(chat, 7770001, 556_002)
        heal = _failing_receipts(chat, times=None)
        before = len(chat.session.sent)
        with pytest.raises(KeptRepliesUnsent):  # the webhook answers 500: Telegram redelivers
            await chat.feed(update)
        heal()
        assert not any("Mã biên nhận" in s.text or APOLOGY in s.text for s in chat.session.sent[before:])
        assert await count(session, Tip) == 1
        assert await fetch(session, select(KeptReply.replies)
                           .where(KeptReply.update_id == "556002")) is not None

        before = len(chat.session.sent)
        await chat.feed(update)
        code = await self.receipt_code(chat, before)
        assert await count(session, Tip) == 1
        assert await fetch(session, select(KeptReply.replies)
                           .where(KeptReply.update_id == "556002")) is None
        [status] = await chat.send(f"/tipstatus {code}", user_id=7770001)
        assert "Đã tiếp nhận" in status

    async def test_where_nothing_redelivers_the_sweep_sends_the_kept_receipt(
            self, app, chat, session, tip_tree):  # noqa: F811
        await self.walk_to_summary(chat, tip_tree)
        heal = _failing_receipts(chat, times=3)  # the first send and both retries
        with pytest.raises(KeptRepliesUnsent):
            await chat.feed(_gui_update(chat, 7770001, 556_003))
        heal()
        ledger = app.dispatcher["ledger"]
        before = len(chat.session.sent)
        await ledger.sweep(chat.bot, "telegram")  # a receipt kept just now is left to the update
        assert chat.session.sent[before:] == []
        await ledger.sweep(chat.bot, "telegram", left_for=timedelta(0))
        code = await self.receipt_code(chat, before)
        [status] = await chat.send(f"/tipstatus {code}", user_id=7770001)
        assert "Đã tiếp nhận" in status
        before = len(chat.session.sent)
        await ledger.sweep(chat.bot, "telegram", left_for=timedelta(0))  # nothing twice
        assert chat.session.sent[before:] == []
