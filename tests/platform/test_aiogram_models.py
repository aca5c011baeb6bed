"""aiogram's Bot API models are built on first use (base/aiogram_models.py), and every one of
them still builds: each check runs in a fresh interpreter, where nothing was imported yet."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(code: str) -> dict:
    """Run `code` in a new Python process from the project folder; it prints one JSON line."""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_the_bot_leaves_aiogram_models_unbuilt():
    for first in ("bot", "handlers", "bot.cli.main"):
        seen = run(f"import json, {first}\n"
                   "from aiogram.types import Message, Sticker, Update\n"
                   "print(json.dumps([m.__pydantic_complete__ for m in (Message, Sticker, Update)]))")
        assert seen == [False, False, False], first


def test_aiogram_imported_before_the_bot_is_left_as_aiogram_builds_it():
    seen = run("import json, aiogram, bot\n"
               "from aiogram.types import Sticker\n"
               "print(json.dumps(Sticker.__pydantic_complete__))")
    assert seen is True


def test_every_bot_api_type_and_method_builds_on_first_use():
    seen = run("""
import json
import bot
import aiogram.methods, aiogram.types
from pydantic import BaseModel

def build(model):
    # Reading the validator builds it (pydantic looks a few frames up: not at module level).
    model.__pydantic_validator__.validate_python
    model.__pydantic_serializer__.to_python
    return model.__pydantic_complete__

failed, built = [], 0
for module in (aiogram.types, aiogram.methods):
    for name in module.__all__:
        model = getattr(module, name)
        if isinstance(model, type) and issubclass(model, BaseModel) \\
                and name not in ("TelegramObject", "MutableTelegramObject", "TelegramMethod"):
            try:
                built += build(model)
            except Exception as error:
                failed.append(f"{name}: {error}")
print(json.dumps({"failed": failed, "built": built}))
""")
    assert seen["failed"] == []
    assert seen["built"] > 500


def test_an_update_and_an_answer_parse_and_serialise_with_lazy_models():
    seen = run("""
import json
import bot
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.methods import SendMessage
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Update

def main():
    update = Update.model_validate({"update_id": 7, "message": {
        "message_id": 3, "date": 1790000000, "caption": "Ảnh hiện trường",
        "chat": {"id": 42, "type": "private"}, "from": {"id": 42, "is_bot": False, "first_name": "Lan"},
        "photo": [{"file_id": "p1", "file_unique_id": "u1", "width": 90, "height": 60}]}})
    bot = Bot("123456:test-token")
    method = SendMessage(chat_id=42, text="Đã nhận", reply_markup=InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Gửi", callback_data="tip:send")]]))
    sent = AiohttpSession().build_form_data(bot, method)
    answer = AiohttpSession().check_response(bot, method, 200, json.dumps({"ok": True, "result": {
        "message_id": 4, "date": 1790000001, "text": "Đã nhận", "chat": {"id": 42, "type": "private"}}}))
    return {"photo": update.message.photo[0].file_id, "from": update.message.from_user.first_name,
            "markup": "tip:send" in str(sent._fields), "answer": answer.result.text}

print(json.dumps(main()))
""")
    assert seen == {"photo": "p1", "from": "Lan", "markup": True, "answer": "Đã nhận"}
