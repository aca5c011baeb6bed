"""The Zalo transport end to end against a fake Zalo Bot API on 127.0.0.1: polling, the webhook,
numbered options, duplicates, sending by a stored Zalo id, failures, and members per channel."""

import asyncio
import contextlib
import logging

import pytest
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter, TelegramServerError
from aiohttp import ClientSession
from redis.asyncio import Redis
from sqlalchemy import select

from base.settings import load_settings
from bot.app import build_app
from bot.channels.zalo import ZaloChannel, aiogram_id, parse_event, zalo_channel
from bot.webhook import web_application
from db.models import Member, ProcessedUpdate
from db.services import tallies
from db.services.areas import add_area
from db.services.members import grant_role
from delivery.zalo_api import ZaloUnauthorized
from testkit.arrange import tree
from testkit.delivery_fakes import TZ
from testkit.fake_zalo import BOT_ID, ZALO_TOKEN, FakeZalo, listen_locally, text_event
from testkit.fakes import count
from testkit.services import redis_url, unavailable

LAN = "e4ea2cd5189df1c3a88c"  # a Zalo user id as the API gives them
SECRET = "zalo-webhook_secret-42"
ACCESS_TOKEN = ZALO_TOKEN.partition(":")[2]



def zalo_settings(database_url: str, zalo_api: FakeZalo, **more):
    return load_settings(database_url=database_url, telegram_token=None, webhook_url=None,
                         redis_url=None, zalo_token=ZALO_TOKEN, zalo_api_base=zalo_api.base, **more)


@pytest.fixture
async def zalo(app, zalo_api):
    app.settings = zalo_settings(app.settings.database_url, zalo_api)
    channel = zalo_channel(app)
    yield channel
    await channel.close()


@contextlib.asynccontextmanager
async def polling(channel: ZaloChannel):
    """Poll the fake server in the background; on leaving, stop and finish what was taken."""
    stop = asyncio.Event()
    task = asyncio.create_task(channel.run_polling(stop, idle_pause=0))
    try:
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def say(channel: ZaloChannel, zalo_api: FakeZalo, text: str, user: str = LAN, **event) -> list[str]:
    """Handle one text event directly (as the webhook does); the texts the bot sent."""
    before = len(zalo_api.texts)
    await channel.handle(text_event(text, user=user, **event))
    return [sent.get("text") or sent.get("caption") for sent in zalo_api.texts[before:]]


async def test_polling_answers_start_and_a_typed_number_presses_the_language_button(zalo, zalo_api, session):
    async with polling(zalo):
        zalo_api.push(text_event("/start"))
        greeting = await zalo_api.next_text()
        zalo_api.push(text_event("/language"))
        menu = await zalo_api.next_text()
        zalo_api.push(text_event("2"))
        switched = await zalo_api.next_text()
        zalo_api.push(text_event("/help"))
        help_text = await zalo_api.next_text()
    assert greeting["chat_id"] == LAN
    assert "113" in greeting["text"] and "<b>" not in greeting["text"]  # plain text on Zalo
    assert "👉 Gõ số để chọn:\n1. Tiếng Việt\n2. English" in menu["text"]
    assert switched["text"] == "Switched to English."
    assert "What you can do" in help_text["text"]
    # No webhook was registered: nothing was deleted.
    assert zalo_api.methods()[:2] == ["getWebhookInfo", "getMe"]
    assert await count(session, ProcessedUpdate, ProcessedUpdate.source == f"zalo:{BOT_ID}") == 4


async def test_an_empty_poll_is_a_408_and_polling_goes_on(zalo, zalo_api, caplog):
    zalo_api.max_wait = 0  # answer every poll with 408 at once
    async with polling(zalo):
        for _ in range(2):
            zalo_api.timed_out.clear()
            await asyncio.wait_for(zalo_api.timed_out.wait(), 10)
        zalo_api.push(text_event("/start"))
        reply = await zalo_api.next_text()
    assert zalo_api.timeouts >= 2 and "113" in reply["text"]
    assert "getUpdates failed" not in caplog.text


async def test_a_duplicate_event_takes_effect_once(zalo, zalo_api, session):
    event = text_event("/start", message_id="16f6366b3f02645a3d15")
    async with polling(zalo):
        zalo_api.push(event)
        zalo_api.push(event)
        zalo_api.push(text_event("/help"))
        first, second = await zalo_api.next_text(), await zalo_api.next_text()
    assert "113" in first["text"] and "Những việc bạn làm được" in second["text"]
    assert len(zalo_api.texts) == 2
    await zalo.handle({"ok": True, "result": event})  # a late redelivery, wrapped, changes nothing
    assert len(zalo_api.texts) == 2
    assert await count(session, ProcessedUpdate) == 2


async def test_a_wrong_token_stops_polling_with_zalo_unauthorized(app, zalo_api):
    app.settings = load_settings(database_url=app.settings.database_url,
                                 zalo_token="3001234567890123456:WrongAccessToken-000000",
                                 zalo_api_base=zalo_api.base)
    channel = zalo_channel(app)
    with pytest.raises(ZaloUnauthorized):
        await channel.run_polling(asyncio.Event())
    await channel.close()


@contextlib.asynccontextmanager
async def zalo_webhook(app, zalo_api, **attach):
    """The bot's Zalo webhook served on 127.0.0.1 (https://bot.example.vn/zalo/hook to Zalo);
    yields the local port. `attach` goes to attach_webhook."""
    app.settings = zalo_settings(app.settings.database_url, zalo_api,
                                 zalo_webhook_url="https://bot.example.vn/zalo/hook",
                                 zalo_webhook_secret=SECRET)
    channel = zalo_channel(app)
    web_app = web_application(app)
    channel.attach_webhook(web_app, **attach)
    runner, port = await listen_locally(web_app)
    try:
        yield port
    finally:
        await runner.cleanup()
        await channel.close()


async def test_the_webhook_checks_the_secret_and_answers_once_committed(app, zalo_api, session):
    event = text_event("/start", message_id="82599fa32f56d00e8941")
    async with zalo_webhook(app, zalo_api) as port:
        url = f"http://127.0.0.1:{port}/zalo/hook"
        assert zalo_api.webhook == {"url": "https://bot.example.vn/zalo/hook", "secret_token": SECRET}
        assert await zalo_api.post_webhook(url, event, "wrong-secret-123") == 401
        assert await zalo_api.post_webhook(url, event, None) == 401
        assert zalo_api.texts == [] and await count(session, ProcessedUpdate) == 0
        assert await zalo_api.post_webhook(url, event, SECRET) == 200
        await zalo_api.next_text()  # the reply follows the answer
        assert await zalo_api.post_webhook(url, {"ok": True, "result": event}, SECRET) == 200
        async with ClientSession() as client:
            garbage = await client.post(url, data=b"not json",
                                        headers={"X-Bot-Api-Secret-Token": SECRET})
            assert garbage.status == 400
            assert (await client.get(f"http://127.0.0.1:{port}/healthz")).status == 200
    assert len(zalo_api.texts) == 1 and "113" in zalo_api.texts[0]["text"]
    assert await count(session, ProcessedUpdate) == 1


async def test_a_member_is_reached_by_their_stored_zalo_id_in_parts(zalo, zalo_api):
    paragraphs = [f"Đoạn {n}. " + "Phòng chống tội phạm. " * 40 for n in range(4)]
    text = "\n\n".join(paragraphs)
    # This process never saw LAN: a handler (or a notice) sends by the id stored on the member.
    await zalo.bot.send_message(LAN, text)
    assert [sent["chat_id"] for sent in zalo_api.texts] == [LAN, LAN]
    assert "\n\n".join(sent["text"] for sent in zalo_api.texts) == text


async def test_a_failed_send_looks_like_telegrams_to_the_handlers(zalo, zalo_api):
    zalo_api.fail(LAN, 403, "Internal server error")  # Zalo's 403 is its own fault (the docs)
    with pytest.raises(TelegramServerError):
        await zalo.bot.send_message(LAN, "Xin chào")
    zalo_api.fail(LAN, 429, "Too Many Requests", retry_after=7)
    with pytest.raises(TelegramRetryAfter) as retry:
        await zalo.bot.send_message(LAN, "Xin chào")
    assert retry.value.retry_after == 7
    with pytest.raises(TelegramBadRequest):  # an aiogram id this process never mapped
        await zalo.bot.send_message(aiogram_id("a-zalo-user-seen-elsewhere"), "Xin chào")
    assert zalo_api.texts == []
    zalo_api.heal(LAN)
    await zalo.bot.send_message(LAN, "Xin chào")
    assert zalo_api.texts == [{"chat_id": LAN, "text": "Xin chào"}]


async def test_the_channel_keeps_the_token_out_of_its_bot_and_logs(zalo, zalo_api, caplog):
    zalo_api.poll_error = (502, "Bad Gateway")
    async with polling(zalo):
        await asyncio.wait_for(zalo_api.polled.wait(), 10)
    assert "Zalo getUpdates failed: ZaloServerError (502)" in caplog.text
    for text in (caplog.text, repr(zalo.bot), repr(zalo.client), repr(zalo.app.settings)):
        assert ACCESS_TOKEN not in text
    assert zalo.bot.token == f"{BOT_ID}:zalo"


async def test_stickers_unknown_text_and_unknown_commands_get_a_polite_answer(zalo, zalo_api):
    [sticker] = await say(zalo, zalo_api, "", event_name="message.sticker.received")
    assert "chưa hiểu ý bạn" in sticker
    [image] = await say(zalo, zalo_api, "", event_name="message.image.received")
    assert "chưa hiểu ý bạn" in image
    [text] = await say(zalo, zalo_api, "cho hỏi chút")
    assert "chưa hiểu ý bạn" in text
    [command] = await say(zalo, zalo_api, "/khongco")
    assert "chưa có lệnh này" in command
    await zalo.handle({"event_name": "message.text.received", "message": {"text": "/start"}})
    assert len(zalo_api.texts) == 4  # an event without ids is ignored


async def test_a_group_chat_is_answered_in_the_group(zalo, zalo_api):
    [reply] = await say(zalo, zalo_api, "/id", chat="nhom-ap-binh-long", chat_type="GROUP")
    assert zalo_api.texts[-1]["chat_id"] == "nhom-ap-binh-long" and "nhom-ap-binh-long" in reply
    [private] = await say(zalo, zalo_api, "/start", chat="nhom-ap-binh-long", chat_type="GROUP")
    assert "nhắn riêng" in private and "t.me" not in private  # Zalo has no deep links
    assert aiogram_id("nhom-ap-binh-long", group=True) < 0 < aiogram_id(LAN)


async def test_photos_go_by_url_and_typing_is_shown(zalo, zalo_api):
    await zalo.bot.send_photo(LAN, "https://example.vn/poster.jpg", caption="<b>Ngày hội</b> 19/8")
    await zalo.bot.send_chat_action(LAN, "typing")
    assert zalo_api.texts == [{"chat_id": LAN, "photo": "https://example.vn/poster.jpg",
                           "caption": "Ngày hội 19/8"}]
    assert ("sendChatAction", {"chat_id": LAN, "action": "typing"}) in zalo_api.calls


async def test_a_zalo_and_a_telegram_user_with_the_same_id_are_two_members(app, zalo, zalo_api, chat, session):
    places = await tree(session)
    await grant_role(session, "zalo", "1001", "officer", "C1")
    await session.commit()
    [telegram] = await chat.send("/area", user_id=1001)
    assert "chưa có quyền" in telegram
    [on_zalo] = await say(zalo, zalo_api, "/area", user="1001")
    assert "Xã Tân Hòa" in on_zalo
    # Both join household H001 of H11, each on their own channel.
    await chat.send(f"/join {places.h11.join_code}", user_id=1001)
    await chat.send("1", user_id=1001)  # ✅ Đồng ý
    await chat.send("nguyen van an", user_id=1001)
    [joined] = await chat.send("1", user_id=1001)
    assert "Bạn đã vào hộ Nguyễn Văn An (H001)" in joined
    await say(zalo, zalo_api, f"/join {places.h11.join_code}", user="1001")
    await say(zalo, zalo_api, "1", user="1001")
    await say(zalo, zalo_api, "nguyen van an", user="1001")
    # The household has a member now (the same person on Telegram, another member here): the
    # Zalo member asks, and the Telegram one confirms.
    [asked] = await say(zalo, zalo_api, "1", user="1001")
    assert "đã có người tham gia" in asked
    [sent] = await say(zalo, zalo_api, "Tôi trên Zalo", user="1001")
    assert "Đã gửi yêu cầu vào hộ Nguyễn Văn An (H001)" in sent
    await chat.send("/requests", user_id=1001)
    [confirmed] = await chat.send("1", user_id=1001)  # ✅ Đúng người trong hộ
    assert "Đã xác nhận người mới" in confirmed
    await say(zalo, zalo_api, "/language", user="1001")
    [switched] = await say(zalo, zalo_api, "2", user="1001")
    assert switched == "Switched to English."
    await session.rollback()
    members = (await session.scalars(select(Member).order_by(Member.channel))).all()
    household = places.households["H11"][0].id
    assert [(m.channel, m.user_id, m.role, m.household_id) for m in members] == [
        ("telegram", "1001", "resident", household), ("zalo", "1001", "officer", household)]
    assert members[1].locale == "en" and members[0].locale != "en"
    counted = await tallies.compute_tallies(session, places.campaign, places.h11, TZ)
    assert int(counted.root.counts[tallies.ON_BOT]) == 1  # one household, however many members
    [still_vietnamese] = await chat.send("/help", user_id=1001)
    assert "Những việc bạn làm được" in still_vietnamese


async def test_a_staff_member_is_known_by_their_zalo_id(zalo, zalo_api, session):
    province = await add_area(session, "P", "Tỉnh Thử", "province", None)
    await add_area(session, "C1", "Xã Tân Hòa", "commune", province)
    await grant_role(session, "zalo", LAN, "officer", "C1")
    await session.commit()
    [reply] = await say(zalo, zalo_api, "/area")
    assert "Xã Tân Hòa" in reply and "0 hộ" in reply
    [other] = await say(zalo, zalo_api, "/area", user="a1b2c3d4e5f6a7b8c9d0")
    assert "chưa có quyền" in other


async def test_numbered_options_survive_a_new_channel_sharing_the_storage(app, zalo, zalo_api):
    await say(zalo, zalo_api, "/language")
    restarted = zalo_channel(app)  # a restart, or another instance on the same storage
    [reply] = await say(restarted, zalo_api, "2")
    assert reply == "Switched to English."
    [after] = await say(restarted, zalo_api, "2")  # the options are gone once used
    assert "did not understand" in after
    await restarted.close()


async def test_numbered_options_work_across_instances_on_redis(settings, zalo_api):
    client = Redis.from_url(redis_url())
    try:
        await client.flushdb()
    except OSError as error:
        unavailable(f"Redis at BINHYEN_TEST_REDIS_URL is unreachable: {error}")
    shared = load_settings(database_url=settings.database_url, redis_url=redis_url(),
                           zalo_token=ZALO_TOKEN, zalo_api_base=zalo_api.base)
    first, second = await build_app(shared), await build_app(shared)
    one, two = zalo_channel(first), zalo_channel(second)
    try:
        [menu] = await say(one, zalo_api, "/language")
        assert "2. English" in menu
        [reply] = await say(two, zalo_api, "2")
        assert reply == "Switched to English."
        [help_text] = await say(one, zalo_api, "/help")
        assert "What you can do" in help_text
    finally:
        for channel, instance in ((one, first), (two, second)):
            await channel.close()
            await instance.close()
        await client.flushdb()
        await client.aclose()


async def test_polling_starts_after_zalo_fails_its_first_calls(zalo, zalo_api, caplog):
    zalo_api.fail_method("getWebhookInfo", 502, "Bad Gateway", times=2)
    stop = asyncio.Event()
    task = asyncio.create_task(zalo.run_polling(stop, idle_pause=0, retry_pause=0))
    try:
        zalo_api.push(text_event("/start"))
        reply = await zalo_api.next_text()
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    assert "113" in reply["text"]
    assert zalo_api.methods()[:4] == ["getWebhookInfo", "getWebhookInfo", "getWebhookInfo", "getMe"]
    assert caplog.text.count("Zalo getWebhookInfo failed: ZaloServerError (502)") == 2


@pytest.mark.parametrize("body", [
    {"event_name": "message.text.received",
     "message": {"message_id": "m1", "from": "u", "chat": {"id": "c"}, "text": "TIN MẬT 1"}},
    {"event_name": "message.text.received",
     "message": {"message_id": "m2", "from": {"id": ["u"]}, "chat": {"id": "c"}, "text": "TIN MẬT 2"}},
    {"event_name": "message.text.received",
     "message": {"message_id": {"x": 1}, "from": {"id": "u"}, "chat": {"id": "c"}, "text": "TIN MẬT 3"}},
    {"event_name": "message.text.received",
     "message": {"message_id": "m4", "from": {"id": "u"}, "chat": "c", "text": "TIN MẬT 4"}},
    {"event_name": "message.text.received", "message": "TIN MẬT 5"},
    {"event_name": ["TIN MẬT 6"]},
    {"ok": True, "result": {"message": {"from": None, "text": "TIN MẬT 7"}}},
])
async def test_a_malformed_webhook_body_is_ignored_quietly(app, zalo_api, session, caplog, body):
    caplog.set_level(logging.INFO)
    async with zalo_webhook(app, zalo_api) as port:
        assert await zalo_api.post_webhook(f"http://127.0.0.1:{port}/zalo/hook", body, SECRET) == 200
    assert zalo_api.texts == [] and await count(session, ProcessedUpdate) == 0
    assert "ignored" in caplog.text and "TIN MẬT" not in caplog.text


async def test_a_text_of_the_wrong_type_gets_the_polite_answer(zalo, zalo_api):
    event = text_event("x")
    event["message"]["text"] = {"not": "a text"}
    await zalo.handle(event)
    assert "chưa hiểu ý bạn" in zalo_api.texts[-1]["text"]


def test_the_senders_name_and_the_image_are_read_as_the_docs_give_them():
    base = {"message_id": "m", "chat": {"id": "c", "chat_type": "PRIVATE"}, "date": 1}
    named = parse_event({"event_name": "message.text.received",
                         "message": {**base, "text": "hi", "from": {"id": "u", "first_name": "Ted"}}})
    assert named.sender_name == "Ted" and named.text == "hi"
    shown = parse_event({"event_name": "message.text.received",
                         "message": {**base, "from": {"id": "u", "display_name": "Chị Lan", "name": "x"}}})
    assert shown.sender_name == "Chị Lan"
    nameless = parse_event({"event_name": "message.text.received", "message": {**base, "from": {"id": 7}}})
    assert nameless.sender_name == "Zalo" and nameless.user_id == "7"
    for field in ("photo", "photo_url"):
        image = parse_event({"event_name": "message.image.received", "message": {
            **base, "from": {"id": "u"}, field: "https://cdn.zalo.example/p.jpg", "caption": "ảnh"}})
        assert image.photo == "https://cdn.zalo.example/p.jpg" and image.caption == "ảnh"
    odd = parse_event({"event_name": "message.image.received", "message": {
        **base, "from": {"id": "u"}, "photo": "file:///etc/passwd"}})
    assert odd.photo is None  # only an http(s) URL is fetched


async def test_a_webhook_zalo_fails_to_register_is_tried_again_with_the_server_up(app, zalo_api, caplog):
    zalo_api.fail_method("setWebhook", 502, "Bad Gateway", times=2)
    # The server starts although Zalo answered 502.
    async with zalo_webhook(app, zalo_api, retry_pause=0) as port:
        url = f"http://127.0.0.1:{port}/zalo/hook"
        assert await zalo_api.post_webhook(url, text_event("/start"), SECRET) == 200
        await asyncio.wait_for(zalo_api.webhook_set.wait(), 10)
    assert zalo_api.webhook == {"url": "https://bot.example.vn/zalo/hook", "secret_token": SECRET}
    assert zalo_api.methods().count("setWebhook") == 3
    assert "Zalo setWebhook failed: ZaloServerError (502)" in caplog.text
    assert "113" in zalo_api.texts[0]["text"]
