"""Telegram end to end over loopback: long polling against a fake Bot API server, and the webhook."""

import asyncio
import contextlib

import pytest
from aiohttp import ClientSession

from base.settings import load_settings
from bot.app import telegram_bot
from bot.channels.telegram import run_polling, webhook_application
from db.models import ProcessedUpdate
from testkit.fake_telegram import FakeTelegram
from testkit.fakes import count

TOKEN = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ012345678"
SECRET = "webhook-secret_42"


def update(update_id: int, text: str, user_id: int = 501) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_790_000_000,
            "chat": {"id": user_id, "type": "private"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Ba"},
            "text": text,
        },
    }


@pytest.fixture
async def telegram():
    server = await FakeTelegram().start()
    yield server
    await server.stop()


async def test_long_polling_answers_through_the_fake_bot_api(app, telegram, session):
    settings = load_settings(database_url=app.settings.database_url, telegram_token=TOKEN,
                             telegram_api_base=telegram.base)
    app.settings = settings
    bot = telegram_bot(settings)
    telegram.push(update(10, "/start"))
    telegram.push(update(11, "/help"))
    polling = asyncio.create_task(run_polling(app, bot))
    try:
        first = await asyncio.wait_for(telegram.sent.get(), 10)
        second = await asyncio.wait_for(telegram.sent.get(), 10)
    finally:
        await app.dispatcher.stop_polling()
        with contextlib.suppress(asyncio.CancelledError, RuntimeError):
            await asyncio.wait_for(polling, 10)
    assert "deleteWebhook" in telegram.methods() and "setMyCommands" in telegram.methods()
    texts = sorted([first["text"], second["text"]])
    assert any("Bình Yên" in text and "113" in text for text in texts)
    assert any("Những việc bạn làm được" in text for text in texts)
    assert first["chat_id"] == 501
    assert await count(session, ProcessedUpdate) == 2


async def test_the_webhook_checks_the_secret_and_handles_a_redelivery_once(app, telegram, session):
    settings = load_settings(
        database_url=app.settings.database_url, telegram_token=TOKEN, telegram_api_base=telegram.base,
        webhook_url="https://bot.example.vn/telegram/hook", webhook_secret=SECRET,
        webhook_listen="127.0.0.1:8443",
    )
    app.settings = settings
    bot = telegram_bot(settings)
    from aiohttp import web

    runner = web.AppRunner(webhook_application(app, bot))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}/telegram/hook"
    try:
        assert "setWebhook" in telegram.methods()
        [(_, registered)] = [call for call in telegram.calls if call[0] == "setWebhook"]
        assert registered["url"] == "https://bot.example.vn/telegram/hook"
        assert registered["secret_token"] == SECRET
        async with ClientSession() as client:
            wrong = await client.post(url, json=update(70, "/start"),
                                      headers={"X-Telegram-Bot-Api-Secret-Token": "guess"})
            assert wrong.status == 401
            missing = await client.post(url, json=update(70, "/start"))
            assert missing.status == 401
            assert telegram.sent.empty()
            for _ in range(2):  # Telegram redelivers when it did not see our answer
                response = await client.post(url, json=update(70, "/start"),
                                             headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
                assert response.status == 200
            health = await client.get(f"http://127.0.0.1:{port}/healthz")
            assert health.status == 200
    finally:
        await runner.cleanup()
    assert telegram.sent.qsize() == 1
    reply = telegram.sent.get_nowait()
    assert reply["chat_id"] == 501 and "113" in reply["text"]
    assert await count(session, ProcessedUpdate) == 1
