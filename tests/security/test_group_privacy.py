"""Personal flows stay private: every command of the table, typed in a group or a supergroup,
either works there (/id, the officers' /reply) or answers only "write to me privately" with a
link to the private chat and changes nothing; posted in a channel, it does nothing at all. The
command menus Telegram shows are set per scope to match."""

import pytest
from aiogram.types import Chat, Message, Update

from base.commands import COMMANDS
from base.settings import load_settings
from bot.channels.telegram import publish_commands
from db.services.joining import give_consent, join_household
from db.services.members import grant_role
from testkit.arrange import tree
from testkit.hostile import changes, snapshot

OFFICER = 3001  # an officer of commune C1, and a member of a household of hamlet H11
GROUP = -100_300_1
BOT_USERNAME = "binhyen_test_bot"
PRIVATE_ANSWER = "chỉ làm trong tin nhắn riêng"
# Arguments that would make each command do its work in a private chat.
ARGUMENTS = {"join": "{code}", "tipstatus": "1234 5678 9012", "reply": "T-2026-000001 Cảm ơn bạn",
             "campaign": "C1"}


@pytest.fixture
def settings(database_url):
    return load_settings(database_url=database_url, telegram_token=None, webhook_url=None, redis_url=None,
                         default_locale="vi", timezone="Asia/Ho_Chi_Minh",
                         telegram_bot_username=BOT_USERNAME)


@pytest.fixture
async def places(session):
    places = await tree(session)
    member = await give_consent(session, "telegram", str(OFFICER), None)
    await join_household(session, member, places.households["H11"][0].id)
    await grant_role(session, "telegram", str(OFFICER), "officer", "C1")
    code = places.h11.join_code
    await session.commit()
    return code


def typed(name: str, join_code: str) -> str:
    arguments = ARGUMENTS.get(name, "").format(code=join_code)
    return f"/{name} {arguments}".strip()


@pytest.mark.parametrize("chat_type", ["group", "supergroup"])
@pytest.mark.parametrize("name", list(COMMANDS))
async def test_a_command_in_a_group_works_there_or_only_says_write_privately(
        chat, session, places, name, chat_type):
    before = await snapshot(session)
    await chat.feed(chat.message(typed(name, places), user_id=OFFICER, chat_id=GROUP, chat_type=chat_type))
    answers = [sent.text for sent in chat.session.sent]
    if COMMANDS[name].in_groups:
        assert answers and not any(PRIVATE_ANSWER in text for text in answers)
        return
    assert answers == [
        "Việc này liên quan đến thông tin riêng của bạn nên Bình Yên chỉ làm trong tin nhắn riêng. "
        f"Bạn hãy nhắn riêng cho Bình Yên.\nhttps://t.me/{BOT_USERNAME}"]
    assert {sent.chat_id for sent in chat.session.sent} == {GROUP}
    assert changes(before, await snapshot(session)) == []
    assert chat.session.menus.get(GROUP) is None  # no menu of anyone's was posted there


@pytest.mark.parametrize("name", list(COMMANDS))
async def test_a_command_posted_in_a_channel_does_nothing(chat, session, places, name):
    before = await snapshot(session)
    post = Message(message_id=7, date=0, chat=Chat(id=-100_555, type="channel", title="Tin ấp"),
                   sender_chat=Chat(id=-100_555, type="channel", title="Tin ấp"), text=typed(name, places))
    await chat.feed(Update(update_id=900_001, channel_post=post))
    assert chat.session.sent == [] and changes(before, await snapshot(session)) == []


async def test_in_a_private_chat_the_same_commands_work(chat, places):
    [households] = await chat.send(typed("join", places), user_id=4001)
    assert PRIVATE_ANSWER not in households


async def test_without_a_username_the_answer_has_no_link(app, chat, places):
    app.dispatcher["settings"] = app.settings.model_copy(update={"telegram_bot_username": None})
    await chat.feed(chat.message("/pledge", user_id=OFFICER, chat_id=GROUP, chat_type="group"))
    [answer] = [sent.text for sent in chat.session.sent]
    assert PRIVATE_ANSWER in answer and "t.me" not in answer


async def test_the_command_menus_are_set_per_scope(app, chat):
    await publish_commands(app, chat.bot)
    menus = {}
    for method in chat.session.requests:
        if type(method).__name__ == "SetMyCommands":
            menus[(method.scope.type, method.language_code)] = [command.command for command in method.commands]
    assert menus[("all_group_chats", None)] == ["id"]
    assert menus[("all_chat_administrators", None)] == ["id", "reply"]
    private = menus[("all_private_chats", None)]
    assert {"join", "pledge", "forget", "tip", "tipstatus", "id"} <= set(private)
    assert "reply" not in private and "stats" not in private  # staff commands: /help lists them
    assert menus[("all_private_chats", "en")] == private
