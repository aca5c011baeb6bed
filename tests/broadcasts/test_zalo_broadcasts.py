"""Broadcasts on Zalo: a hamlet head writes one by numbers on Zalo, and the delivery worker of
`binhyen run` sends it through delivery.senders.ZaloSender to the fake Zalo Bot API (plain text, 403 →
retried (Zalo's "internal server error"), 429 → the quota pause and retry, the sender's final count); a household with a member on
Telegram and one on Zalo gets both messages and counts once in the tallies."""


import pytest
from sqlalchemy import select

from bot.background import make_worker
from bot.cli.delivery import channels_for, close_channels
from content.catalog import Catalog
from db.models import Broadcast, Delivery, Member
from db.services import tallies
from db.services.joining import give_consent, join_household
from db.services.members import grant_role
from delivery.senders import ZaloSender
from delivery.worker import QUOTA_FIRST_WAIT
from delivery.zalo_api import MAX_TEXT, text_size
from testkit.arrange import local_today, tree
from testkit.delivery_fakes import TZ, FakeClock, local
from testkit.fakes import count, fetch
from testkit.zalo_chat import LAN, options, zalo, zalo_settings  # noqa: F401  (zalo: a fixture)
from tests.channels.test_telegram_transport import TOKEN as TELEGRAM_TOKEN
from tests.channels.test_telegram_transport import telegram  # noqa: F401  (a fixture)

HEAD = "a1b2c3d4e5f6a7b8c9d0"  # the head of hamlet H11, on Zalo
BLOCKED = "b10cced0b10cced0b10c"  # Zalo answers 403 for them at first
THIRD = "c3c3c3c3c3c3c3c3c3c3"
TELEGRAM_MEMBER = 1001  # in LAN's household, on Telegram
TEXT = ("Tối nay 19:00 họp tổ nhân dân tự quản tại <nhà văn hóa ấp> & nhận tờ rơi. "
        "Xem lịch: https://vi-du.vn/lich?ap=11&region=3")
HEADER = "📢 Thông báo — Ấp Bình Long"
ARTICLE = "lua-dao-cong-nghe-cao"


@pytest.fixture
def settings(database_url, zalo_api, telegram):
    """Zalo and Telegram bots, each on its fake server: the worker delivers on both."""
    return zalo_settings(database_url, zalo_api, telegram_token=TELEGRAM_TOKEN,
                         telegram_api_base=telegram.base)


@pytest.fixture
def clock(app, zalo_api):
    """Morning (no quiet hours) of this year's campaign, for the bot, the worker and the fake."""
    clock = FakeClock(local(local_today().year, 8, 10, 9, 0))
    app.dispatcher["clock"] = clock
    zalo_api.clock = clock.monotonic
    return clock


@pytest.fixture
async def places(session):
    """H11's households H001–H003 on Zalo (H001 on Telegram too), and H11's head on Zalo."""
    places = await tree(session)
    households = places.households["H11"]
    for channel, user_id, household in (("zalo", LAN, households[0]), ("zalo", BLOCKED, households[1]),
                                        ("zalo", THIRD, households[2]),
                                        ("telegram", str(TELEGRAM_MEMBER), households[0])):
        member = await give_consent(session, channel, user_id, None)
        await join_household(session, member, household.id)
    await grant_role(session, "zalo", HEAD, "hamlet_head", "H11")
    await session.commit()
    return places


async def broadcast_now(zalo) -> str:
    """The head writes TEXT to everyone of the hamlet and sends it now, by numbers."""
    [ask] = await zalo.send("/broadcast", user=HEAD)
    assert "Gõ nội dung thông báo gửi tới Ấp Bình Long" in ask
    [audiences] = await zalo.send(TEXT, user=HEAD)
    assert options(audiences) == {"Tất cả bà con": 1, "Hộ chưa ký cam kết": 2,
                                  "Hộ chưa được tuyên truyền": 3, "Hủy": 4}
    [preview] = await zalo.send("1", user=HEAD)
    assert f"{HEADER}\n\n{TEXT}" in preview and "Gửi tới 4 người (tất cả bà con)." in preview
    assert "Đánh dấu khẩn" not in zalo.menu(HEAD)  # a head may not mark urgent
    [started] = await zalo.choose("Gửi ngay", user=HEAD)
    return started


async def deliver(app, clock) -> None:
    """Drain the deliveries as `binhyen run` does: the channels of the settings, one worker."""
    channels = channels_for(app.settings)
    assert any(isinstance(channel.sender, ZaloSender) for channel in channels)
    try:
        await make_worker(app, channels, clock).drain()
    finally:
        await close_channels(channels)


async def test_a_head_on_zalo_broadcasts_and_the_worker_delivers_on_zalo(
        app, zalo, zalo_api, telegram, session, places, clock):
    started = await broadcast_now(zalo)
    assert "📤 Đang gửi thông báo #1 tới 4 người" in started
    # Zalo's error-code table: 403 is "internal server error", 429 "quota exceeded".
    zalo_api.fail(BLOCKED, 403, "Internal server error", times=2)
    zalo_api.fail(LAN, 429, "Quota exceeded", times=1)
    await deliver(app, clock)

    # Plain text on Zalo, exactly what the head typed: no tags, no entity left or decoded twice.
    message = f"{HEADER}\n\n{TEXT}"
    assert zalo_api.texts_to(LAN) == [message] and zalo_api.texts_to(THIRD) == [message]
    assert zalo_api.texts_to(BLOCKED) == [message] and telegram.delivered == {TELEGRAM_MEMBER: 1}
    # The 403s were retried: a passing Zalo fault cuts nobody off.
    assert [attempt.status for attempt in zalo_api.attempts if attempt.chat_id == BLOCKED] == [403, 403, 200]
    # The 429 paused the channel for the quota (a minute at first) and the same row was retried.
    first, second = [attempt for attempt in zalo_api.attempts if attempt.chat_id == LAN]
    assert (first.status, second.status) == (429, 200)
    assert second.at >= first.at + QUOTA_FIRST_WAIT
    await session.rollback()
    status = dict((await session.execute(select(Delivery.chat_id, Delivery.status)
                                         .where(Delivery.source == "broadcast:1"))).all())
    assert status == {LAN: "sent", BLOCKED: "sent", THIRD: "sent", str(TELEGRAM_MEMBER): "sent"}
    assert await fetch(session, select(Member.unreachable_at).where(Member.user_id == BLOCKED)) is None
    # The head's final count reached them on Zalo, once every row had its outcome.
    assert zalo_api.texts_to(HEAD)[-1] == ("✅ Thông báo #1 (Ấp Bình Long) đã gửi xong: 4 người đã nhận, "
                      "0 không liên lạc được, 0 lỗi.")
    assert await fetch(session, select(Broadcast.status)) == "done"
    # The next broadcast reaches everyone again.
    await zalo.send("/broadcast", user=HEAD)
    await zalo.send("Lần hai", user=HEAD)
    [preview] = await zalo.send("1", user=HEAD)
    assert "Gửi tới 4 người" in preview


async def test_a_household_on_telegram_and_zalo_gets_both_messages_and_counts_once(
        app, zalo, zalo_api, chat, telegram, session, places, clock):
    article = Catalog.load().article(ARTICLE, "vi")
    # Both members of H001 read the article and one confirms the pledge; the other sees it done.
    await zalo.send("/learn")
    await zalo.choose("Lừa đảo qua mạng, điện thoại")
    [read] = await zalo.choose("✅ Đã đọc")
    assert "hộ Nguyễn Văn An đã được tuyên truyền" in read
    await chat.send("/learn", user_id=TELEGRAM_MEMBER)
    await chat.press("learn:t:fraud", user_id=TELEGRAM_MEMBER)
    [read] = await chat.press(f"learn:r:{ARTICLE}:{article.version}", user_id=TELEGRAM_MEMBER)
    assert "hộ Nguyễn Văn An đã được tuyên truyền" in read
    await zalo.send("/pledge")
    [thanks] = await zalo.choose("✅ Hộ tôi xác nhận cam kết")
    assert "Hộ Nguyễn Văn An đã xác nhận cam kết" in thanks
    [shown] = await chat.send("/pledge", user_id=TELEGRAM_MEMBER)
    assert "đã xác nhận cam kết ngày" in shown

    await broadcast_now(zalo)
    before = len(zalo_api.texts_to(LAN))
    await deliver(app, clock)
    assert zalo_api.texts_to(LAN)[before:] == [f"{HEADER}\n\n{TEXT}"]
    [on_telegram] = [params["text"] for method, params in telegram.calls
                     if method == "sendMessage" and params["chat_id"] == TELEGRAM_MEMBER]
    assert on_telegram.startswith("📢 <b>Thông báo — Ấp Bình Long</b>")  # Telegram keeps its markup
    assert "&lt;nhà văn hóa ấp&gt; &amp; nhận tờ rơi" in on_telegram

    await session.rollback()
    counted = await tallies.compute_tallies(session, places.campaign, places.h11, TZ)
    numbers = {name: int(counted.root.counts[name]) for name in (
        tallies.HOUSEHOLDS, tallies.ON_BOT, tallies.REACHED, tallies.PLEDGED, tallies.BROADCASTS,
        tallies.DELIVERIES_SENT)}
    # H001 is on the bot, reached and pledged once, though two members on two channels acted;
    # the broadcast's messages are counted per chat that received one.
    assert numbers == {tallies.HOUSEHOLDS: 5, tallies.ON_BOT: 3, tallies.REACHED: 1, tallies.PLEDGED: 1,
                       tallies.BROADCASTS: 1, tallies.DELIVERIES_SENT: 4}


async def test_a_long_broadcast_cut_short_by_a_429_is_resumed_not_repeated(
        app, zalo, zalo_api, session, places, clock):
    advice = "Bà con khóa cửa, giữ xe, báo ngay người lạ khả nghi."
    paragraphs = [f"Mục {number}. " + " ".join([advice] * 10) for number in range(5)]
    long_text = "\n\n".join(paragraphs)  # 2,700 characters: two messages on Zalo
    await zalo.send("/broadcast", user=HEAD)
    await zalo.send(long_text, user=HEAD)
    await zalo.choose("Tất cả bà con", user=HEAD)
    await zalo.choose("Gửi ngay", user=HEAD)
    before = len(zalo_api.texts_to(LAN))
    zalo_api.fail(LAN, 429, "Too Many Requests", times=1, after=1)  # the second part is refused
    await deliver(app, clock)
    parts = zalo_api.texts_to(LAN)[before:]
    statuses = [attempt.status for attempt in zalo_api.attempts if attempt.chat_id == LAN]
    assert statuses[-3:] == [200, 429, 200]
    assert len(parts) == 2 and all(text_size(part) <= MAX_TEXT for part in parts)
    assert "\n\n".join(parts) == f"{HEADER}\n\n{long_text}"  # each part once, in order
    assert await fetch(session, select(Delivery.status).where(Delivery.chat_id == LAN)) == "sent"


async def test_the_parts_of_a_long_text_keep_one_second_apart_in_the_chat(
        app, zalo, zalo_api, session, places, clock):
    paragraphs = [f"Mục {number}. " + " ".join(["Bà con khóa cửa, giữ xe cẩn thận."] * 14)
                  for number in range(5)]
    await zalo.send("/broadcast", user=HEAD)
    await zalo.send("\n\n".join(paragraphs), user=HEAD)  # 2,600 characters: two messages
    await zalo.choose("Tất cả bà con", user=HEAD)
    await zalo.choose("Gửi ngay", user=HEAD)
    before = len(zalo_api.attempts)
    await deliver(app, clock)
    to_lan = [attempt.at for attempt in zalo_api.attempts[before:] if attempt.chat_id == LAN]
    assert len(to_lan) == 2
    assert to_lan[1] - to_lan[0] >= 1.0  # Zalo's one message a second per chat, between parts too


async def test_the_worker_sends_on_zalo_at_binhyen_zalo_rate(
        app, zalo, zalo_api, telegram, session, places, clock, monkeypatch):
    monkeypatch.setenv("BINHYEN_ZALO_RATE", "2")
    app.settings = zalo_settings(app.settings.database_url, zalo_api, telegram_token=TELEGRAM_TOKEN,
                                 telegram_api_base=telegram.base)
    assert app.settings.zalo_rate == 2 and app.settings.telegram_rate == 25
    channels = channels_for(app.settings)
    try:
        worker = make_worker(app, channels, clock)
        # The pace `binhyen run` drains each channel at: Zalo's own, not Telegram's.
        assert worker.pacers["zalo"].interval == 0.5 and worker.pacers["telegram"].interval == 0.04
        await broadcast_now(zalo)
        before = len(zalo_api.attempts)
        await worker.drain()
    finally:
        await close_channels(channels)
    delivered = {attempt.chat_id for attempt in zalo_api.attempts[before:] if attempt.status == 200}
    assert {LAN, BLOCKED, THIRD} <= delivered


async def test_a_head_on_zalo_schedules_at_a_typed_time_then_cancels_it_by_numbers(
        app, zalo, zalo_api, session, places, clock):
    await zalo.send("/broadcast", user=HEAD)
    await zalo.send(TEXT, user=HEAD)
    await zalo.choose("Tất cả bà con", user=HEAD)
    [morning] = await zalo.choose("Sáng mai 07:00", user=HEAD)
    assert "🕒 Đã hẹn gửi thông báo #1 lúc 07:00" in morning and "/broadcasts" in morning
    await zalo.send("/broadcast", user=HEAD)
    await zalo.send("Lần hai: họp tổ.", user=HEAD)
    await zalo.choose("Tất cả bà con", user=HEAD)
    [ask] = await zalo.choose("Chọn giờ khác", user=HEAD)
    assert "Gõ giờ gửi dạng HH:MM" in ask
    [wrong] = await zalo.send("25:99", user=HEAD)
    assert "Không hiểu thời gian" in wrong and "Hủy" in options(wrong)  # still at the step
    year = clock.now().year
    [scheduled] = await zalo.send("20/08 19:30", user=HEAD)
    assert f"🕒 Đã hẹn gửi thông báo #2 lúc 19:30 20/08/{year}" in scheduled
    assert options(scheduled) == {}  # the step is over: its "Hủy" is not offered again

    [listing] = await zalo.send("/broadcasts", user=HEAD)
    assert "#1 · 07:00" in listing and "#2 · 19:30 20/08" in listing and "đã hẹn giờ" in listing
    assert set(options(listing)) == {"Hủy #1", "Hủy #2"}
    [confirm] = await zalo.choose("Hủy #2", user=HEAD)
    assert "Hủy thông báo #2" in confirm
    [kept] = await zalo.choose("Không hủy", user=HEAD)
    assert "Giữ nguyên" in kept
    await zalo.send("/broadcasts", user=HEAD)
    await zalo.choose("Hủy #2", user=HEAD)
    [cancelled] = await zalo.choose("Hủy thông báo", user=HEAD)
    assert "Đã hủy thông báo #2; sẽ không gửi." in cancelled
    await session.rollback()
    statuses = dict((await session.execute(select(Broadcast.id, Broadcast.status))).all())
    assert statuses == {1: "scheduled", 2: "cancelled"}
    assert await count(session, Delivery) == 0  # nothing sent before its time
