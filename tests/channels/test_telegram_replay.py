"""Real update payloads (tests/fixtures/telegram_updates: aiogram's and python-telegram-bot's
test suites, Telegram's own examples) posted to the Telegram webhook on SQLite and PostgreSQL:
each is answered 200 (400 for a body that is not an update), nothing of what a user wrote
reaches a log record (tracebacks included), and a redelivery changes nothing."""

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession

from base.settings import load_settings
from bot.app import telegram_bot
from bot.channels.telegram import webhook_application
from testkit.fake_telegram import FakeTelegram
from testkit.fake_zalo import listen_locally
from testkit.hostile import changes, snapshot
from tests.channels.test_telegram_transport import SECRET, TOKEN

FIXTURES = Path(__file__).parent.parent / "fixtures" / "telegram_updates"
UPDATE_FILES = ["aiogram_tests.json", "ptb_tests.json", "telegram_docs.json"]
# Values that describe the update's shape, not what someone wrote or is called.
SHAPE_KEYS = {"type", "status", "mime_type", "currency", "language_code", "emoji", "chat_instance",
              "file_id", "file_unique_id", "thumb", "source", "action", "result_id"}


def written_by_users(value: Any, key: str = "") -> set[str]:
    """The strings of an update a user wrote or is known by (texts, names, captions, data…)."""
    if isinstance(value, dict):
        return set().union(*[written_by_users(item, name) for name, item in value.items()])
    if isinstance(value, list):
        return set().union(*[written_by_users(item, key) for item in value])
    if isinstance(value, str) and key not in SHAPE_KEYS and len(value.strip()) >= 4:
        return {value}
    return set()


def logged(records: list[logging.LogRecord]) -> str:
    """Every log record as it would be written, tracebacks included."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(formatter.format(record) for record in records)


@pytest.fixture
async def webhook(app, telegram_api):
    """The bot's Telegram webhook on 127.0.0.1, answering through the fake Bot API; its URL."""
    app.settings = load_settings(
        database_url=app.settings.database_url, telegram_token=TOKEN, telegram_api_base=telegram_api.base,
        webhook_url="https://bot.example.vn/telegram/hook", webhook_secret=SECRET)
    bot = telegram_bot(app.settings)
    runner, port = await listen_locally(webhook_application(app, bot, register_webhook=False))
    yield f"http://127.0.0.1:{port}/telegram/hook"
    await runner.cleanup()
    await bot.session.close()


@pytest.fixture
async def telegram_api():
    server = await FakeTelegram().start()
    yield server
    await server.stop()


async def post(url: str, body: str) -> tuple[int, str]:
    async with ClientSession() as client, client.post(
            url, data=body.encode(), headers={"X-Telegram-Bot-Api-Secret-Token": SECRET,
                                              "Content-Type": "application/json"}) as answer:
        return answer.status, await answer.text()


@pytest.mark.parametrize("file", UPDATE_FILES)
async def test_every_real_update_is_answered_and_a_redelivery_changes_nothing(
        webhook, telegram_api, session, caplog, file):
    caplog.set_level(logging.DEBUG)
    updates = json.loads((FIXTURES / file).read_text())["updates"]
    secrets: set[str] = set()
    for number, item in enumerate(updates, start=1):
        body = dict(item["update"], update_id=700_000 + number)  # each a new update
        secrets |= written_by_users(body)
        text = json.dumps(body, ensure_ascii=False)
        status, _ = await post(webhook, text)
        assert status == 200, (item["name"], status)
        before, sent = await snapshot(session), len(telegram_api.calls)
        status, _ = await post(webhook, text)  # Telegram delivers it again
        assert status == 200, (item["name"], status)
        assert changes(before, await snapshot(session)) == [], item["name"]
        assert len(telegram_api.calls) == sent, item["name"]
    shown = logged(caplog.records)
    leaked = sorted(secret for secret in secrets if secret in shown)
    assert not leaked, leaked


async def test_an_update_aiogram_cannot_read_is_answered_200_and_logged_by_id_and_kind(
        webhook, telegram_api, session, caplog):
    caplog.set_level(logging.DEBUG)
    invalid = [item for file in UPDATE_FILES for item in json.loads((FIXTURES / file).read_text())["updates"]
               if item["expect"] == "invalid"]
    assert len(invalid) >= 20
    for number, item in enumerate(invalid, start=1):
        body = dict(item["update"], update_id=800_000 + number)
        status, _ = await post(webhook, json.dumps(body))
        assert status == 200, item["name"]
        kind = next(key for key in body if key != "update_id")
        assert any(record.getMessage() == f"update {800_000 + number} ({kind}) is not one this bot "
                   "can read; skipped" for record in caplog.records), item["name"]
    assert not [record for record in caplog.records if record.exc_info]
    assert telegram_api.calls == []


async def test_a_body_that_is_no_update_is_answered_400_without_a_traceback(webhook, session, caplog):
    caplog.set_level(logging.DEBUG)
    before = await snapshot(session)
    for item in json.loads((FIXTURES / "malformed.json").read_text())["bodies"]:
        status, _ = await post(webhook, item["body"])
        assert status == 400, item["name"]
    for body in ('{"update_id": true, "message": {}}', '{"update_id": "1"}', '{"update_id": -1}',
                 '{"update_id": 1e400}', '{"update_id": 123456789012345678901234567890}'):
        assert (await post(webhook, body))[0] == 400, body
    assert changes(before, await snapshot(session)) == []
    assert not [record for record in caplog.records if record.exc_info or record.levelno >= logging.ERROR]
