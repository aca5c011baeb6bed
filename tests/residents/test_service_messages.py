"""Service messages in a private chat (a message pinned, the auto-delete timer set, a background
chosen, users or a chat shared, web app data; Telegram's payloads from aiogram's test suite) are
ignored: no "did not understand", in a conversation or out of one. What a person sends without
text (a sticker) still gets the polite answer."""

import json
from pathlib import Path

import pytest
from aiogram.types import Update

FIXTURES = Path(__file__).parent.parent / "fixtures" / "telegram_updates" / "aiogram_tests.json"
SERVICE = ("PINNED_MESSAGE", "AUTO_DELETE_TIMER_CHANGED", "WEB_APP_DATA", "USERS_SHARED",
           "CHAT_SHARED", "CHAT_BACKGROUND_SET")
USER = 5501


def service_messages() -> list[tuple[str, dict]]:
    found = []
    for item in json.loads(FIXTURES.read_text())["updates"]:
        name = next((kind for kind in SERVICE if kind in item["name"]), None)
        if name is not None:
            message = dict(item["update"]["message"], chat={"id": USER, "type": "private"},
                           **{"from": {"id": USER, "is_bot": False, "first_name": "Lan"}})
            found.append((name, message))
    assert len(found) == len(SERVICE)
    return found


@pytest.mark.parametrize(("name", "message"), service_messages(), ids=[n for n, _ in service_messages()])
async def test_a_service_message_in_a_private_chat_gets_no_answer(chat, name, message):
    for number, before in enumerate((None, "/join"), start=1):  # out of a conversation, then in one
        if before:
            await chat.send(before, user_id=USER)
        sent = len(chat.session.sent)
        await chat.feed(Update.model_validate(
            {"update_id": 610_000 + number, "message": dict(message, message_id=610_000 + number)}))
        assert chat.session.sent[sent:] == [], name


async def test_a_sticker_still_gets_the_polite_answer(chat):
    sticker = next(item["update"] for item in json.loads(FIXTURES.read_text())["updates"]
                   if "STICKER" in item["name"])
    message = dict(sticker["message"], chat={"id": USER, "type": "private"},
                   **{"from": {"id": USER, "is_bot": False, "first_name": "Lan"}})
    await chat.feed(Update.model_validate({"update_id": 620_001, "message": message}))
    [answer] = [sent.text for sent in chat.session.sent]
    assert "chưa hiểu ý bạn" in answer
