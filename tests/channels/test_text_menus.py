"""Numbered options on the text channels (console and Zalo): a stray message at a button step keeps
them (shown again under the answer), a label typed without its emoji or diacritics presses its
button, and a label several options share asks for the number."""

import pytest

from bot.channels.console import ConsoleChat
from bot.channels.text_session import Option, chosen_option
from db.models import Member
from db.services.areas import add_area
from db.services.joining import give_consent, join_household
from db.services.members import grant_role
from testkit.arrange import tree
from testkit.fakes import count
from testkit.zalo_chat import LAN, MENU_HINT, options, settings, zalo  # noqa: F401  (fixtures)

HEAD = "a1b2c3d4e5f6a7b8c9d0"  # the head of hamlet H11, on Zalo
OFFICER = "0b7d1e9a4c2f68e5d310"  # an officer of commune C1, on Zalo
NEIGHBOUR = "c3c3c3c3c3c3c3c3c3c3"  # a resident of H11, on Zalo
AMBIGUOUS = "👉 Nhiều lựa chọn khớp với chữ bạn gõ. Gõ số để chọn:"


@pytest.fixture
async def places(session):
    places = await tree(session)
    await grant_role(session, "zalo", HEAD, "hamlet_head", "H11")
    await grant_role(session, "zalo", OFFICER, "officer", "C1")
    neighbour = await give_consent(session, "zalo", NEIGHBOUR, None)
    await join_household(session, neighbour, places.households["H11"][0].id)
    await session.commit()
    return places


class Console:
    """One console user (the real ConsoleChat), collecting what the bot prints per line typed."""

    def __init__(self, app, user_id: int = 9) -> None:
        self.printed: list[str] = []
        self.chat = ConsoleChat(app, user_id, write=self.printed.append)

    async def say(self, text: str) -> str:
        before = len(self.printed)
        await self.chat.say(text)
        return "\n".join(self.printed[before:])


async def test_a_stray_text_at_the_consent_step_keeps_the_options_on_the_console(app, session, places):
    console = Console(app)
    notice = await console.say(f"/join {places.h11.join_code}")
    assert f"{MENU_HINT}\n1. ✅ Đồng ý\n2. Không đồng ý" in notice
    stray = await console.say("vâng ạ")
    assert "chưa hiểu ý bạn" in stray
    assert f"{MENU_HINT}\n1. ✅ Đồng ý\n2. Không đồng ý" in stray  # shown again under the answer
    again = await console.say("còn gì nữa không")  # still there after a second stray text
    assert "1. ✅ Đồng ý" in again
    thanks = await console.say("1")
    assert "Cảm ơn bạn đã đồng ý" in thanks
    assert await count(session, Member, Member.channel == "console") == 1


async def test_a_label_without_its_emoji_or_diacritics_presses_it_on_the_console(app, session, places):
    console = Console(app)
    await console.say(f"/join {places.h11.join_code}")
    thanks = await console.say("dong y")
    assert "Cảm ơn bạn đã đồng ý" in thanks
    assert await count(session, Member, Member.channel == "console") == 1


async def test_a_command_or_a_pressed_button_drops_the_options(app, session, places):
    console = Console(app)
    await console.say("/language")
    help_text = await console.say("/help")  # the conversation moved on
    assert MENU_HINT not in help_text
    assert "chưa hiểu ý bạn" in await console.say("2")
    await console.say("/language")
    assert "Switched to English." in await console.say("2")
    assert "did not understand" in await console.say("2")  # used once, then gone


async def test_consent_after_stray_texts_and_typed_labels_on_zalo(zalo, session, places):
    [notice] = await zalo.send(f"/join {places.h11.join_code}")
    assert options(notice) == {"✅ Đồng ý": 1, "Không đồng ý": 2}
    [stray] = await zalo.send("ok")
    assert "chưa hiểu ý bạn" in stray and options(stray) == {"✅ Đồng ý": 1, "Không đồng ý": 2}
    thanks, _ask = await zalo.send("Đồng ý")  # the label without its emoji
    assert "Cảm ơn bạn đã đồng ý" in thanks
    assert await count(session, Member, Member.channel == "zalo", Member.user_id == LAN) == 1


async def test_the_broadcast_audience_survives_a_stray_text_on_zalo(zalo, places):
    await zalo.send("/broadcast", user=HEAD)
    [audiences] = await zalo.send("Tối nay họp tổ lúc 19:00.", user=HEAD)
    offered = options(audiences)
    assert offered["Tất cả bà con"] == 1
    [stray] = await zalo.send("tat ca nha", user=HEAD)
    assert "chưa hiểu ý bạn" in stray and options(stray) == offered
    [preview] = await zalo.send("1", user=HEAD)
    assert "Gửi tới" in preview and "(tất cả bà con)" in preview
    [preview] = await zalo.send("/broadcast", user=HEAD)
    await zalo.send("Lần hai", user=HEAD)
    [preview] = await zalo.send("tat ca ba con", user=HEAD)  # typed without diacritics
    assert "(tất cả bà con)" in preview


async def test_the_campaign_form_survives_a_stray_text_on_zalo(zalo, places):
    [calendar] = await zalo.send("/campaign", user=OFFICER)
    assert "Thêm mốc" in options(calendar)
    [stray] = await zalo.send("thêm đi", user=OFFICER)
    assert "Thêm mốc" in options(stray)
    [kinds] = await zalo.choose("Thêm mốc", user=OFFICER)
    assert options(kinds)
    [stray] = await zalo.send("???", user=OFFICER)
    assert options(stray) == options(kinds)
    [next_step] = await zalo.send("1", user=OFFICER)
    assert "chưa hiểu ý bạn" not in next_step


def test_two_labels_that_match_alike_ask_for_the_number():
    offered = [Option("Có", "a"), Option("Co", "b"), Option("✅ Đồng ý", "c"), Option("➡️", "d")]
    assert chosen_option(offered, "có").callback_data == "a"  # an exact label wins
    assert chosen_option(offered, "CO").callback_data == "b"
    assert chosen_option(offered, "cỏ") is None  # "co" loosely, as two labels are: ambiguous
    assert chosen_option(offered, "dong y").callback_data == "c"
    assert chosen_option(offered, "ĐỒNG Ý").callback_data == "c"
    assert chosen_option(offered, "➡️").callback_data == "d"  # a label of only a symbol, typed
    assert chosen_option(offered, "✅") is None and chosen_option(offered, "") is None


async def test_an_ambiguous_label_asks_for_the_number_on_zalo(zalo, session, places):
    await add_area(session, "H13", "Ấp Tân Phụ", "hamlet", places.c1)
    await session.commit()
    [areas] = await zalo.send("/broadcast", user=OFFICER)
    offered = options(areas)
    assert {"Ấp Tân Phú", "Ấp Tân Phụ"} <= offered.keys()
    [asked] = await zalo.send("ap tan phu", user=OFFICER)  # both hamlets, without diacritics
    assert AMBIGUOUS in asked and options(asked.replace(AMBIGUOUS, MENU_HINT)) == offered
    [ask_text] = await zalo.send(str(offered["Ấp Tân Phụ"]), user=OFFICER)
    assert "Gõ nội dung thông báo gửi tới Ấp Tân Phụ" in ask_text
