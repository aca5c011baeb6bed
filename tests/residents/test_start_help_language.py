"""/start, /help, /language and the friendly fallback, through the real dispatcher."""

import pytest
from sqlalchemy import select

from db.models import Member
from db.services.areas import add_area
from db.services.members import grant_role


async def test_start_greets_in_vietnamese_and_names_113(chat):
    [reply] = await chat.send("/start")
    assert "Bình Yên" in reply
    assert "113" in reply
    assert "Toàn dân bảo vệ an ninh Tổ quốc" in reply


async def test_help_lists_only_what_a_resident_may_do(chat):
    [reply] = await chat.send("/help")
    assert "/language" in reply
    assert "/area" not in reply
    assert "Người dân" in reply


async def test_help_shows_staff_commands_and_the_role_with_its_area(chat, session):
    province = await add_area(session, "P1", "Tỉnh Thử", "province", None)
    commune = await add_area(session, "C1", "Xã Tân Hòa", "commune", province)
    await grant_role(session, "telegram", "2002", "officer", commune.code)
    await session.commit()
    [reply] = await chat.send("/help", user_id=2002)
    assert "/area" in reply
    assert "Công an xã, phường — Xã Tân Hòa" in reply


async def test_language_choice_of_a_non_member_is_kept_without_a_database_row(chat, session):
    await chat.send("/language")
    assert chat.buttons() == ["lang:vi", "lang:en"]
    [reply] = await chat.press("lang:en")
    assert reply == "Switched to English."
    [reply] = await chat.send("/help")
    assert "What you can do" in reply
    assert (await session.scalars(select(Member))).all() == []


async def test_language_choice_of_a_member_is_stored_on_the_member(chat, session):
    await grant_role(session, "telegram", "1001", "admin", None)
    await session.commit()
    await chat.send("/language")
    await chat.send("2")  # the numbered option works on Telegram's driver too
    member = await session.scalar(select(Member).where(Member.user_id == "1001"))
    await session.refresh(member)
    assert member.locale == "en"
    await chat.send("/language")
    [reply] = await chat.press("lang:vi")
    assert reply == "Đã chuyển sang tiếng Việt."


async def test_language_with_a_forged_code_changes_nothing(chat, session):
    await chat.send("/language")
    await chat.press("lang:xx", forged=True)  # callback data the keyboard never offered
    [reply] = await chat.send("/help")
    assert "Những việc bạn làm được" in reply


async def test_unknown_text_and_unknown_command_get_a_friendly_answer(chat):
    [reply] = await chat.send("xin chào")
    assert "chưa hiểu" in reply and "/help" in reply
    [reply] = await chat.send("/khongco")
    assert "chưa có lệnh này" in reply


async def test_the_bot_stays_quiet_on_ordinary_group_messages(chat):
    await chat.feed(chat.message("chuyện thường ngày", user_id=1001, chat_id=-100500, chat_type="group"))
    assert chat.session.sent == []


async def test_a_stale_button_is_answered(chat):
    await chat.press("gone:1", forged=True)
    answers = [r for r in chat.session.requests if type(r).__name__ == "AnswerCallbackQuery"]
    assert answers and "không còn dùng được" in answers[-1].text


async def test_id_gives_the_user_id_and_in_a_group_the_group_id(chat):
    [reply] = await chat.send("/id", user_id=4321)
    assert reply == "Mã của bạn trên kênh telegram: 4321"
    await chat.feed(chat.message("/id", user_id=4321, chat_id=-100777, chat_type="group"))
    assert chat.session.sent[-1].text == "Mã của bạn trên kênh telegram: 4321\nMã của nhóm này: -100777"


# --- a command is a command whatever the case it is typed in --------------------------------

def test_only_the_command_word_is_lowered():
    from bot.middlewares.text import command_lowered

    assert command_lowered("/Join AbC123") == "/join AbC123"
    assert command_lowered("/START@BinhYen_Bot j_AbC") == "/start@binhyen_bot j_AbC"
    assert command_lowered("/help") == "/help"
    for untouched in ("Xin chào /Help", "/Đăng ký", "/x.Y", "Ấp Bình Long"):
        assert command_lowered(untouched) == untouched


@pytest.mark.parametrize("typed", ["/HELP", "/Help", "/hElP@BinhYen_Test_Bot"])
async def test_a_capitalised_command_works_on_telegram(chat, typed):
    [reply] = await chat.send(typed)
    assert "Những việc bạn làm được" in reply


async def test_a_capitalised_join_with_its_code_works_on_telegram(chat, session):
    from testkit.arrange import tree

    places = await tree(session)
    [notice] = await chat.send(f"/Join {places.h11.join_code}")
    assert "Bình Yên sẽ lưu" in notice
    [notice] = await chat.send(f"/Start j_{places.h11.join_code}", user_id=1002)
    assert "Bình Yên sẽ lưu" in notice


async def test_a_capitalised_command_works_on_the_console(app):
    from bot.channels.console import ConsoleChat

    lines: list[str] = []
    chat = ConsoleChat(app, 9, lines.append)
    await chat.say("/Start")
    assert "113" in lines[-1]
    await chat.say("/HELP")
    assert "Những việc bạn làm được" in lines[-1]
