"""Zalo as its documentation describes it (delivery/zalo_api.py has the sources): the webhook is
answered once the update is committed and its replies follow, polling never takes a webhook
away unasked, a webhook Zalo could not reach is reported, the bot's own messages and withheld
content are handled as such, mentions in groups are read off, and the documented payloads are
answered."""

import asyncio
import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import ClientSession
from sqlalchemy import select

from bot.channels.text_session import Option
from bot.channels.zalo import ZaloWebhookInUse, zalo_channel
from bot.channels.zalo_groups import without_mention
from bot.cli.main import main
from db.models import KeptReply, ProcessedUpdate
from testkit.fake_zalo import BOT_ID, ZALO_TOKEN, FakeZalo, text_event
from testkit.fakes import count
from testkit.hostile import changes, snapshot
from tests.channels.test_zalo import (  # noqa: F401  (zalo: a fixture)
    LAN,
    SECRET,
    polling,
    say,
    zalo,
    zalo_webhook,
)
from tests.channels.test_zalo_serving import zalo_in_a_thread

FIXTURES = Path(__file__).parent.parent / "fixtures" / "zalo_updates"
HOOK = "https://bot.example.vn/zalo/hook"


def fixture_updates() -> list[tuple[str, dict]]:
    updates = []
    for path in sorted(FIXTURES.glob("*.json")):
        for item in json.loads(path.read_text())["updates"]:
            updates.append((f"{path.stem}: {item['name']}", item["update"]))
    return updates


# --- 4. the webhook answers once the update is committed ----------------------------------------

async def test_the_webhook_answers_once_committed_and_the_replies_follow(app, zalo_api, session):
    zalo_api.sends_held = asyncio.Event()  # Zalo is slow to take the bot's messages
    async with zalo_webhook(app, zalo_api) as port:
        url = f"http://127.0.0.1:{port}/zalo/hook"
        event = text_event("/start", message_id="a1b2c3d4e5f6a7b8c9d0")
        status = await asyncio.wait_for(zalo_api.post_webhook(url, event, SECRET), 10)
        # 200 while the reply has not reached Zalo: it is kept with the committed update.
        assert status == 200 and zalo_api.texts == []
        assert await fetch_update(session, "a1b2c3d4e5f6a7b8c9d0") is not None  # committed
        assert await replies_of(session, "a1b2c3d4e5f6a7b8c9d0") is not None  # its reply kept
        zalo_api.sends_held.set()
        reply = await zalo_api.next_text()
        assert "113" in reply["text"] and reply["chat_id"] == LAN
        await wait_for(lambda: replies_of(session, "a1b2c3d4e5f6a7b8c9d0"), None)  # sent: forgotten


async def test_replies_zalo_refuses_after_the_answer_are_sent_by_the_sweep(app, zalo_api, session):
    zalo_api.fail(LAN, 502, "Bad Gateway", times=3)  # the send and its two quick retries
    async with zalo_webhook(app, zalo_api) as port:
        url = f"http://127.0.0.1:{port}/zalo/hook"
        assert await zalo_api.post_webhook(url, text_event("/help", message_id="f00d"), SECRET) == 200
        await wait_for(lambda: attempts_to(zalo_api, LAN), 3)
        assert zalo_api.texts == []
        assert await replies_of(session, "f00d") is not None  # kept for the sweep
        restarted = zalo_channel(app)  # a new process: the sweep reaches the chat by its Zalo id
        try:
            await app.dispatcher["ledger"].sweep(restarted.bot, "zalo", left_for=timedelta(0))
        finally:
            await restarted.close()
    [sent] = zalo_api.texts
    assert sent["chat_id"] == LAN and "Những việc bạn làm được" in sent["text"]
    assert await replies_of(session, "f00d") is None


# --- 5. polling does not take a webhook away unasked ---------------------------------------------

async def test_polling_refuses_while_a_webhook_is_registered_unless_told_to_take_it_over(zalo, zalo_api):
    zalo_api.webhook = {"url": "https://prod.example.vn/zalo/secret-path-123", "secret_token": SECRET}
    with pytest.raises(ZaloWebhookInUse) as in_use:
        await asyncio.wait_for(zalo.run_polling(asyncio.Event()), 10)
    assert in_use.value.host == "prod.example.vn" and "secret-path" not in str(in_use.value)
    assert "deleteWebhook" not in zalo_api.methods()
    assert zalo_api.webhook["url"] == "https://prod.example.vn/zalo/secret-path-123"

    zalo.take_over_webhook = True
    async with polling(zalo):
        zalo_api.push(text_event("/start"))
        assert "113" in (await zalo_api.next_text())["text"]
    assert zalo_api.methods()[:3] == ["getWebhookInfo", "getWebhookInfo", "deleteWebhook"]
    assert zalo_api.webhook["url"] == ""


def test_binhyen_run_says_why_it_will_not_poll_and_what_to_do(database_url, monkeypatch, capsys):
    server = FakeZalo()
    server.webhook = {"url": "https://prod.example.vn/zalo/secret-path-123", "secret_token": SECRET}
    with zalo_in_a_thread(server) as base:
        monkeypatch.setenv("BINHYEN_DATABASE_URL", database_url)
        monkeypatch.delenv("BINHYEN_TELEGRAM_TOKEN", raising=False)
        monkeypatch.delenv("BINHYEN_ZALO_WEBHOOK_URL", raising=False)
        monkeypatch.setenv("BINHYEN_ZALO_TOKEN", ZALO_TOKEN)
        monkeypatch.setenv("BINHYEN_ZALO_API_BASE", base)
        assert main(["run", "--role", "bot"]) == 1
    err = capsys.readouterr().err
    assert "prod.example.vn" in err and "--take-over-zalo-webhook" in err
    assert "secret-path" not in err and "Traceback" not in err
    assert "deleteWebhook" not in server.methods()


# --- 6. a webhook Zalo saved but could not reach -------------------------------------------------

async def test_a_failed_verification_of_the_webhook_is_reported(app, zalo_api, caplog):
    zalo_api.verification = {"ok": False, "outcome": "timeout", "status_code": 504,
                             "hint": f"Could not reach {HOOK} in 5s"}
    async with zalo_webhook(app, zalo_api) as port:
        health = await get_text(f"http://127.0.0.1:{port}/healthz")
    assert zalo_api.webhook["url"] == HOOK  # Zalo keeps the URL even so
    [warning] = [r.getMessage() for r in caplog.records
                 if r.levelno == logging.WARNING and "could not reach it" in r.getMessage()]
    assert "timeout" in warning and "504" in warning and "<webhook>" in warning
    assert HOOK not in warning and "/zalo/hook" not in warning and SECRET not in caplog.text
    assert health.splitlines()[0] == "ok" and "zalo webhook: Zalo saved the webhook but could not reach it" in health


@pytest.mark.parametrize("verification", [None, {"ok": True, "outcome": "ok", "status_code": 200}])
async def test_an_answer_without_a_failed_verification_says_nothing(app, zalo_api, caplog, verification):
    zalo_api.verification = verification
    async with zalo_webhook(app, zalo_api) as port:
        health = await get_text(f"http://127.0.0.1:{port}/healthz")
    assert health == "ok" and "could not reach" not in caplog.text


# --- 7. the bot's own messages -------------------------------------------------------------------

@pytest.mark.parametrize("sender", [{"id": BOT_ID, "display_name": "Bình Yên", "is_bot": False},
                                    {"id": "0a0b0c0d0e0f", "display_name": "Bot khác", "is_bot": True}])
async def test_messages_of_the_bot_itself_or_of_a_bot_are_ignored(zalo, zalo_api, session, sender):
    event = text_event("/start", user=LAN)
    event["message"]["from"] = sender
    await zalo.handle(event)
    assert zalo_api.texts == [] and await count(session, ProcessedUpdate) == 0


# --- 8. content Zalo withholds --------------------------------------------------------------------

async def test_withheld_content_is_answered_with_ways_that_need_no_typing(zalo, zalo_api, session):
    await say(zalo, zalo_api, "/tip")  # in the middle of a conversation too
    [answer] = await say(zalo, zalo_api, "", event_name="message.unsupported.received")
    assert "Zalo không chuyển nội dung" in answer and "113" in answer
    assert "/help" not in answer and "gõ" not in answer.lower()
    await zalo.handle({"ok": True, "result": {"event_name": "message.unsupported.received"}})
    assert len(zalo_api.texts_to(LAN)) == 2  # an event with no message has nobody to answer


# --- 3. groups: mentions --------------------------------------------------------------------------

def test_a_mention_is_read_off_a_group_message():
    options = [Option("Đang xác minh", "t:1"), Option("Đã xử lý", "t:2"), Option("Đóng", "t:3")]
    names = {"bot.BinhYen"}
    assert without_mention("@bot.BinhYen 2", names, options) == "2"
    assert without_mention("@BOT.BINHYEN /id", names, []) == "/id"
    # A name we were never told (the one Zalo shows): the rest is what the bot can read.
    assert without_mention("@Bình Yên 2", names, options) == "2"
    assert without_mention("@Bình Yên Đã xử lý", names, options) == "Đã xử lý"
    assert without_mention("@Bình Yên /reply T-2026-000001 Đã nhận,\ncảm ơn", names, []) == \
        "/reply T-2026-000001 Đã nhận,\ncảm ơn"
    assert without_mention("@BinhYen xin chào", names, options) == "xin chào"
    assert without_mention("2", names, options) == "2" and without_mention("@", names, options) == ""


async def test_in_a_zalo_group_only_replies_and_mentions_reach_the_bot(zalo, zalo_api):
    group = "nhom-can-bo-xa"
    assert zalo_api.group_event("/id", user=LAN, group=group) is None  # Zalo keeps it from the bot
    mention = zalo_api.group_event("/id", user=LAN, group=group, mentioning=True)
    assert mention["message"]["text"].startswith("@")
    await zalo.handle(mention)
    [answer] = zalo_api.texts_to(group)
    assert group in answer and LAN in answer  # the command under the mention was read


# --- the documented payloads, posted as Zalo posts them -------------------------------------------

@pytest.mark.parametrize(("name", "body"), fixture_updates(), ids=[name for name, _ in fixture_updates()])
async def test_each_documented_payload_is_answered_and_a_redelivery_changes_nothing(
        app, zalo_api, session, caplog, name, body):
    caplog.set_level(logging.DEBUG)
    async with zalo_webhook(app, zalo_api) as port:
        url = f"http://127.0.0.1:{port}/zalo/hook"
        assert await zalo_api.post_webhook(url, body, SECRET) == 200
        answered = len(zalo_api.texts)
        before = await snapshot(session)
        assert await zalo_api.post_webhook(url, body, SECRET) == 200
    assert changes(before, await snapshot(session)) == [] and len(zalo_api.texts) == answered
    for record in caplog.records:
        shown = record.getMessage() + (logging.Formatter().formatException(record.exc_info)
                                       if record.exc_info else "")
        for secret in ("Xin chào", "hello", "Ted", "Nguyen Van A"):
            assert secret not in shown, (name, shown)


# --- helpers -------------------------------------------------------------------------------------

async def fetch_update(session, update_id: str) -> ProcessedUpdate:
    await session.rollback()
    return await session.scalar(select(ProcessedUpdate).where(ProcessedUpdate.update_id == update_id))


async def replies_of(session, update_id: str) -> bytes | None:
    """The kept replies of an update (their own table: bot/exactly_once/kept_replies.py)."""
    await session.rollback()
    return await session.scalar(select(KeptReply.replies).where(KeptReply.update_id == update_id))


def attempts_to(zalo_api: FakeZalo, chat: str) -> int:
    return len([attempt for attempt in zalo_api.attempts if attempt.chat_id == chat])


async def wait_for(probe, expected, seconds: float = 10) -> None:
    """Wait until `probe()` (a value or an awaitable) equals `expected`, at most `seconds`."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        value = probe()
        if asyncio.iscoroutine(value):
            value = await value
        if value == expected:
            return
        assert asyncio.get_running_loop().time() < deadline, f"still {value!r}, not {expected!r}"
        await asyncio.sleep(0.02)


async def get_text(url: str) -> str:
    async with ClientSession() as client, client.get(url) as answer:
        assert answer.status == 200
        return await answer.text()
