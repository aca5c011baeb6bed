"""Regression tests for what the hostile-input suite (tests/security/test_hostile_input.py) found."""

import logging

import pytest
from aiogram.types import Update
from nacl.public import PrivateKey

from bot.cli.main import main
from bot.middlewares.text import carriable
from db.models import Milestone
from db.services.members import grant_role
from db.services.tip_sealing import TipKeys
from db.services.tips import TipDraft, submit_tip
from testkit.arrange import tree
from testkit.delivery_fakes import FakeClock, local
from testkit.fakes import count
from testkit.hostile import html_problems

HEAD, OFFICER, RESIDENT = 201, 301, 101
# Numbers str.isdigit() takes but int() or the database refuse.
BAD_NUMBERS = ["²", "٣", str(2**31), str(2**63), "9" * 30]


@pytest.fixture
async def staff(app, session):
    """The tree of testkit/arrange.py with a hamlet head of H11 and an officer of C1."""
    app.dispatcher["clock"] = FakeClock(local(2026, 8, 10, 9, 0))
    world = await tree(session, year=2026)
    await grant_role(session, "telegram", str(HEAD), "hamlet_head", "H11")
    await grant_role(session, "telegram", str(OFFICER), "officer", "C1")
    await session.commit()
    return world


@pytest.fixture
def failures(caplog):
    """What the error handler logged: every update it had to apologise for."""
    caplog.set_level(logging.ERROR, logger="bot.errors")
    return lambda: [r for r in caplog.records if r.name == "bot.errors"]


async def test_forged_numbers_in_buttons_are_refused_politely(chat, staff, failures):
    for prefix in ("hl:h:", "hl:unpledged:{H11}:", "ap:h:", "ap:y:", "ap:n:", "bc:drop:", "bc:dropok:",
                   "area:", "hh:pick:", "hh:list:"):
        for number in BAD_NUMBERS:
            data = prefix.format(H11=staff.h11.id) + number
            replies = await chat.press(data, user_id=OFFICER, forged=True)
            assert not failures(), (data, replies)


async def test_a_household_size_typed_in_other_digits_is_asked_again(chat, staff, failures):
    await chat.send(f"/join {staff.h11.join_code}", user_id=RESIDENT)
    await chat.press("consent:yes", user_id=RESIDENT)
    await chat.press("hh:new", user_id=RESIDENT)
    await chat.send("Trần Văn Mới", user_id=RESIDENT)
    await chat.send("Số 1", user_id=RESIDENT)
    for number in BAD_NUMBERS:
        [reply] = await chat.send(number, user_id=RESIDENT)
        assert "từ 1 đến 99" in reply and not failures()


async def test_digits_of_other_scripts_typed_at_a_menu_are_text_not_a_crash(chat, staff, failures):
    for typed in ("²", "١", "１", "0", "99999999999999999999", "9" * 5000):
        await chat.send("/language", user_id=RESIDENT)
        assert chat.buttons(RESIDENT) == ["lang:vi", "lang:en"]
        [reply] = await chat.send(typed, user_id=RESIDENT)
        assert "chưa hiểu" in reply and not failures()
    await chat.send("/language", user_id=RESIDENT)
    [reply] = await chat.send("2", user_id=RESIDENT)  # a listed number still presses its button
    assert reply == "Switched to English."


async def test_typed_text_shown_back_is_quoted_and_short(chat, staff, failures):
    await chat.send("/campaign", user_id=OFFICER)
    await chat.press("cp:add", user_id=OFFICER)
    await chat.press("cp:kind:registration_deadline", user_id=OFFICER)
    start = len(chat.session.requests)
    for typed in ('<a href="javascript:alert(1)">x</a>', "</b>", "&amp;", "ạ" * 5000):
        await chat.send(typed, user_id=OFFICER)
    await chat.send("/area " + "y" * 100_000, user_id=OFFICER)
    await chat.send("/stats " + "<i>" * 3000, user_id=OFFICER)
    await chat.send("/households " + "z" * 5000, user_id=OFFICER)
    texts = [request.text for request in chat.session.requests[start:]]
    assert len(texts) == 7 and not failures()
    assert all(not html_problems(text) for text in texts), texts
    assert "“&lt;a href=\"javascript:alert(1)\"&gt;x&lt;/a&gt;”" in texts[0]
    assert "“&lt;/b&gt;”" in texts[1] and "“&amp;amp;”" in texts[2]
    assert all(len(text) < 400 for text in texts)


def test_the_command_line_shows_problems_unquoted(database_url, monkeypatch, capsys):
    monkeypatch.setenv("BINHYEN_DATABASE_URL", database_url)
    args = ["members", "grant", "--channel", "telegram", "--user", "777", "--role", "officer"]
    assert main([*args, "--area", "<P&9>"]) == 1
    assert "Không có địa bàn mã <P&9>." in capsys.readouterr().err


async def test_stats_with_a_hidden_small_tip_count_are_valid_html(chat, session, staff, failures):
    keys = TipKeys(PrivateKey.generate().public_key, b"a-secret-of-at-least-32-characters-0000")
    await submit_tip(session, keys, TipDraft("theft", staff.h11.id, "Mất xe đạp trước cổng."), [])
    await session.commit()
    numbers, _chart = await chat.send("/stats", user_id=HEAD)
    assert "Tin báo nhận được: &lt;5" in chat.session.requests[-2].text
    assert not html_problems(chat.session.requests[-2].text) and not failures()
    assert "Tin báo nhận được: <5" in numbers


async def test_nul_and_lone_surrogates_in_typed_text_are_answered_not_stored_broken(chat, staff, failures):
    replies = await chat.send("/area a\x00b", user_id=OFFICER)
    assert replies == ["Không có địa bàn mã a\ufffdb."]
    await chat.send(f"/join {staff.h11.join_code}", user_id=RESIDENT)
    await chat.press("consent:yes", user_id=RESIDENT)
    for typed in ("Nguy\x00ễn", "x\udfffy", "\ud800"):
        [reply] = await chat.send(typed, user_id=RESIDENT)
        assert "Không tìm thấy hộ nào" in reply
    [reply] = await chat.send("Nguyễn \ud83d\ude00", user_id=RESIDENT)  # a pair is a character
    assert "Không tìm thấy hộ nào khớp “Nguyễn 😀”" in reply
    await chat.press("hh:new", user_id=RESIDENT)
    await chat.send("Trần\x00 Văn \udc80Mới", user_id=RESIDENT)
    await chat.send("Số 1", user_id=RESIDENT)
    [summary] = await chat.send("3", user_id=RESIDENT)
    assert "Chủ hộ: Trần\ufffd Văn \ufffdMới" in summary
    assert not failures()


def test_carriable_text_keeps_good_text_as_it_is():
    assert carriable("Nguyễn Văn An 😀") == "Nguyễn Văn An 😀"
    assert carriable("a\x00\ud800b\udfff") == "a\ufffd\ufffdb\ufffd"


async def test_an_officer_moved_to_another_commune_mid_conversation_adds_no_milestone_there(
        chat, session, staff, failures):
    await grant_role(session, "telegram", str(OFFICER), "officer", "C2")
    await session.commit()
    await chat.send("/campaign", user_id=OFFICER)
    await chat.press("cp:add", user_id=OFFICER)
    await chat.press("cp:kind:six_month_review", user_id=OFFICER)
    await grant_role(session, "telegram", str(OFFICER), "officer", "C1")  # the operator moves them
    await session.commit()
    [reply] = await chat.send("01/10/2026", user_id=OFFICER)
    assert "C2 nằm ngoài phạm vi bạn phụ trách" in reply
    assert await count(session, Milestone) == 0 and not failures()


async def test_an_update_of_an_unknown_kind_is_skipped_without_logging_its_content(chat, staff, caplog):
    caplog.set_level(logging.INFO)
    update = Update.model_validate({"update_id": 424242, "future_kind": {"text": "Bí mật \ud800 Kq9"}})
    await chat.feed(update)
    assert not chat.session.requests
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert all("Kq9" not in r.getMessage() for r in caplog.records)


async def test_a_message_without_a_sender_is_skipped(chat, staff, failures):
    for text in ("/tip", "/join", "/households H11", "Nguyễn"):
        update = chat.message(text, user_id=RESIDENT)
        await chat.feed(update.model_copy(update={"message": update.message.model_copy(update={"from_user": None})}))
    assert not chat.session.requests and not failures()
